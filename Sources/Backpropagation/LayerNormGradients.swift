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
        try backward(outputGradient, cache: cache, gradients: .all, adding: nil, context: context)
    }

    /// As `backward(_:cache:context:)`, computing `dw`, `db` only when `scope` wants them (zeros otherwise), and
    /// returning `residual + dx` when a residual gradient is given (one pass instead of two).
    func backward(_ outputGradient: Tensor, cache: TrainingCache, gradients scope: GradientScope, adding residual: Tensor?,
                  context: ComputeContext) throws -> (input: Tensor, parameters: LayerNorm) {
        try BackpropagationError.require(outputGradient, shape: cache.input.shape, "LayerNorm output gradient")
        let width = weight.count
        let rows = cache.input.count / width
        let (xp, mp, rp) = (cache.input.storage.pointer, cache.mean.storage.pointer, cache.inverseStandardDeviation.storage.pointer)
        let (dyp, wp, residualPointer) = (outputGradient.storage.pointer, weight.storage.pointer, residual.map { UnsafePointer($0.storage.pointer) })
        let inputGradient = Tensor(uninitializedShape: cache.input.shape) { dx in
            let dxp = dx.baseAddress!
            context.parallelRanges(rows, minimumChunk: 8) { range in
                for row in range {
                    let base = row * width
                    let (mean, rstd) = (mp[row], rp[row])
                    let (x, dy, dxRow) = (xp + base, dyp + base, dxp + base)
                    let vectorEnd = width - width % 16
                    var sumsG = SIMD16<Float>(), sumsGX = SIMD16<Float>()
                    for j in stride(from: 0, to: vectorEnd, by: 16) {
                        let g = SIMD16.load(dy + j) * SIMD16.load(wp + j)
                        sumsG += g
                        sumsGX += g * ((SIMD16.load(x + j) - mean) * rstd)
                    }
                    var (sumG, sumGX) = (sumsG.sum(), sumsGX.sum())
                    for j in vectorEnd..<width {
                        let g = dy[j] * wp[j]
                        sumG += g
                        sumGX += g * ((x[j] - mean) * rstd)
                    }
                    let (meanG, meanGX) = (sumG / Float(width), sumGX / Float(width))
                    for j in stride(from: 0, to: vectorEnd, by: 16) {
                        let term = rstd * (SIMD16.load(dy + j) * SIMD16.load(wp + j) - meanG - (SIMD16.load(x + j) - mean) * rstd * meanGX)
                        (residualPointer.map { SIMD16.load($0 + base + j) + term } ?? term).store(to: dxRow + j)
                    }
                    for j in vectorEnd..<width {
                        let term = rstd * (dy[j] * wp[j] - meanG - (x[j] - mean) * rstd * meanGX)
                        dxRow[j] = residualPointer.map { $0[base + j] + term } ?? term
                    }
                }
            }
        }
        var gradients = self
        gradients.weight = scope.gradient("weight", shape: weight.shape) {
            GradientKernels.columnReduction(rows: rows, width: width, context: context) { row in
                (UnsafePointer(dyp + row * width), UnsafePointer(xp + row * width), mp[row], rp[row])
            }
        }
        gradients.bias = scope.gradient("bias", shape: bias.shape) { GradientKernels.columnSums(outputGradient, width: width, context: context) }
        return (inputGradient, gradients)
    }
}
