import TensorCore
import TensorKernels

/// Multi-head attention with SAM's decomposed relative position bias (`Attention` with `use_rel_pos`,
/// `add_decomposed_rel_pos`), over sequences that are `height × width` token grids (a window, or the whole
/// image for a global block).
///
/// For query `i = (qh, qw)` and key `j = (kh, kw)` of a head:
/// `logit[i, j] = headDim^(−1/2) · q_i·k_j + q_i·Rh[qh, kh] + q_i·Rw[qw, kw]`, with the unscaled query in the
/// bias terms, `Rh[qh, kh] = rel_pos_h[qh − kh + height − 1]` (`get_rel_pos` when query and key grids are
/// equal), likewise `Rw`; then a row softmax and the sum of the values.
enum RelativePositionAttention {
    /// `get_rel_pos` for equal query and key sizes: `table` `[2·size − 1, headDim]` →
    /// `[size (query), size (key), headDim]` with entry `(q, k)` = row `q − k + size − 1`.
    static func expandedTable(_ table: Tensor, size: Int) -> Tensor {
        let headDimension = table.shape[1]
        return Tensor(uninitializedShape: [size, size, headDimension]) { out in
            for query in 0..<size {
                for key in 0..<size {
                    (out.baseAddress! + (query * size + key) * headDimension)
                        .update(from: table.storage.pointer + (query - key + size - 1) * headDimension, count: headDimension)
                }
            }
        }
    }

    /// `qkv` `[sequences·height·width, 3·heads·headDim]` with columns (q|k|v, head, channel), as `qkv` Linear
    /// lays them out → `output` `[sequences·height·width, heads·headDim]`. `heightTable` `[height, height,
    /// headDim]` and `widthTable` `[width, width, headDim]` are `expandedTable`s. Work is cut into
    /// (sequence, head, block of whole grid rows of about `MatrixKernels.attentionQueryBlock` queries) and
    /// spread over the context; each block's logits `[rows, tokens]` stay in cache.
    static func apply(
        qkv: UnsafePointer<Float>, sequences: Int, height: Int, width: Int, heads: Int, headDimension: Int,
        heightTable: UnsafePointer<Float>, widthTable: UnsafePointer<Float>,
        into output: UnsafeMutablePointer<Float>, context: ComputeContext
    ) {
        let tokens = height * width
        let modelWidth = heads * headDimension
        let stride = 3 * modelWidth
        let scale = 1 / Float(headDimension).squareRoot()
        let targetGridRows = max(1, MatrixKernels.attentionQueryBlock / width)
        let blocks = (height + targetGridRows - 1) / targetGridRows
        let gridRowsPerBlock = (height + blocks - 1) / blocks // equal blocks: no short remainder
        let maximumRows = gridRowsPerBlock * width
        context.parallelRanges(sequences * heads * blocks) { work in
            let logits = UnsafeMutablePointer<Float>.allocate(capacity: maximumRows * tokens)
            let heightBias = UnsafeMutablePointer<Float>.allocate(capacity: maximumRows * height) // [rows, kh]
            let widthBias = UnsafeMutablePointer<Float>.allocate(capacity: maximumRows * width) // [rows, kw]
            defer { logits.deallocate(); heightBias.deallocate(); widthBias.deallocate() }
            for index in work {
                let (pair, block) = index.quotientAndRemainder(dividingBy: blocks)
                let (sequence, head) = pair.quotientAndRemainder(dividingBy: heads)
                let firstGridRow = block * gridRowsPerBlock
                let gridRows = min(gridRowsPerBlock, height - firstGridRow)
                guard gridRows > 0 else { continue }
                let rows = gridRows * width
                let base = qkv + sequence * tokens * stride + head * headDimension
                let queries = base + firstGridRow * width * stride
                BLAS.gemm(transposeB: true, m: rows, n: tokens, k: headDimension, alpha: scale,
                          a: queries, lda: stride, b: base + modelWidth, ldb: stride, c: logits, ldc: tokens)
                for row in 0..<gridRows { // the queries of grid row qh against Rh[qh] [height, headDim]
                    BLAS.gemm(transposeB: true, m: width, n: height, k: headDimension,
                              a: queries + row * width * stride, lda: stride,
                              b: heightTable + (firstGridRow + row) * height * headDimension, ldb: headDimension,
                              c: heightBias + row * width * height, ldc: height)
                }
                for column in 0..<width { // the queries of grid column qw (every width-th row) against Rw[qw]
                    BLAS.gemm(transposeB: true, m: gridRows, n: width, k: headDimension,
                              a: queries + column * stride, lda: width * stride,
                              b: widthTable + column * width * headDimension, ldb: headDimension,
                              c: widthBias + column * width, ldc: width * width)
                }
                addBias(logits, heightBias: heightBias, widthBias: widthBias, rows: rows, height: height, width: width)
                RowKernels.softmaxInPlace(logits, rows: rows, width: tokens)
                BLAS.gemm(m: rows, n: headDimension, k: tokens, a: logits, lda: tokens, b: base + 2 * modelWidth, ldb: stride,
                          c: output + (sequence * tokens + firstGridRow * width) * modelWidth + head * headDimension, ldc: modelWidth)
            }
        }
    }

    /// `logits[r, kh·width + kw] += heightBias[r, kh] + widthBias[r, kw]`.
    private static func addBias(_ logits: UnsafeMutablePointer<Float>, heightBias: UnsafePointer<Float>, widthBias: UnsafePointer<Float>,
                                rows: Int, height: Int, width: Int) {
        for row in 0..<rows {
            let widthRow = widthBias + row * width
            for kh in 0..<height {
                let bias = heightBias[row * height + kh]
                let target = logits + (row * height + kh) * width
                for kw in 0..<width { target[kw] += bias + widthRow[kw] }
            }
        }
    }
}
