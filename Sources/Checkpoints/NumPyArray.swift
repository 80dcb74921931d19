import Foundation
import TensorCore

/// Reads and writes NumPy `.npy` files (format versions 1.0–3.0).
///
/// Reading accepts C-ordered arrays; `requireFloat32` refuses any other element type, as the
/// command line does for model inputs. Writing always produces little-endian float32, version 1.0,
/// through a temporary file renamed into place, so an interrupted write never leaves a partial file.
public enum NumPyArray {
    static let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59] // \x93NUMPY

    /// Reads an `.npy` file as a `Float` tensor.
    public static func read(contentsOf url: URL, requireFloat32: Bool = false) throws -> Tensor {
        try withElements(of: url, requireFloat32: requireFloat32) { type, source, shape, bigEndian in
            type.tensor(from: source, shape: shape, bigEndian: bigEndian)
        }
    }

    /// Reads an `.npy` file of any supported element type as `Double` values (float64 arrays exactly),
    /// with its shape; for metrics, whose ties must be those of the stored values.
    public static func readDoubles(contentsOf url: URL) throws -> (shape: [Int], values: [Double]) {
        try withElements(of: url, requireFloat32: false) { type, source, shape, bigEndian in
            let count = Tensor.elementCount(shape)
            return (shape, [Double](unsafeUninitializedCapacity: count) { buffer, initialised in
                if count > 0 { type.decode(source, count: count, into: buffer.baseAddress!, bigEndian: bigEndian) }
                initialised = count
            })
        }
    }

    /// Checks the file's preamble, header and length, then hands `body` the element type, the first
    /// element, the shape and the byte order.
    static func withElements<Result>(of url: URL, requireFloat32: Bool,
                                     _ body: (ElementType, UnsafeRawPointer, [Int], Bool) throws -> Result) throws -> Result {
        let file = url.path
        let data: Data
        do { data = try Data(contentsOf: url, options: .alwaysMapped) } catch {
            throw CheckpointError(file: file, "cannot be read (\(error.localizedDescription))")
        }
        return try data.withUnsafeBytes { bytes -> Result in
            guard bytes.count >= 10, Array(bytes.prefix(6)) == magic else {
                throw CheckpointError(file: file, "is not a NumPy .npy file (wrong magic; expected \\x93NUMPY)")
            }
            let major = bytes[6]
            let headerLength: Int
            let headerStart: Int
            switch major {
            case 1:
                headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
                headerStart = 10
            case 2, 3:
                guard bytes.count >= 12 else { throw CheckpointError(file: file, "is truncated inside the .npy preamble") }
                headerLength = (0..<4).reduce(0) { $0 | Int(bytes[8 + $1]) << (8 * $1) }
                headerStart = 12
            default:
                throw CheckpointError(file: file, "has unsupported .npy format version \(major)")
            }
            guard headerStart + headerLength <= bytes.count else {
                throw CheckpointError(file: file, "is truncated inside the .npy header")
            }
            let header = String(decoding: bytes[headerStart..<headerStart + headerLength], as: UTF8.self)
            let (type, bigEndian, fortran, shape) = try parseHeader(header, file: file)
            if fortran { throw CheckpointError(file: file, "holds a Fortran-ordered array; save it C-ordered (numpy.ascontiguousarray)") }
            if requireFloat32 && type != .float32 {
                throw CheckpointError(file: file, "holds \(type.rawValue) values; float32 is required (convert with array.astype(numpy.float32))")
            }
            let count = Tensor.elementCount(shape)
            let dataStart = headerStart + headerLength
            guard bytes.count - dataStart >= count * type.byteCount else {
                throw CheckpointError(file: file, "is truncated: shape \(describeShape(shape)) needs \(count * type.byteCount) bytes of data, the file has \(bytes.count - dataStart)")
            }
            return try body(type, bytes.baseAddress! + dataStart, shape, bigEndian)
        }
    }

    /// Parses the Python-literal header, e.g. `{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }`.
    static func parseHeader(_ header: String, file: String) throws -> (ElementType, Bool, Bool, [Int]) {
        func value(of key: String) -> Substring? {
            guard let range = header.range(of: "'\(key)':") else { return nil }
            return header[range.upperBound...].drop(while: { $0 == " " })
        }
        guard let descrRest = value(of: "descr"), let quote = descrRest.first, quote == "'" || quote == "\"",
              let end = descrRest.dropFirst().firstIndex(of: quote) else {
            throw CheckpointError(file: file, "has a .npy header without a 'descr' entry")
        }
        let descr = String(descrRest[descrRest.index(after: descrRest.startIndex)..<end])
        let order = descr.first.map(String.init) ?? ""
        let code = order == "<" || order == ">" || order == "|" || order == "=" ? String(descr.dropFirst()) : descr
        let types: [String: ElementType] = [
            "f4": .float32, "f8": .float64, "f2": .float16, "i8": .int64, "i4": .int32, "i2": .int16,
            "i1": .int8, "u1": .uint8, "b1": .bool,
        ]
        guard let type = types[code] else {
            throw CheckpointError(file: file, "holds elements of NumPy type '\(descr)', which RadProbe does not read")
        }
        let fortran = value(of: "fortran_order")?.hasPrefix("True") ?? false
        guard let shapeRest = value(of: "shape"), shapeRest.first == "(", let close = shapeRest.firstIndex(of: ")") else {
            throw CheckpointError(file: file, "has a .npy header without a 'shape' entry")
        }
        let inner = shapeRest[shapeRest.index(after: shapeRest.startIndex)..<close]
        var shape: [Int] = []
        for part in inner.split(separator: ",") {
            let trimmed = part.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { continue }
            guard let extent = Int(trimmed), extent >= 0 else {
                throw CheckpointError(file: file, "has an invalid shape entry '\(trimmed)' in its .npy header")
            }
            shape.append(extent)
        }
        return (type, order == ">", fortran, shape)
    }

    /// Writes `tensor` as a little-endian float32 `.npy` file (atomically: temporary file, then rename).
    public static func write(_ tensor: Tensor, to url: URL) throws {
        try AtomicFile.write(encode(tensor), to: url)
    }

    /// The bytes of `tensor` as a little-endian float32 `.npy` file (format version 1.0).
    public static func encode(_ tensor: Tensor) -> Data {
        let shapeText = tensor.shape.count == 1 ? "(\(tensor.shape[0]),)" : "(" + tensor.shape.map(String.init).joined(separator: ", ") + ")"
        var header = "{'descr': '<f4', 'fortran_order': False, 'shape': \(shapeText), }"
        let unpadded = 10 + header.utf8.count + 1
        header += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
        var data = Data(magic + [1, 0])
        let length = UInt16(header.utf8.count)
        data.append(contentsOf: [UInt8(length & 0xFF), UInt8(length >> 8)])
        data.append(contentsOf: Array(header.utf8))
        tensor.withUnsafeBufferPointer { data.append(UnsafeBufferPointer(start: UnsafeRawPointer($0.baseAddress!).assumingMemoryBound(to: UInt8.self), count: $0.count * 4)) }
        return data
    }
}
