import TensorCore

/// A training forward or backward pass was given tensors of the wrong shape.
public struct BackpropagationError: Error, CustomStringConvertible, Sendable {
    public let description: String

    public init(_ description: String) { self.description = description }

    /// Throws unless `tensor` has exactly `shape`.
    static func require(_ tensor: Tensor, shape: [Int], _ what: String) throws {
        guard tensor.shape == shape else {
            throw BackpropagationError("\(what) has shape \(describeShape(tensor.shape)); expected \(describeShape(shape))")
        }
    }
}
