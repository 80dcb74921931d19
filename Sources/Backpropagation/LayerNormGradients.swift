import Layers
import TensorCore
import TensorKernels

extension LayerNorm {
    /// What `backward` needs: the input `[rows, D]` (any leading shape), and per row the mean and
    /// `rstd = 1/sqrt(var + eps)` `[rows]`.
    public struct TrainingCache: Sendable {
        public let input: Tensor
        public let mean: Tensor // [rows]
        public let inverseStandardDeviation: Tensor // [rows]
    }

    /// `y = (x − mean)·rstd·w + b` over the last dimension (the inference kernel), keeping the row statistics.
    public func forward(_ x: Tensor, context: ComputeContext) throws -> (output: Tensor, cache: TrainingCache) {
        let width = weight.count
        guard x.shape.last == width else { throw BackpropagationError("LayerNorm expects inputs [..., \(width)], got \(describeShape(x.shape))") }
        let rows = x.count / width
        let mean = Tensor(shape: [rows]), rstd = Tensor(shape: [rows])
        let (xp, mp, rp) = (x.storage.pointer, mean.storage.pointer, rstd.storage.pointer)
        context.parallelRanges(rows, minimumChunk: 8) { range in
            for row in range {
                let input = xp + row * width
                var total: Float = 0
                for j in 0..<width { total += input[j] }
                let average = total / Float(width)
                var squares: Float = 0
                for j in 0..<width { squares += (input[j] - average) * (input[j] - average) }
                mp[row] = average
                rp[row] = 1 / (squares / Float(width) + eps).squareRoot()
            }
        }
        return (self(x, context: context), TrainingCache(input: x, mean: mean, inverseStandardDeviation: rstd))
    }

    /// With `x̂ = (x − mean)·rstd` and `g = dy ⊙ w`:
    /// `dx = rstd · (g − mean(g) − x̂ · mean(g ⊙ x̂))` per row, `dw = Σ_rows dy ⊙ x̂`, `db = Σ_rows dy`.
    public func backward(_ outputGradient: Tensor, cache: TrainingCache, context: ComputeContext) throws -> (input: Tensor, parameters: LayerNorm) {
        try BackpropagationError.require(outputGradient, shape: cache.input.shape, "LayerNorm output gradient")
        let width = weight.count
        let rows = cache.input.count / width
        let (xp, mp, rp) = (cache.input.storage.pointer, cache.mean.storage.pointer, cache.inverseStandardDeviation.storage.pointer)
        let (dyp, wp) = (outputGradient.storage.pointer, weight.storage.pointer)
        let normalized = Tensor(uninitializedShape: [rows, width]) { out in
            let op = out.baseAddress!
            context.parallelRanges(rows, minimumChunk: 8) { range in
                for row in range {
                    for j in 0..<width { op[row * width + j] = (xp[row * width + j] - mp[row]) * rp[row] }
                }
            }
        }
        let np = normalized.storage.pointer
        let inputGradient = Tensor(uninitializedShape: cache.input.shape) { dx in
            let dxp = dx.baseAddress!
            context.parallelRanges(rows, minimumChunk: 8) { range in
                for row in range {
                    let base = row * width
                    var meanG: Float = 0, meanGX: Float = 0
                    for j in 0..<width {
                        let g = dyp[base + j] * wp[j]
                        meanG += g
                        meanGX += g * np[base + j]
                    }
                    meanG /= Float(width); meanGX /= Float(width)
                    for j in 0..<width { dxp[base + j] = rp[row] * (dyp[base + j] * wp[j] - meanG - np[base + j] * meanGX) }
                }
            }
        }
        var gradients = self
        gradients.weight = GradientKernels.columnDotProducts(outputGradient, normalized, width: width, context: context)
        gradients.bias = GradientKernels.columnSums(outputGradient, width: width, context: context)
        return (inputGradient, gradients)
    }
}
