import Foundation

/// Row-wise kernels over `[rows, width]` row-major buffers: LayerNorm, softmax, activations, bias and
/// residual updates. Each processes contiguous rows and is parallelised over rows by the caller's
/// `ComputeContext`.
public enum RowKernels {
    /// LayerNorm: `y = (x − mean) / sqrt(var + eps) · weight + bias` per row, with the biased variance
    /// (as PyTorch). `x` and `y` may be the same buffer.
    public static func layerNorm(
        _ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, rows: Int, width: Int,
        weight: UnsafePointer<Float>, bias: UnsafePointer<Float>, eps: Float, context: ComputeContext
    ) {
        context.parallelRanges(rows, minimumChunk: 8) { range in
            for row in range {
                let input = x + row * width
                let output = y + row * width
                let mean = sum(input, width) / Float(width)
                var squares = SIMD16<Float>(repeating: 0)
                var tail: Float = 0
                var i = 0
                while i + 16 <= width {
                    let d = load(input + i) - mean
                    squares += d * d
                    i += 16
                }
                while i < width { let d = input[i] - mean; tail += d * d; i += 1 }
                let variance = (squares.sum() + tail) / Float(width)
                let inverse = 1 / (variance + eps).squareRoot()
                for j in 0..<width { output[j] = (input[j] - mean) * inverse * weight[j] + bias[j] }
            }
        }
    }

    /// Numerically stable softmax of each row in place: `exp(x − max) / Σ exp(x − max)`.
    /// Three passes per row: the maximum, the exponentials with their sum, the scaling.
    public static func softmaxInPlace(_ x: UnsafeMutablePointer<Float>, rows: Int, width: Int) {
        let vectorEnd = width - width % 16
        for row in 0..<rows {
            let values = x + row * width
            var maxima = SIMD16<Float>(repeating: -.infinity)
            for i in stride(from: 0, to: vectorEnd, by: 16) { maxima = VectorMath.maximum(maxima, load(values + i)) }
            var maximum = maxima.max()
            for i in vectorEnd..<width { maximum = max(maximum, values[i]) }

            var sums = SIMD16<Float>(repeating: 0)
            for i in stride(from: 0, to: vectorEnd, by: 16) {
                let e = VectorMath.exp(load(values + i) - maximum)
                store(e, values + i)
                sums += e
            }
            var total = sums.sum()
            for i in vectorEnd..<width { // a short tail: scalar exp is cheaper than assembling a vector
                let e = Foundation.exp(values[i] - maximum)
                values[i] = e
                total += e
            }
            let scale = 1 / total
            for i in stride(from: 0, to: vectorEnd, by: 16) { store(load(values + i) * scale, values + i) }
            for i in vectorEnd..<width { values[i] *= scale }
        }
    }

    /// Residual update with optional LayerScale: `x[r, j] += gamma[j] · update[r, j]` (gamma = 1 when nil).
    public static func addScaled(_ x: UnsafeMutablePointer<Float>, _ update: UnsafePointer<Float>, rows: Int, width: Int, gamma: UnsafePointer<Float>?) {
        for row in 0..<rows {
            let target = x + row * width
            let source = update + row * width
            if let gamma {
                for j in 0..<width { target[j] += gamma[j] * source[j] }
            } else {
                for j in 0..<width { target[j] += source[j] }
            }
        }
    }

    /// Exact-erf GELU of `count` values in place.
    public static func geluInPlace(_ x: UnsafeMutablePointer<Float>, count: Int) {
        mapInPlace(x, count: count, VectorMath.gelu)
    }

    /// SwiGLU gate: for rows of `[x₁ | x₂]` (width `2·hidden`), writes `silu(x₁) · x₂` into `[rows, hidden]`.
    public static func swiGLUGate(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, rows: Int, hidden: Int) {
        for row in 0..<rows {
            let gate = x + row * 2 * hidden
            let output = y + row * hidden
            for j in 0..<hidden { output[j] = gate[j] }
            mapInPlace(output, count: hidden, VectorMath.silu)
            for j in 0..<hidden { output[j] *= gate[hidden + j] }
        }
    }

    @inline(__always)
    static func sum(_ x: UnsafePointer<Float>, _ count: Int) -> Float {
        var accumulator = SIMD16<Float>(repeating: 0)
        var i = 0
        while i + 16 <= count {
            accumulator += load(x + i)
            i += 16
        }
        var total = accumulator.sum()
        while i < count { total += x[i]; i += 1 }
        return total
    }
}
