import TensorCore
import TensorKernels

/// Building blocks of the backward passes, on row-major buffers, spread over a `ComputeContext`.
enum GradientKernels {
    /// Gradients of `y[M, out] = x[M, in] · Wᵀ + b`: `dx[M, in] = dy · W` (when `inputGradient`),
    /// `dW[out, in] = dyᵀ · x` and `db[out] = Σ_rows dy` when `scope` wants `weight` and `bias` (zeros otherwise).
    static func linearBackward(outputGradient dy: Tensor, input x: Tensor, weight: Tensor, hasBias: Bool, scope: GradientScope,
                               inputGradient: Bool = true, context: ComputeContext) -> (input: Tensor?, weight: Tensor, bias: Tensor?) {
        let (outFeatures, inFeatures) = (weight.shape[0], weight.shape[1])
        let rows = x.count / inFeatures
        let dyp = dy.storage.pointer, xp = x.storage.pointer, wp = weight.storage.pointer
        let dx: Tensor? = inputGradient ? Tensor(uninitializedShape: x.shape) { buffer in
            let dxp = buffer.baseAddress!
            context.parallelRanges(rows, minimumChunk: 32) { range in
                BLAS.gemm(m: range.count, n: inFeatures, k: outFeatures, a: dyp + range.lowerBound * outFeatures, lda: outFeatures,
                          b: wp, ldb: inFeatures, c: dxp + range.lowerBound * inFeatures, ldc: inFeatures)
            }
        } : nil
        let weightGradient = scope.gradient("weight", shape: weight.shape) {
            Tensor(uninitializedShape: weight.shape) { dw in
                let dwp = dw.baseAddress!
                context.parallelRanges(outFeatures, minimumChunk: 16) { range in
                    BLAS.gemm(transposeA: true, m: range.count, n: inFeatures, k: rows, a: dyp + range.lowerBound, lda: outFeatures,
                              b: xp, ldb: inFeatures, c: dwp + range.lowerBound * inFeatures, ldc: inFeatures)
                }
            }
        }
        let biasGradient = hasBias ? scope.gradient("bias", shape: [outFeatures]) { columnSums(dy, width: outFeatures, context: context) } : nil
        return (dx, weightGradient, biasGradient)
    }

    /// `Σ_rows x[r, j]` of `x` `[rows, width]` → `[width]`.
    static func columnSums(_ x: Tensor, width: Int, context: ComputeContext) -> Tensor {
        let xp = x.storage.pointer
        return columnReduction(rows: x.count / width, width: width, context: context) { row in (UnsafePointer(xp + row * width), nil, 0, 1) }
    }

    /// `Σ_rows a[r, j] · b[r, j]` of two `[rows, width]` tensors → `[width]`.
    static func columnDotProducts(_ a: Tensor, _ b: Tensor, width: Int, context: ComputeContext) -> Tensor {
        let (ap, bp) = (a.storage.pointer, b.storage.pointer)
        return columnReduction(rows: a.count / width, width: width, context: context) { row in (UnsafePointer(ap + row * width), UnsafePointer(bp + row * width), 0, 1) }
    }

    /// `Σ_rows a[r, j] · (b[r, j] − center_r) · scale_r` → `[width]` (`b` absent: `a` alone), where `row(r)` gives the
    /// rows of `a` and `b` and the row's `center` and `scale`. Each worker owns a block of columns and adds the rows in
    /// order, so the result does not depend on the thread count.
    static func columnReduction(rows: Int, width: Int, context: ComputeContext,
                                _ row: (Int) -> (a: UnsafePointer<Float>, b: UnsafePointer<Float>?, center: Float, scale: Float)) -> Tensor {
        Tensor(shape: [width]) { sums in
            let sp = sums.baseAddress!
            let blocks = (width + 15) / 16
            context.parallelRanges(blocks, minimumChunk: 4) { blockRange in
                let (start, end) = (blockRange.lowerBound * 16, min(blockRange.upperBound * 16, width))
                for r in 0..<rows {
                    let (a, b, center, scale) = row(r)
                    var j = start
                    while j + 16 <= end {
                        let term = b.map { (SIMD16.load($0 + j) - center) * scale } ?? SIMD16(repeating: 1)
                        (SIMD16.load(sp + j) + SIMD16.load(a + j) * term).store(to: sp + j)
                        j += 16
                    }
                    while j < end {
                        sp[j] += a[j] * (b.map { ($0[j] - center) * scale } ?? 1)
                        j += 1
                    }
                }
            }
        }
    }

