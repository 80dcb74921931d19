import Foundation
import TensorCore
import TensorKernels

/// Exact-erf GELU, `y = x·Φ(x)` with `Φ(x) = (1 + erf(x/√2))/2` (PyTorch `nn.GELU()`), elementwise on any shape.
/// Backward: `dx = dy · (Φ(x) + x·φ(x))`, `φ(x) = e^(−x²/2)/√(2π)`. No parameters.
public enum GELU {
    /// What `backward` needs: the input.
    public struct TrainingCache: Sendable {
        public let input: Tensor
    }

    public static func forward(_ x: Tensor, context: ComputeContext) -> (output: Tensor, cache: TrainingCache) {
        let output = Tensor(uninitializedShape: x.shape) { y in
            let (yp, xp) = (y.baseAddress!, x.storage.pointer)
            context.parallelRanges(x.count, minimumChunk: 4096) { range in
                (yp + range.lowerBound).update(from: xp + range.lowerBound, count: range.count)
                RowKernels.geluInPlace(yp + range.lowerBound, count: range.count)
            }
        }
        return (output, TrainingCache(input: x))
    }

    public static func backward(_ outputGradient: Tensor, cache: TrainingCache, context: ComputeContext) throws -> Tensor {
        try BackpropagationError.require(outputGradient, shape: cache.input.shape, "GELU output gradient")
        return Tensor(uninitializedShape: cache.input.shape) { dx in
            let (dxp, xp, dyp) = (dx.baseAddress!, cache.input.storage.pointer, outputGradient.storage.pointer)
            context.parallelRanges(dx.count, minimumChunk: 4096) { range in
                let start = range.lowerBound
                GradientKernels.map(xp + start, dyp + start, count: range.count, into: dxp + start) { x, dy in
                    let cdf = 0.5 * (1 + VectorMath.erf(x * 0.707_106_781_186_547_6))
                    let density = VectorMath.exp(-0.5 * x * x) * 0.398_942_280_401_432_7
                    return dy * (cdf + x * density)
                }
            }
        }
    }
}

/// The SwiGLU gate on rows of `[x₁ | x₂]` `[rows, 2H]` → `h = silu(x₁) ⊙ x₂` `[rows, H]`, `silu(a) = a·σ(a)`.
/// Backward: `dx₁ = dh ⊙ x₂ ⊙ σ(x₁)·(1 + x₁·(1 − σ(x₁)))`, `dx₂ = dh ⊙ silu(x₁)`. No parameters.
public enum SwiGLUGate {
    /// What `backward` needs: the fused input `[rows, 2H]`.
    public struct TrainingCache: Sendable {
        public let input: Tensor
    }

    public static func forward(_ x: Tensor, context: ComputeContext) throws -> (output: Tensor, cache: TrainingCache) {
        guard let last = x.shape.last, last % 2 == 0 else { throw BackpropagationError("SwiGLU gate expects an even last dimension, got \(describeShape(x.shape))") }
        let hidden = last / 2, rows = x.count / last
        let output = Tensor(uninitializedShape: Array(x.shape.dropLast()) + [hidden]) { y in
            let (yp, xp) = (y.baseAddress!, x.storage.pointer)
            context.parallelRanges(rows, minimumChunk: 16) { range in
                RowKernels.swiGLUGate(xp + range.lowerBound * last, into: yp + range.lowerBound * hidden, rows: range.count, hidden: hidden)
            }
        }
        return (output, TrainingCache(input: x))
    }

    public static func backward(_ outputGradient: Tensor, cache: TrainingCache, context: ComputeContext) throws -> Tensor {
        let last = cache.input.shape.last!, hidden = last / 2, rows = cache.input.count / last
        try BackpropagationError.require(outputGradient, shape: cache.input.shape.dropLast() + [hidden], "SwiGLU gate output gradient")
        return Tensor(uninitializedShape: cache.input.shape) { dx in
            let (dxp, xp, dhp) = (dx.baseAddress!, cache.input.storage.pointer, outputGradient.storage.pointer)
            context.parallelRanges(rows, minimumChunk: 16) { range in
                for row in range {
                    let (gate, value, dh) = (xp + row * last, xp + row * last + hidden, dhp + row * hidden)
                    let (dGate, dValue) = (dxp + row * last, dxp + row * last + hidden)
                    let vectorEnd = hidden - hidden % 16
                    for j in stride(from: 0, to: vectorEnd, by: 16) {
                        let (a, v, d) = (SIMD16.load(gate + j), SIMD16.load(value + j), SIMD16.load(dh + j))
                        let sigmoid = 1 / (1 + VectorMath.exp(-a))
                        (d * v * sigmoid * (1 + a * (1 - sigmoid))).store(to: dGate + j)
                        (d * a * sigmoid).store(to: dValue + j)
                    }
                    for j in vectorEnd..<hidden {
                        let sigmoid = 1 / (1 + Foundation.exp(-gate[j]))
                        dGate[j] = dh[j] * value[j] * sigmoid * (1 + gate[j] * (1 - sigmoid))
                        dValue[j] = dh[j] * gate[j] * sigmoid
                    }
                }
            }
        }
    }
}

/// LayerScale `y = γ ⊙ x` over the last dimension, `γ` `[D]`.
/// Backward: `dx = γ ⊙ dy`, `dγ = Σ_rows dy ⊙ x`.
public enum LayerScale {
    /// What `backward` needs: the input `[..., D]`.
    public struct TrainingCache: Sendable {
        public let input: Tensor
    }

    public static func forward(_ x: Tensor, gamma: Tensor) throws -> (output: Tensor, cache: TrainingCache) {
        guard x.shape.last == gamma.count else { throw BackpropagationError("LayerScale of width \(gamma.count) got \(describeShape(x.shape))") }
        return (GradientKernels.scaleColumns(x, by: gamma), TrainingCache(input: x))
    }

    /// `(dx, dγ)`.
    public static func backward(_ outputGradient: Tensor, gamma: Tensor, cache: TrainingCache,
                                context: ComputeContext) throws -> (input: Tensor, gamma: Tensor) {
        try backward(outputGradient, gamma: gamma, cache: cache, gradients: .all, context: context)
    }

    /// `(dx, dγ)`, with `dγ` (key `gamma` in `scope`) zeros unless wanted.
    static func backward(_ outputGradient: Tensor, gamma: Tensor, cache: TrainingCache, gradients scope: GradientScope,
                         context: ComputeContext) throws -> (input: Tensor, gamma: Tensor) {
        try BackpropagationError.require(outputGradient, shape: cache.input.shape, "LayerScale output gradient")
        return (GradientKernels.scaleColumns(outputGradient, by: gamma, context: context),
                scope.gradient("gamma", shape: gamma.shape) {
                    GradientKernels.columnDotProducts(outputGradient, cache.input, width: gamma.count, context: context)
                })
    }
}
