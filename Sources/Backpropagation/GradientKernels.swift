import TensorCore
import TensorKernels

/// Building blocks of the backward passes, on row-major buffers, spread over a `ComputeContext`.
enum GradientKernels {
    /// Gradients of `y[M, out] = x[M, in] · Wᵀ + b`:
    /// `dx[M, in] = dy · W` (when `inputGradient`), `dW[out, in] = dyᵀ · x`, `db[out] = Σ_rows dy`.
    static func linearBackward(outputGradient dy: Tensor, input x: Tensor, weight: Tensor, hasBias: Bool, inputGradient: Bool = true,
                               context: ComputeContext) -> (input: Tensor?, weight: Tensor, bias: Tensor?) {
        let (outFeatures, inFeatures) = (weight.shape[0], weight.shape[1])
        let rows = x.count / inFeatures
        let dyp = dy.storage.pointer, xp = x.storage.pointer, wp = weight.storage.pointer
        var dx: Tensor?
        if inputGradient {
            dx = Tensor(uninitializedShape: x.shape) { buffer in
                let dxp = buffer.baseAddress!
                context.parallelRanges(rows, minimumChunk: 32) { range in
                    BLAS.gemm(m: range.count, n: inFeatures, k: outFeatures, a: dyp + range.lowerBound * outFeatures, lda: outFeatures,
                              b: wp, ldb: inFeatures, c: dxp + range.lowerBound * inFeatures, ldc: inFeatures)
                }
            }
        }
        let weightGradient = Tensor(uninitializedShape: weight.shape) { dw in
            let dwp = dw.baseAddress!
            context.parallelRanges(outFeatures, minimumChunk: 16) { range in
                BLAS.gemm(transposeA: true, m: range.count, n: inFeatures, k: rows, a: dyp + range.lowerBound, lda: outFeatures,
                          b: xp, ldb: inFeatures, c: dwp + range.lowerBound * inFeatures, ldc: inFeatures)
            }
        }
        return (dx, weightGradient, hasBias ? columnSums(dy, width: outFeatures, context: context) : nil)
    }

    /// `Σ_rows x[r, j]` of `x` `[rows, width]` → `[width]`, columns spread over the workers.
    static func columnSums(_ x: Tensor, width: Int, context: ComputeContext) -> Tensor {
        columnSums(rows: x.count / width, width: width, context: context) { row, column in x.storage.pointer[row * width + column] }
    }

    /// `Σ_rows a[r, j] · b[r, j]` of two `[rows, width]` tensors → `[width]`.
    static func columnDotProducts(_ a: Tensor, _ b: Tensor, width: Int, context: ComputeContext) -> Tensor {
        let (ap, bp) = (a.storage.pointer, b.storage.pointer)
        return columnSums(rows: a.count / width, width: width, context: context) { row, column in
            ap[row * width + column] * bp[row * width + column]
        }
    }

    /// `Σ_rows term(r, j)` → `[width]`, accumulated row by row in each worker's block of columns.
    static func columnSums(rows: Int, width: Int, context: ComputeContext, _ term: (Int, Int) -> Float) -> Tensor {
        Tensor(shape: [width]) { sums in
            let sp = sums.baseAddress!
            context.parallelRanges(width, minimumChunk: 64) { columns in
                for row in 0..<rows {
                    for column in columns { sp[column] += term(row, column) }
                }
            }
        }
    }

    /// `a + b` elementwise (equal shapes).
    static func sum(_ a: Tensor, _ b: Tensor) -> Tensor {
        Tensor(uninitializedShape: a.shape) { out in
            let (ap, bp) = (a.storage.pointer, b.storage.pointer)
            for i in 0..<a.count { out[i] = ap[i] + bp[i] }
        }
    }

    /// Rows of `[rows, width]` scaled per column: `out[r, j] = x[r, j] · gamma[j]`.
    static func scaleColumns(_ x: Tensor, by gamma: Tensor) -> Tensor {
        let width = gamma.count
        return Tensor(uninitializedShape: x.shape) { out in
            let (xp, gp) = (x.storage.pointer, gamma.storage.pointer)
            for row in 0..<x.count / width {
                for j in 0..<width { out[row * width + j] = xp[row * width + j] * gp[j] }
            }
        }
    }

    /// Applies a 16-wide function to matching blocks of `a` and `b`, writing `count` results (tail padded).
    static func map(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int, into out: UnsafeMutablePointer<Float>,
                    _ function: (SIMD16<Float>, SIMD16<Float>) -> SIMD16<Float>) {
        var i = 0
        while i + 16 <= count {
            let result = function(SIMD16(UnsafeBufferPointer(start: a + i, count: 16)), SIMD16(UnsafeBufferPointer(start: b + i, count: 16)))
            for lane in 0..<16 { out[i + lane] = result[lane] }
            i += 16
        }
        guard i < count else { return }
        var tailA = SIMD16<Float>(repeating: 0), tailB = SIMD16<Float>(repeating: 0)
        for lane in 0..<count - i { tailA[lane] = a[i + lane]; tailB[lane] = b[i + lane] }
        let result = function(tailA, tailB)
        for lane in 0..<count - i { out[i + lane] = result[lane] }
    }
}
