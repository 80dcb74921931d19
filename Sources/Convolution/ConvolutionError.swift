/// A decoder-layer input that cannot be used: a tensor of the wrong rank, a channel count that does not
/// match the weights, a kernel larger than the padded input, a gradient shaped unlike the forward
/// output. `message` names the layer, the expected and the actual shapes.
public struct ConvolutionError: Error, CustomStringConvertible, Sendable, Equatable {
    /// What went wrong, in words.
    public let message: String

    public init(_ message: String) { self.message = message }

    public var description: String { message }
}
