import TensorCore

/// Rectified linear unit, element-wise on a tensor of any shape: `y = max(x, 0)`;
/// backward `∂L/∂x = ∂L/∂y · [y > 0]` (zero at `x = 0`, as PyTorch).
public enum ReLU {
    /// What `backward` needs from `forward`.
    public struct Cache: Sendable {
        /// The forward output `y`, shaped as the input.
        let output: Tensor
    }

    /// `y`, shaped as `input`, and the cache for `backward`.
    public static func forward(_ input: Tensor) -> (output: Tensor, cache: Cache) {
        let output = Tensor(uninitializedShape: input.shape) { y in
            input.withUnsafeBufferPointer { x in
                for i in 0..<x.count { y[i] = max(x[i], 0) }
            }
        }
        return (output, Cache(output: output))
    }

    /// `∂L/∂x` for `outputGradient` shaped as the forward output.
    public static func backward(_ outputGradient: Tensor, cache: Cache) throws -> Tensor {
        try requireGradientShape(outputGradient, cache.output.shape, "ReLU")
        return Tensor(uninitializedShape: outputGradient.shape) { dx in
            outputGradient.withUnsafeBufferPointer { g in
                cache.output.withUnsafeBufferPointer { y in
                    for i in 0..<g.count { dx[i] = y[i] > 0 ? g[i] : 0 }
                }
            }
        }
    }
}
