import TensorCore
import TensorKernels

/// A pre-norm ViT block as in DINOv2 (`NestedTensorBlock` at inference):
/// `x += ls1 ⊙ attn(norm1(x))`, then `x += ls2 ⊙ ffn(norm2(x))`; tokens `[B, N, D]` → `[B, N, D]`.
/// LayerScale `gamma` `[D]` is optional (checkpoints trained without it have no `ls1`/`ls2` keys).
public struct TransformerBlock: ParameterContainer, Sendable {
    public var norm1: LayerNorm
    public var attention: Attention
    public var layerScale1: Tensor? // [D]
    public var norm2: LayerNorm
    public var feedForward: FeedForward
    public var layerScale2: Tensor? // [D]

    public init(width: Int, heads: Int, feedForward kind: FeedForward.Kind, layerScale: Bool, eps: Float = 1e-6) {
        norm1 = LayerNorm(width: width, eps: eps)
        attention = Attention(width: width, heads: heads)
        norm2 = LayerNorm(width: width, eps: eps)
        feedForward = FeedForward(width: width, kind: kind)
        layerScale1 = layerScale ? Tensor(shape: [width], repeating: 1) : nil
        layerScale2 = layerScale ? Tensor(shape: [width], repeating: 1) : nil
    }

    /// Most rows of tokens the feed-forward half processes at a time per worker: its hidden activations
    /// (`rows × 4D` floats, a few MB) then stay in cache between the two matrix products. A worker's rows
    /// are cut into equal blocks of at most this many; fewer, larger blocks mean the GEMM repacks the
    /// weights less often (measured: 640 beat 128 by 6–10 % on ViT-S/B, a whole 224² image in one block).
    public static let feedForwardRowBlock = 640

    /// Takes the tokens by value: when the caller hands over its only reference (`block(consume x, …)`),
    /// the residual updates write in place instead of copying.
    ///
    /// With at least one image per worker, each worker runs the whole block on whole images, so an
    /// image's intermediate tensors stay in its core's cache. Smaller batches are spread inside the
    /// block in three parallel steps: norm1 → QKV by rows; attention by heads and query blocks; and
    /// proj → residual → norm2 → feed-forward → residual by rows.
    public func callAsFunction(_ input: consuming Tensor, context: ComputeContext) -> Tensor {
        var x = input
        let (batch, tokensPerImage, width) = (x.shape[0], x.shape[1], x.shape[2])
        x.withUnsafeMutableBufferPointer { buffer in
            let tokens = buffer.baseAddress!
            if batch >= context.threads {
                context.parallelRanges(batch) { images in
                    for image in images {
                        apply(tokens + image * tokensPerImage * width, batch: 1, tokens: tokensPerImage, width: width, context: .serial)
                    }
                }
            } else {
                apply(tokens, batch: batch, tokens: tokensPerImage, width: width, context: context)
            }
        }
        return x
    }

    /// The block on `batch` images of `tokens` rows at `x`, in place.
    func apply(_ x: UnsafeMutablePointer<Float>, batch: Int, tokens: Int, width: Int, context: ComputeContext) {
        let rows = batch * tokens
        let fused = UnsafeMutablePointer<Float>.allocate(capacity: rows * 3 * width) // [rows, 3D]
        let mixed = UnsafeMutablePointer<Float>.allocate(capacity: rows * width) // [rows, D]
        defer { fused.deallocate(); mixed.deallocate() }
        context.parallelRanges(rows, minimumChunk: 16) { range in
            let normed = UnsafeMutablePointer<Float>.allocate(capacity: range.count * width)
            defer { normed.deallocate() }
            norm1.apply(x + range.lowerBound * width, rows: range.count, into: normed)
            attention.qkv.apply(normed, rows: range.count, into: fused + range.lowerBound * 3 * width)
        }
        attention.mixHeads(fused, batch: batch, tokens: tokens, into: mixed, context: context)
        context.parallelRanges(rows, minimumChunk: 16) { range in
            let projected = UnsafeMutablePointer<Float>.allocate(capacity: range.count * width)
            defer { projected.deallocate() }
            attention.proj.apply(mixed + range.lowerBound * width, rows: range.count, into: projected)
            RowKernels.addScaled(x + range.lowerBound * width, projected, rows: range.count, width: width,
                                 gamma: layerScale1?.storage.pointer)
            feedForwardResidual(x, rows: range, width: width)
        }
    }

    /// `x += ls2 ⊙ ffn(norm2(x))` for `rows`, in equal blocks of at most `feedForwardRowBlock` rows.
    func feedForwardResidual(_ tokens: UnsafeMutablePointer<Float>, rows: Range<Int>, width: Int) {
        let blocks = (rows.count + Self.feedForwardRowBlock - 1) / Self.feedForwardRowBlock
        let block = (rows.count + blocks - 1) / max(blocks, 1)
        let normed = UnsafeMutablePointer<Float>.allocate(capacity: block * width)
        let output = UnsafeMutablePointer<Float>.allocate(capacity: block * width)
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: block * feedForward.scratchWidth)
        defer { normed.deallocate(); output.deallocate(); scratch.deallocate() }
        for start in stride(from: rows.lowerBound, to: rows.upperBound, by: max(block, 1)) {
            let count = min(block, rows.upperBound - start)
            let rowsStart = tokens + start * width
            norm2.apply(rowsStart, rows: count, into: normed)
            feedForward.apply(normed, rows: count, into: output, scratch: scratch)
            RowKernels.addScaled(rowsStart, output, rows: count, width: width, gamma: layerScale2?.storage.pointer)
        }
    }

    public mutating func visitParameters<V: ParameterVisitor>(_ visitor: inout V, scope: ParameterScope) {
        norm1.visitParameters(&visitor, scope: scope.scope("norm1"))
        attention.visitParameters(&visitor, scope: scope.scope("attn"))
        if layerScale1 != nil { visitor.visit(scope.scope("ls1").key("gamma"), &layerScale1!) }
        norm2.visitParameters(&visitor, scope: scope.scope("norm2"))
        feedForward.visitParameters(&visitor, scope: scope.scope("mlp"))
        if layerScale2 != nil { visitor.visit(scope.scope("ls2").key("gamma"), &layerScale2!) }
    }
}
