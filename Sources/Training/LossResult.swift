import TensorCore

/// A loss value with its gradient with respect to the logits (same shape as the logits).
public struct LossResult: Sendable {
    /// The scalar loss.
    public let value: Float
    /// `∂value/∂logits`.
    public let gradient: Tensor
}

extension Tensor {
    /// `[rows, columns]` of a rank-2 tensor, or an error naming `role`.
    func matrixShape(_ role: String) throws -> (rows: Int, columns: Int) {
        guard shape.count == 2 else { throw TrainingError("\(role) must be [rows, columns], not \(shape)") }
        return (shape[0], shape[1])
    }
}
