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

    /// Takes the tokens by value: when the caller hands over its only reference (`block(consume x, …)`),
    /// the residual updates write in place instead of copying.
    public func callAsFunction(_ input: consuming Tensor, context: ComputeContext) -> Tensor {
        var x = input
        let attended = attention(norm1(x, context: context), context: context)
        Self.addResidual(&x, attended, gamma: layerScale1, context: context)
        let fed = feedForward(norm2(x, context: context), context: context)
        Self.addResidual(&x, fed, gamma: layerScale2, context: context)
        return x
    }

    /// `x += gamma ⊙ update` row by row (gamma = 1 when nil).
    static func addResidual(_ x: inout Tensor, _ update: Tensor, gamma: Tensor?, context: ComputeContext) {
        let width = x.shape[x.rank - 1]
        let rows = x.count / width
        x.withUnsafeMutableBufferPointer { target in
            update.withUnsafeBufferPointer { source in
                let t = target.baseAddress!, s = source.baseAddress!
                let g = gamma?.storage.pointer
                context.parallelRanges(rows, minimumChunk: 16) { range in
                    RowKernels.addScaled(t + range.lowerBound * width, s + range.lowerBound * width, rows: range.count, width: width, gamma: g)
                }
            }
        }
        withExtendedLifetime(gamma) {}
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
