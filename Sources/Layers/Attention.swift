import TensorCore
import TensorKernels

/// DINOv2 multi-head self-attention: fused `qkv` Linear(D, 3D) with bias, per-head
/// `softmax(Q·Kᵀ / sqrt(D/H))·V` (`mixHeads`), then `proj` Linear(D, D). Tokens `[B, N, D]` → `[B, N, D]`;
/// `TransformerBlock` runs the three steps, fusing them with its norms and residuals.
public struct Attention: ParameterContainer, Sendable {
    public var qkv: Linear
    public var proj: Linear
    public let heads: Int

    public init(width: Int, heads: Int) {
        precondition(width % heads == 0, "width \(width) is not divisible by \(heads) heads")
        qkv = Linear(inFeatures: width, outFeatures: 3 * width)
        proj = Linear(inFeatures: width, outFeatures: width)
        self.heads = heads
    }

    /// The attention between the two projections: fused QKV `[batch·tokens, 3D]` → mixed heads
    /// `[batch·tokens, D]` (`MatrixKernels.attention`).
    public func mixHeads(_ fused: UnsafePointer<Float>, batch: Int, tokens: Int, into mixed: UnsafeMutablePointer<Float>,
                         context: ComputeContext) {
        let width = proj.outFeatures
        MatrixKernels.attention(qkv: fused, batch: batch, tokens: tokens, heads: heads, headDim: width / heads,
                                into: mixed, context: context)
    }

    public mutating func visitParameters<V: ParameterVisitor>(_ visitor: inout V, scope: ParameterScope) {
        qkv.visitParameters(&visitor, scope: scope.scope("qkv"))
        proj.visitParameters(&visitor, scope: scope.scope("proj"))
    }
}
