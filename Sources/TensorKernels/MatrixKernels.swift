/// Matrix kernels built on `BLAS.gemm`, parallelised over row blocks by a `ComputeContext`.
public enum MatrixKernels {
    /// Affine map of rows, as `torch.nn.Linear`: `y[M, out] = x[M, in] · weightᵀ + bias`,
    /// with `weight` stored `[out, in]` and `bias` `[out]` (or nil).
    public static func linear(
        _ x: UnsafePointer<Float>, rows: Int, inFeatures: Int,
        weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?, outFeatures: Int,
        into y: UnsafeMutablePointer<Float>, context: ComputeContext
    ) {
        context.parallelRanges(rows, minimumChunk: 32) { range in
            let output = y + range.lowerBound * outFeatures
            if let bias {
                for row in 0..<range.count { (output + row * outFeatures).update(from: bias, count: outFeatures) }
            }
            BLAS.gemm(transposeB: true, m: range.count, n: outFeatures, k: inFeatures,
                      a: x + range.lowerBound * inFeatures, lda: inFeatures,
                      b: weight, ldb: inFeatures, beta: bias == nil ? 0 : 1, c: output, ldc: outFeatures)
        }
    }

    /// Batched products `C[i] = alpha · op(A[i]) · op(B[i]) + beta · C[i]` for `i` in `0..<batch`, each
    /// matrix `strideA`/`strideB`/`strideC` elements after the previous one (row-major, as `BLAS.gemm`);
    /// the batch is spread over the workers.
    public static func batchedGEMM(
        batch: Int, transposeA: Bool = false, transposeB: Bool = false, m: Int, n: Int, k: Int, alpha: Float = 1,
        a: UnsafePointer<Float>, lda: Int, strideA: Int,
        b: UnsafePointer<Float>, ldb: Int, strideB: Int,
        beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int, strideC: Int, context: ComputeContext
    ) {
        context.parallelFor(batch) { i in
            BLAS.gemm(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
                      a: a + i * strideA, lda: lda, b: b + i * strideB, ldb: ldb, beta: beta, c: c + i * strideC, ldc: ldc)
        }
    }

    /// Most query rows handled together in `attention` (the tokens are cut into equal blocks of at most
    /// this many): their score block `[rows, tokens]` stays in cache between the two matrix products and
    /// the softmax.
    public static let attentionQueryBlock = 128

    /// Multi-head scaled dot-product attention over a fused QKV buffer, without layout copies.
    ///
    /// `qkv` is `[batch·tokens, 3·heads·headDim]` with columns ordered (q|k|v, head, channel), as
    /// `nn.Linear(D, 3D)` followed by `reshape(B, N, 3, H, D/H)` lays it out. For each batch item, head
    /// and block of at most `attentionQueryBlock` query rows: `S = (Q·Kᵀ)·headDim^(−1/2)` `[rows, tokens]`, row
    /// softmax, `O = S·V` written to `output` `[batch·tokens, heads·headDim]` at the head's column block.
    /// The (item, head, block) triples are spread over the workers.
    public static func attention(
        qkv: UnsafePointer<Float>, batch: Int, tokens: Int, heads: Int, headDim: Int,
        into output: UnsafeMutablePointer<Float>, context: ComputeContext
    ) {
        let width = heads * headDim
        let qkvStride = 3 * width
        let scale = 1 / Float(headDim).squareRoot()
        let blocks = (tokens + attentionQueryBlock - 1) / attentionQueryBlock
        let blockRows = (tokens + blocks - 1) / max(blocks, 1) // equal blocks: no 1-row remainder
        context.parallelRanges(batch * heads * blocks) { work in
            let scores = UnsafeMutablePointer<Float>.allocate(capacity: blockRows * tokens)
            defer { scores.deallocate() }
            for index in work {
                let (pair, block) = index.quotientAndRemainder(dividingBy: blocks)
                let (item, head) = pair.quotientAndRemainder(dividingBy: heads)
                let first = block * blockRows, rows = min(blockRows, tokens - first)
                let base = qkv + item * tokens * qkvStride + head * headDim
                BLAS.gemm(transposeB: true, m: rows, n: tokens, k: headDim, alpha: scale,
                          a: base + first * qkvStride, lda: qkvStride, b: base + width, ldb: qkvStride, c: scores, ldc: tokens)
                RowKernels.softmaxInPlace(scores, rows: rows, width: tokens)
                BLAS.gemm(m: rows, n: headDim, k: tokens, a: scores, lda: tokens,
                          b: base + 2 * width, ldb: qkvStride,
                          c: output + (item * tokens + first) * width + head * headDim, ldc: width)
            }
        }
    }

    /// Cuts `[batch, channels, height, width]` images into non-overlapping `patch × patch` patches:
    /// output `[batch · (height/patch) · (width/patch), channels · patch · patch]`, patches row-major
    /// over the grid, each patch ordered (channel, row, column) to match a `Conv2d` weight `[D, C, p, p]`.
    public static func patchify(
        _ images: UnsafePointer<Float>, batch: Int, channels: Int, height: Int, width: Int, patch: Int,
        into output: UnsafeMutablePointer<Float>, context: ComputeContext
    ) {
        let gridH = height / patch, gridW = width / patch
        let patchLength = channels * patch * patch
        context.parallelFor(batch * gridH) { gridRow in
            let (item, py) = gridRow.quotientAndRemainder(dividingBy: gridH)
            for px in 0..<gridW {
                let destination = output + ((item * gridH + py) * gridW + px) * patchLength
                for c in 0..<channels {
                    for ky in 0..<patch {
                        let source = images + ((item * channels + c) * height + py * patch + ky) * width + px * patch
                        (destination + (c * patch + ky) * patch).update(from: source, count: patch)
                    }
                }
            }
        }
    }
}
