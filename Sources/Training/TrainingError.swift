/// A training input or state that cannot be used: mismatched shapes, an invalid hyper-parameter, a label
/// outside its range, a loss that became NaN. `message` says what and where.
public struct TrainingError: Error, CustomStringConvertible, Sendable, Equatable {
    /// What went wrong, in words.
    public let message: String

    public init(_ message: String) { self.message = message }

    public var description: String { message }
}
