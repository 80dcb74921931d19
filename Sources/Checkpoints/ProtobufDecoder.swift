import Foundation

/// Protocol Buffers wire types (the low three bits of a field tag).
enum ProtobufWireType: UInt8, Sendable {
    case varint = 0
    case fixed64 = 1
    case lengthDelimited = 2
    case startGroup = 3
    case endGroup = 4
    case fixed32 = 5

    var name: String {
        switch self {
        case .varint: "varint"
        case .fixed64: "fixed64"
        case .lengthDelimited: "length-delimited"
        case .startGroup: "start-group"
        case .endGroup: "end-group"
        case .fixed32: "fixed32"
        }
    }
}

/// One field tag read from a message: its number, wire type and the byte offset of the tag.
struct ProtobufField: Sendable {
    let number: Int
    let wireType: ProtobufWireType
    /// Offset of the tag from the start of the file (for error messages).
    let offset: Int
}

/// A minimal, dependency-free reader of the Protocol Buffers wire format over a byte buffer.
///
/// It reads one message at a time: `nextField()` returns each field tag in turn and the caller
/// reads the payload with the matching `read…` method or `skip`s it. Nested messages are read
/// with `subdecoder(_:context:)` over the byte range returned by `readLengthDelimited()`.
/// Every read is bounds-checked against the end of the current message, so truncated or corrupt
/// input throws `CheckpointError` (naming the file, the message being read and the byte offset)
/// instead of reading out of bounds.
///
/// The decoder holds a raw pointer: it is only valid inside the `withUnsafeBytes` closure that
/// provided the buffer. Offsets are absolute (from the start of that buffer).
struct ProtobufDecoder {
    /// Start of the whole buffer (offset 0).
    private let base: UnsafeRawPointer?
    /// End offset of the message being read.
    let end: Int
    /// Offset of the next byte to read.
    private(set) var position: Int
    /// File named in errors.
    let file: String
    /// Which message is being read, e.g. `GraphProto` or `TensorProto 'x'`, for errors.
    let context: String

    /// Largest nesting of groups that `skip` follows before giving up.
    private static let maxGroupDepth = 64

    /// A decoder over all of `bytes`.
    init(bytes: UnsafeRawBufferPointer, file: String, context: String) {
        base = bytes.baseAddress.map { UnsafeRawPointer($0) }
        end = bytes.count
        position = 0
        self.file = file
        self.context = context
    }

    private init(base: UnsafeRawPointer?, range: Range<Int>, file: String, context: String) {
        self.base = base
        end = range.upperBound
        position = range.lowerBound
        self.file = file
        self.context = context
    }

    /// True when the current message has no more bytes.
    var isAtEnd: Bool { position >= end }

    /// A decoder for the embedded message at `range` (as returned by `readLengthDelimited`).
    func subdecoder(_ range: Range<Int>, context: String) -> ProtobufDecoder {
        precondition(range.lowerBound >= 0 && range.upperBound <= end, "sub-range outside the message")
        return ProtobufDecoder(base: base, range: range, file: file, context: context)
    }

    /// An error naming the file, the message being read, what is wrong and where.
    func error(_ what: String, at offset: Int? = nil) -> CheckpointError {
        CheckpointError(file: file, "corrupt or not an ONNX model: \(what) in \(context) at byte \(offset ?? position)")
    }

    // MARK: Tags and scalars

    /// The next field tag, or `nil` at the end of the message.
    mutating func nextField() throws -> ProtobufField? {
        guard !isAtEnd else { return nil }
        let offset = position
        let tag = try readVarint()
        guard let wireType = ProtobufWireType(rawValue: UInt8(tag & 7)) else {
            throw error("invalid wire type \(tag & 7) in field tag", at: offset)
        }
        let number = tag >> 3
        guard number >= 1, number <= (1 << 29) - 1 else {
            throw error("invalid field number \(number)", at: offset)
        }
        return ProtobufField(number: Int(number), wireType: wireType, offset: offset)
    }

