import Foundation

// The text form of pipeline and augmentation records: steps joined by `" > "`, each `name` or
// `name[arg,arg,…]`.

/// A step that has a text record (`description`) and can be read back from it.
public protocol RecordedStep: CustomStringConvertible {
    /// The step parsed from its record; `nil` if the text is not one.
    init?(record: String)
}

/// An ordered list of recorded steps whose record is the steps' records joined by `" > "`, e.g.
/// `window[-1024,600] > minmax`; it encodes to JSON as that one string.
public protocol RecordedSteps: CustomStringConvertible, Codable {
    associatedtype Step: RecordedStep
    /// Steps, applied first to last.
    var steps: [Step] { get }
    /// The list of `steps`.
    init(steps: [Step])
}

extension RecordedSteps {
    /// The steps' records joined by `" > "`.
    public var description: String { steps.map(\.description).joined(separator: " > ") }

    /// The list parsed from its record (`""` is no steps); `nil` if a step is not understood.
    public init?(record: String) {
        var steps = [Step]()
        for part in splitRecord(record) {
            guard let step = Step(record: part) else { return nil }
            steps.append(step)
        }
        self.init(steps: steps)
    }

    /// Decodes the record string.
    public init(from decoder: Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let parsed = Self(record: text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath,
                                                    debugDescription: "not a \(Self.self) record: \(text)"))
        }
        self = parsed
    }

    /// Encodes the record string.
    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

/// The steps of a record, split at `>` and trimmed; an empty record has none.
func splitRecord(_ record: String) -> [String] {
    record.split(separator: ">").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
}

/// `name[a,b]` → (`name`, [`a`, `b`]); `name` → (`name`, []); `nil` for unbalanced brackets.
func parseRecord(_ step: String) -> (name: String, arguments: [String])? {
    guard let open = step.firstIndex(of: "[") else {
        return step.contains("]") || step.isEmpty ? nil : (step, [])
    }
    guard step.last == "]", step.firstIndex(of: "]") == step.index(before: step.endIndex) else { return nil }
    let inside = step[step.index(after: open) ..< step.index(before: step.endIndex)]
    return (String(step[..<open]), inside.split(separator: ",", omittingEmptySubsequences: false).map(String.init))
}

/// The arguments as numbers, `nil` if one is not a finite number.
func recordNumbers(_ arguments: [String]) -> [Double]? {
    let numbers = arguments.compactMap { Double($0) }.filter(\.isFinite)
    return numbers.count == arguments.count ? numbers : nil
}