    /// `a + b` elementwise (equal shapes).
    static func sum(_ a: Tensor, _ b: Tensor, context: ComputeContext) -> Tensor {
        map(a, b, context: context) { $0 + $1 }
    }

    /// Residual update with an optional per-column scale: `x + gamma ⊙ u` over rows of `[rows, width]` (`gamma` `[width]`).
    static func addScaled(_ x: Tensor, _ u: Tensor, gamma: Tensor?, context: ComputeContext) -> Tensor {
        guard let gamma else { return sum(x, u, context: context) }
        let width = gamma.count
        let (xp, up, gp) = (x.storage.pointer, u.storage.pointer, gamma.storage.pointer)
        return rowMap(shape: x.shape, width: width, context: context) { row, j in xp[row * width + j] + gp[j] * up[row * width + j] }
    }

    /// Rows of `[rows, width]` scaled per column: `out[r, j] = x[r, j] · gamma[j]`.
    static func scaleColumns(_ x: Tensor, by gamma: Tensor, context: ComputeContext = .serial) -> Tensor {
        let width = gamma.count
        let (xp, gp) = (x.storage.pointer, gamma.storage.pointer)
        return rowMap(shape: x.shape, width: width, context: context) { row, j in xp[row * width + j] * gp[j] }
    }

    /// A tensor of `shape` (rows of `width`) with `element(row, column)`, rows spread over the workers.
    static func rowMap(shape: [Int], width: Int, context: ComputeContext, _ element: (Int, Int) -> Float) -> Tensor {
        Tensor(uninitializedShape: shape) { out in
            let op = out.baseAddress!
            context.parallelRanges(out.count / width, minimumChunk: 16) { rows in
                for row in rows {
                    for j in 0..<width { op[row * width + j] = element(row, j) }
                }
            }
        }
    }

    /// `function(a, b)` elementwise, 16 at a time, spread over the workers (equal shapes).
    static func map(_ a: Tensor, _ b: Tensor, context: ComputeContext,
                    _ function: (SIMD16<Float>, SIMD16<Float>) -> SIMD16<Float>) -> Tensor {
        Tensor(uninitializedShape: a.shape) { out in
            let (op, ap, bp) = (out.baseAddress!, a.storage.pointer, b.storage.pointer)
            context.parallelRanges(a.count, minimumChunk: 16384) { range in
                let start = range.lowerBound
                map(ap + start, bp + start, count: range.count, into: op + start, function)
            }
        }
    }

    /// Applies a 16-wide function to matching blocks of `a` and `b`, writing `count` results (tail padded).
    static func map(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int, into out: UnsafeMutablePointer<Float>,
                    _ function: (SIMD16<Float>, SIMD16<Float>) -> SIMD16<Float>) {
        var i = 0
        while i + 16 <= count {
            function(SIMD16.load(a + i), SIMD16.load(b + i)).store(to: out + i)
            i += 16
        }
        guard i < count else { return }
        var tailA = SIMD16<Float>(repeating: 0), tailB = SIMD16<Float>(repeating: 0)
        for lane in 0..<count - i { tailA[lane] = a[i + lane]; tailB[lane] = b[i + lane] }
        let result = function(tailA, tailB)
        for lane in 0..<count - i { out[i + lane] = result[lane] }
    }
}

extension SIMD16<Float> {
    /// 16 floats from `p` (no alignment required).
    @inline(__always)
    static func load(_ p: UnsafePointer<Float>) -> Self { UnsafeRawPointer(p).loadUnaligned(as: Self.self) }

    @inline(__always)
    static func load(_ p: UnsafeMutablePointer<Float>) -> Self { load(UnsafePointer(p)) }

    /// Writes the 16 floats to `p` (no alignment required).
    @inline(__always)
    func store(to p: UnsafeMutablePointer<Float>) { UnsafeMutableRawPointer(p).storeBytes(of: self, as: Self.self) }
}
