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

    /// Rows of tokens the feed-forward half processes at a time per worker: its hidden activations
    /// (`rows × 4D` floats) then stay in the core's cache between the two matrix products.
    public static let feedForwardRowBlock = 128

    /// Takes the tokens by value: when the caller hands over its only reference (`block(consume x, …)`),
    /// the residual updates write in place instead of copying.
    public func callAsFunction(_ input: consuming Tensor, context: ComputeContext) -> Tensor {
        var x = input
        let (batch, tokensPerImage, width) = (x.shape[0], x.shape[1], x.shape[2])
        let rows = batch * tokensPerImage
        x.withUnsafeMutableBufferPointer { buffer in
            let tokens = buffer.baseAddress!
            if batch >= context.threads {
                // Whole images per worker: the image's normed tokens, QKV and mixed heads stay in cache.
                context.parallelRanges(batch) { images in
                    attentionResidual(tokens + images.lowerBound * tokensPerImage * width, batch: images.count,
                                      tokens: tokensPerImage, width: width, context: .serial)
                }
            } else {
                attentionResidual(tokens, batch: batch, tokens: tokensPerImage, width: width, context: context)
            }
            context.parallelRanges(rows, minimumChunk: 16) { range in
                feedForwardResidual(tokens, rows: range, width: width)
            }
        }
        return x
    }

    /// `x += ls1 ⊙ attn(norm1(x))` for `batch` images of `tokens` rows, one image at a time when serial.
    func attentionResidual(_ x: UnsafeMutablePointer<Float>, batch: Int, tokens: Int, width: Int, context: ComputeContext) {
        let imagesPerStep = context.threads == 1 ? 1 : batch
        let rows = imagesPerStep * tokens
        let normed = UnsafeMutablePointer<Float>.allocate(capacity: rows * width)
        let attended = UnsafeMutablePointer<Float>.allocate(capacity: rows * width)
        defer { normed.deallocate(); attended.deallocate() }
        for first in stride(from: 0, to: batch, by: imagesPerStep) {
            let images = x + first * tokens * width
            norm1.apply(images, rows: rows, into: normed, context: context)
            attention.apply(normed, batch: imagesPerStep, tokens: tokens, into: attended, context: context)
            context.parallelRanges(rows, minimumChunk: 16) { range in
                RowKernels.addScaled(images + range.lowerBound * width, attended + range.lowerBound * width,
                                     rows: range.count, width: width, gamma: layerScale1?.storage.pointer)
            }
        }
    }

    /// `x += ls2 ⊙ ffn(norm2(x))` for `rows`, a block of `feedForwardRowBlock` rows at a time.
    func feedForwardResidual(_ tokens: UnsafeMutablePointer<Float>, rows: Range<Int>, width: Int) {
        let block = Self.feedForwardRowBlock
        let normed = UnsafeMutablePointer<Float>.allocate(capacity: block * width)
        let output = UnsafeMutablePointer<Float>.allocate(capacity: block * width)
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: block * feedForward.scratchWidth)
        defer { normed.deallocate(); output.deallocate(); scratch.deallocate() }
        for start in stride(from: rows.lowerBound, to: rows.upperBound, by: block) {
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
