import FileAccess
import Foundation

/// A configuration in canonical form: JSON with sorted keys and no insignificant whitespace, so equal
/// configurations give equal text, and its SHA-256 (`hash`, lowercase hex), the key under which results
/// are looked up to skip work already done.
public struct CanonicalConfiguration: Sendable, Equatable, Hashable {
    /// The canonical JSON text.
    public let json: String
    /// SHA-256 of the UTF-8 bytes of `json`.
    public let hash: String

    /// The canonical form of `value`'s JSON encoding.
    public init(_ value: some Encodable) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        try self.init(json: String(decoding: encoder.encode(value), as: UTF8.self))
    }

    /// The canonical form of JSON text (re-serialised with sorted keys); throws when it is not JSON.
    public init(json text: String) throws {
        let object = try JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])
        let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes, .fragmentsAllowed])
        json = String(decoding: data, as: UTF8.self)
        hash = SHA256.hex(Array(data))
    }
}
