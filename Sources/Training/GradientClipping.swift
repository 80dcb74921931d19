import TensorCore

/// Gradient clipping by global norm, as `torch.nn.utils.clip_grad_norm_` (L2 norm):
/// `N = ‖(‖g₁‖, …, ‖gₖ‖)‖₂`, every gradient is multiplied by `min(1, maxNorm / (N + 10⁻⁶))`.
public enum GradientClipping {
    /// Scales `gradients` in place and returns the norm `N` before clipping. A non-finite norm is an error.
    @discardableResult
    public static func clipByGlobalNorm(_ gradients: inout [Tensor], maxNorm: Float) throws -> Float {
        guard maxNorm > 0, maxNorm.isFinite else { throw TrainingError("the maximum gradient norm must be finite and > 0, not \(maxNorm)") }
        var squares = 0.0
        for gradient in gradients {
            gradient.withUnsafeBufferPointer { g in for value in g { squares += Double(value) * Double(value) } }
        }
        let norm = Float(squares.squareRoot())
        guard norm.isFinite else { throw TrainingError("the gradient norm is \(norm): a gradient holds a NaN or infinite value") }
        let scale = min(1, maxNorm / (norm + 1e-6))
        for index in gradients.indices {
            gradients[index].withUnsafeMutableBufferPointer { g in for i in g.indices { g[i] *= scale } }
        }
        return norm
    }
}
