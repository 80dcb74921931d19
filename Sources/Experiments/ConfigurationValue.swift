/// A setting of a cell's configuration as it is written into the configuration JSON: a number, a text,
/// a flag or a list of them.
public enum ConfigurationValue: Encodable, Sendable, Hashable {
    case int(Int)
    case double(Double)
    case string(String)
    case bool(Bool)
    case list([ConfigurationValue])

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .int(let value): try container.encode(value)
        case .double(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .bool(let value): try container.encode(value)
        case .list(let values): try container.encode(values)
        }
    }

    /// The value as a short text for listings: `10,20,100`, `0.001`, `true`.
    public var text: String {
        switch self {
        case .int(let value): "\(value)"
        case .double(let value): "\(value)"
        case .string(let value): value
        case .bool(let value): "\(value)"
        case .list(let values): values.map(\.text).joined(separator: ",")
        }
    }

    /// The value as an integer, when it is one.
    public var intValue: Int? { if case .int(let value) = self { value } else { nil } }
    /// The value as a number (an integer counts).
    public var doubleValue: Double? {
        switch self {
        case .int(let value): Double(value)
        case .double(let value): value
        default: nil
        }
    }
    /// The value as a text, when it is one.
    public var stringValue: String? { if case .string(let value) = self { value } else { nil } }
    /// The value as a flag, when it is one.
    public var boolValue: Bool? { if case .bool(let value) = self { value } else { nil } }
    /// The numbers of a list (nil when it is not a list of numbers).
    public var doubles: [Double]? {
        guard case .list(let values) = self else { return nil }
        let numbers = values.compactMap(\.doubleValue)
        return numbers.count == values.count ? numbers : nil
    }
    /// The integers of a list (nil when it is not a list of integers).
    public var ints: [Int]? {
        guard case .list(let values) = self else { return nil }
        let numbers = values.compactMap(\.intValue)
        return numbers.count == values.count ? numbers : nil
    }
}
