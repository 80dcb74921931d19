/// A checkpoint, preset or input that a convolutional backbone cannot use; the message says why.
public struct ConvolutionalNetworkError: Error, CustomStringConvertible, Equatable {
    public let description: String

    public init(_ description: String) { self.description = description }
}
