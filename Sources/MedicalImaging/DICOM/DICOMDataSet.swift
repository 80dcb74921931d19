import Foundation

/// One data element of a DICOM data set: its tag, value representation and value.
public struct DICOMElement: Sendable {
    /// What an element holds.
    public enum Value: Sendable {
        /// The value bytes as stored (numbers in the data set's byte order).
        case bytes([UInt8])
        /// The items of a sequence (VR `SQ`, or `UN` of undefined length), each a nested data set.
        case sequence([DICOMDataSet])
        /// Encapsulated (compressed) pixel data: the Basic Offset Table (the first item's bytes, possibly
        /// empty) and the fragments that follow, each with its offset from the first fragment's item tag,
        /// the origin Basic Offset Table entries count from.
        case encapsulated(offsetTable: [UInt8], fragments: [(offset: Int, bytes: [UInt8])])
    }

    /// The attribute.
    public let tag: DICOMTag
    /// Two-letter value representation (`UN` for tags unknown to an implicit-VR reader).
    public let vr: String
    /// The value.
    public let value: Value
    /// Whether binary numbers in `value` are big-endian (Explicit VR Big Endian).
    public let isBigEndian: Bool
}

/// A DICOM data set: elements by tag, with typed accessors for their values.
///
/// Text values (`strings`) are split at backslashes and trimmed of the space/NUL padding; numbers
/// (`doubles`, `ints`) come from decimal/integer strings (`DS`, `IS`, or text in an `UN` element) or
/// from binary values (`US`, `SS`, `UL`, `SL`, `FL`, `FD`, `UV`, `SV`) in the data set's
/// byte order. Accessors return `nil` when the element is absent or empty, or its value does not parse.
public struct DICOMDataSet: Sendable {
    /// Elements by tag.
    public let elements: [DICOMTag: DICOMElement]

    /// A data set holding `elements`.
    public init(elements: [DICOMTag: DICOMElement]) { self.elements = elements }

    /// The element with `tag`, if present.
    public subscript(tag: DICOMTag) -> DICOMElement? { elements[tag] }

    /// Whether an element with `tag` is present.
    public func contains(_ tag: DICOMTag) -> Bool { elements[tag] != nil }

    /// The text values of `tag`, split at `\` and trimmed; `nil` when absent or not a text/byte value.
    public func strings(_ tag: DICOMTag) -> [String]? {
        guard let element = elements[tag], case .bytes(let bytes) = element.value else { return nil }
        guard !Self.binaryVRs.contains(element.vr) else { return nil }
        let text = String(decoding: bytes, as: UTF8.self)
        return text.split(separator: "\\", omittingEmptySubsequences: false).map {
            $0.trimmingCharacters(in: CharacterSet(charactersIn: " \0"))
        }
    }

    /// The first text value of `tag` (the whole value for single-valued attributes); `nil` when empty.
    public func string(_ tag: DICOMTag) -> String? {
        guard let first = strings(tag)?.first, !first.isEmpty else { return nil }
        return first
    }

    /// The numeric values of `tag`, from decimal text or binary numbers; `nil` when absent, empty or
    /// when any value does not parse.
    public func doubles(_ tag: DICOMTag) -> [Double]? {
        guard let element = elements[tag], case .bytes(let bytes) = element.value else { return nil }
        if let width = Self.binaryWidth[element.vr] {
            guard !bytes.isEmpty, bytes.count % width == 0 else { return nil }
            return stride(from: 0, to: bytes.count, by: width).map {
                Self.binaryNumber(bytes, at: $0, vr: element.vr, bigEndian: element.isBigEndian)
            }
        }
        guard let texts = strings(tag), !(texts.count == 1 && texts[0].isEmpty) else { return nil }
        var values: [Double] = []
        for text in texts {
            guard let value = Double(text), value.isFinite else { return nil }
            values.append(value)
        }
        return values
    }

    /// The first numeric value of `tag`.
    public func double(_ tag: DICOMTag) -> Double? { doubles(tag)?.first }

    /// The numeric values of `tag` as integers; `nil` if any is not a whole number within `Int`'s range.
    public func ints(_ tag: DICOMTag) -> [Int]? {
        guard let values = doubles(tag) else { return nil }
        var result: [Int] = []
        for value in values {
            guard value == value.rounded(), abs(value) < 9.0e15 else { return nil }
            result.append(Int(value))
        }
        return result
    }

    /// The first integer value of `tag`.
    public func int(_ tag: DICOMTag) -> Int? { ints(tag)?.first }

    /// The items of sequence `tag`; `nil` when absent or not a sequence.
    public func sequence(_ tag: DICOMTag) -> [DICOMDataSet]? {
        guard let element = elements[tag], case .sequence(let items) = element.value else { return nil }
        return items
    }

    /// Bytes per value of the binary numeric VRs.
    static let binaryWidth: [String: Int] = ["US": 2, "SS": 2, "UL": 4, "SL": 4, "FL": 4, "FD": 8, "UV": 8, "SV": 8]
    /// VRs whose values are not text.
    static let binaryVRs: Set<String> = Set(binaryWidth.keys).union(["OB", "OW", "OF", "OD", "OL", "OV", "AT", "SQ"])

    static func binaryNumber(_ bytes: [UInt8], at offset: Int, vr: String, bigEndian: Bool) -> Double {
        let width = binaryWidth[vr] ?? 0
        var raw: UInt64 = 0
        for index in 0..<width {
            let byte = UInt64(bytes[bigEndian ? offset + index : offset + width - 1 - index])
            raw = raw << 8 | byte
        }
        switch vr {
        case "US", "UL", "UV": return Double(raw)
        case "SS": return Double(Int16(truncatingIfNeeded: raw))
        case "SL": return Double(Int32(truncatingIfNeeded: raw))
        case "SV": return Double(Int64(bitPattern: raw))
        case "FL": return Double(Float(bitPattern: UInt32(truncatingIfNeeded: raw)))
        default: return Double(bitPattern: raw)
        }
    }
}