    /// A base-128 varint (at most 10 bytes).
    mutating func readVarint() throws -> UInt64 {
        let start = position
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard position < end, let base else { throw error("truncated varint", at: start) }
            let byte = base.load(fromByteOffset: position, as: UInt8.self)
            position += 1
            if shift == 63, byte > 1 { throw error("varint longer than 64 bits", at: start) }
            result |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return result }
            shift += 7
            if shift > 63 { throw error("varint longer than 10 bytes", at: start) }
        }
    }

    /// A little-endian 32-bit value.
    mutating func readFixed32() throws -> UInt32 { try readFixed() }

    /// A little-endian 64-bit value.
    mutating func readFixed64() throws -> UInt64 { try readFixed() }

    /// A little-endian fixed-width value (fixed32 or fixed64).
    mutating func readFixed<Value: FixedWidthInteger>() throws -> Value {
        let size = MemoryLayout<Value>.size
        guard end - position >= size, let base else { throw error("truncated fixed\(size * 8) value") }
        let value = Value(littleEndian: base.loadUnaligned(fromByteOffset: position, as: Value.self))
        position += size
        return value
    }

    /// The byte range of a length-delimited payload (bytes, string, embedded message or packed
    /// repeated field), after checking that it lies inside the current message.
    /// `field` and `name` only label the error message.
    mutating func readLengthDelimited(field: ProtobufField? = nil, name: String? = nil) throws -> Range<Int> {
        let start = position
        let length = try readVarint()
        let remaining = end - position
        guard length <= UInt64(remaining) else {
            let label = field.map { "field \($0.number)\(name.map { " (\($0))" } ?? "")" } ?? "length-delimited field"
            throw error("\(label) claims \(length) bytes but only \(remaining) remain (truncated file?)", at: field?.offset ?? start)
        }
        let range = position..<(position + Int(length))
        position = range.upperBound
        return range
    }

    /// The bytes at `range` (inside the buffer; valid as long as the decoder is).
    func bytes(_ range: Range<Int>) -> UnsafeRawBufferPointer {
        precondition(range.lowerBound >= 0 && range.upperBound <= end, "byte range outside the message")
        guard let base else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        return UnsafeRawBufferPointer(start: base + range.lowerBound, count: range.count)
    }

    /// The UTF-8 string at `range`; throws if it is not valid UTF-8.
    func string(_ range: Range<Int>) throws -> String {
        guard let text = String(bytes: bytes(range), encoding: .utf8) else {
            throw error("string is not valid UTF-8", at: range.lowerBound)
        }
        return text
    }

    // MARK: Typed field helpers

    /// Throws unless `field` has wire type `expected` (a known field with the wrong wire type
    /// means the bytes are not the message we think they are).
    func require(_ field: ProtobufField, _ expected: ProtobufWireType, _ fieldName: String) throws {
        guard field.wireType == expected else {
            throw error("field \(field.number) (\(fieldName)) has wire type \(field.wireType.name), expected \(expected.name)",
                        at: field.offset)
        }
    }

    /// A length-delimited field that must be a string.
    mutating func readString(_ field: ProtobufField, _ fieldName: String) throws -> String {
        try require(field, .lengthDelimited, fieldName)
        return try string(readLengthDelimited(field: field, name: fieldName))
    }

    /// A length-delimited field that is an embedded message; returns its byte range.
    mutating func readMessage(_ field: ProtobufField, _ fieldName: String) throws -> Range<Int> {
        try require(field, .lengthDelimited, fieldName)
        return try readLengthDelimited(field: field, name: fieldName)
    }

    /// A single varint field.
    mutating func readVarintField(_ field: ProtobufField, _ fieldName: String) throws -> UInt64 {
        try require(field, .varint, fieldName)
        return try readVarint()
    }

    /// Appends the values of a repeated varint field, packed (length-delimited) or not.
    mutating func readRepeatedVarints(_ field: ProtobufField, _ fieldName: String, into values: inout [UInt64]) throws {
        switch field.wireType {
        case .varint:
            values.append(try readVarint())
        case .lengthDelimited:
            let range = try readLengthDelimited(field: field, name: fieldName)
            var packed = subdecoder(range, context: context)
            while !packed.isAtEnd { values.append(try packed.readVarint()) }
        default:
            try require(field, .varint, fieldName)
        }
    }

    /// Appends the values of a repeated fixed32 (float) or fixed64 (double) field, packed or not.
    mutating func readRepeatedFixed<Value: FixedWidthInteger>(_ field: ProtobufField, _ fieldName: String, into values: inout [Value]) throws {
        let size = MemoryLayout<Value>.size
        let wireType: ProtobufWireType = size == 4 ? .fixed32 : .fixed64
        switch field.wireType {
        case wireType:
            values.append(try readFixed())
        case .lengthDelimited:
            let range = try readLengthDelimited(field: field, name: fieldName)
            guard range.count % size == 0 else {
                throw error("packed field \(field.number) (\(fieldName)) has \(range.count) bytes, not a multiple of \(size)", at: field.offset)
            }
            var packed = subdecoder(range, context: context)
            values.reserveCapacity(values.count + range.count / size)
            while !packed.isAtEnd { values.append(try packed.readFixed()) }
        default:
            try require(field, wireType, fieldName)
        }
    }

    // MARK: Skipping

    /// Skips the payload of `field` (an unknown or ignored field).
    mutating func skip(_ field: ProtobufField) throws {
        try skip(field, depth: 0)
    }

    private mutating func skip(_ field: ProtobufField, depth: Int) throws {
        switch field.wireType {
        case .varint: _ = try readVarint()
        case .fixed64: _ = try readFixed64()
        case .fixed32: _ = try readFixed32()
        case .lengthDelimited: _ = try readLengthDelimited(field: field)
        case .startGroup:
            guard depth < Self.maxGroupDepth else { throw error("groups nested too deeply", at: field.offset) }
            while true {
                guard let inner = try nextField() else {
                    throw error("group field \(field.number) is not closed (truncated file?)", at: field.offset)
                }
                if inner.wireType == .endGroup {
                    guard inner.number == field.number else {
                        throw error("group field \(field.number) closed by end-group tag \(inner.number)", at: inner.offset)
                    }
                    return
                }
                try skip(inner, depth: depth + 1)
            }
        case .endGroup:
            throw error("unexpected end-group tag for field \(field.number)", at: field.offset)
        }
    }
}
