import TensorCore
import TensorKernels

/// DINOv2 multi-head self-attention: fused `qkv` Linear(D, 3D) with bias, per-head
/// `softmax(Q·Kᵀ / sqrt(D/H))·V`, then `proj` Linear(D, D). Tokens `[B, N, D]` → `[B, N, D]`.
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

    public func callAsFunction(_ x: Tensor, context: ComputeContext) -> Tensor {
        let (batch, tokens, width) = (x.shape[0], x.shape[1], x.shape[2])
        let fused = qkv(x, context: context) // [B, N, 3D]
        let mixed = Tensor(uninitializedShape: [batch, tokens, width]) { out in
            fused.withUnsafeBufferPointer { q in
                MatrixKernels.attention(qkv: q.baseAddress!, batch: batch, tokens: tokens, heads: heads,
                                        headDim: width / heads, into: out.baseAddress!, context: context)
            }
        }
        return proj(mixed, context: context)
    }

    public mutating func visitParameters<V: ParameterVisitor>(_ visitor: inout V, scope: ParameterScope) {
        qkv.visitParameters(&visitor, scope: scope.scope("qkv"))
        proj.visitParameters(&visitor, scope: scope.scope("proj"))
    }
}
