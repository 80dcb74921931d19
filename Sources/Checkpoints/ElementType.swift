import TensorCore

/// Element types found in checkpoint and array files, with their conversion to `Float`.
///
/// Every reader decodes stored bytes (little-endian unless stated) through `decode`, so each
/// format only has to name its type and hand over contiguous bytes.
public enum ElementType: String, Sendable, CaseIterable {
    case float32, float64, float16, bfloat16, int64, int32, int16, int8, uint8, bool

    /// Bytes per element.
    public var byteCount: Int {
        switch self {
        case .float64, .int64: 8
        case .float32, .int32: 4
        case .float16, .bfloat16, .int16: 2
        case .int8, .uint8, .bool: 1
        }
    }

    /// Converts `count` contiguous elements at `source` to `Float` (or `Double`, exactly for every type
    /// but 64-bit integers beyond 2⁵³), writing them to `destination`. `bigEndian` swaps bytes first
    /// (legacy formats and `.npy` files may be big-endian).
    public func decode<Value: BinaryFloatingPoint>(_ source: UnsafeRawPointer, count: Int, into destination: UnsafeMutablePointer<Value>,
                                                   bigEndian: Bool = false) {
        func load<T: FixedWidthInteger>(_: T.Type, _ i: Int) -> T {
            let raw = source.loadUnaligned(fromByteOffset: i * MemoryLayout<T>.size, as: T.self)
            return bigEndian ? T(bigEndian: raw) : T(littleEndian: raw)
        }
        switch self {
        case .float32:
            if Value.self == Float.self && !bigEndian {
                UnsafeMutableRawPointer(destination).copyMemory(from: source, byteCount: count * 4)
            } else {
                for i in 0..<count { destination[i] = Value(Float(bitPattern: load(UInt32.self, i))) }
            }
        case .float64: for i in 0..<count { destination[i] = Value(Double(bitPattern: load(UInt64.self, i))) }
        case .float16: for i in 0..<count { destination[i] = Value(Float(halfBits: load(UInt16.self, i))) }
        case .bfloat16: for i in 0..<count { destination[i] = Value(Float(bitPattern: UInt32(load(UInt16.self, i)) << 16)) }
        case .int64: for i in 0..<count { destination[i] = Value(Int64(bitPattern: load(UInt64.self, i))) }
        case .int32: for i in 0..<count { destination[i] = Value(Int32(bitPattern: load(UInt32.self, i))) }
        case .int16: for i in 0..<count { destination[i] = Value(Int16(bitPattern: load(UInt16.self, i))) }
        case .int8: for i in 0..<count { destination[i] = Value(source.load(fromByteOffset: i, as: Int8.self)) }
        case .uint8, .bool: for i in 0..<count { destination[i] = Value(source.load(fromByteOffset: i, as: UInt8.self)) }
        }
    }

    /// Decodes `shape`'s worth of contiguous elements at `source` into a new `Tensor`.
    public func tensor(from source: UnsafeRawPointer, shape: [Int], bigEndian: Bool = false) -> Tensor {
        Tensor(shape: shape) { decode(source, count: $0.count, into: $0.baseAddress!, bigEndian: bigEndian) }
    }
}

extension Float {
    /// IEEE 754 binary16 bits widened to `Float` (exact; subnormals, infinities and NaN included).
    init(halfBits bits: UInt16) {
        let sign = UInt32(bits & 0x8000) << 16
        let exponent = Int(bits >> 10) & 0x1F
        let mantissa = UInt32(bits & 0x03FF)
        switch exponent {
        case 0:
            let magnitude = Float(mantissa) * 0x1p-24
            self = sign != 0 ? -magnitude : magnitude
        case 0x1F:
            self = Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13))
        default:
            self = Float(bitPattern: sign | UInt32(exponent + 112) << 23 | (mantissa << 13))
        }
    }
}
