/// A fine-tuning setting or input was invalid: a pattern that selects nothing, a LoRA rank, scale or dropout
/// out of range, or tensors of the wrong shape.
public struct FineTuningError: Error, CustomStringConvertible, Sendable {
    public let description: String

    public init(_ description: String) { self.description = description }
}
