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
        return Tensor(uninitializedShape: [batch, tokens, width]) { out in
            x.withUnsafeBufferPointer { apply($0.baseAddress!, batch: batch, tokens: tokens, into: out.baseAddress!, context: context) }
        }
    }

    /// `input` `[batch·tokens, D]` → `output` `[batch·tokens, D]` (single-threaded unless a context is given).
    public func apply(_ input: UnsafePointer<Float>, batch: Int, tokens: Int, into output: UnsafeMutablePointer<Float>,
                      context: ComputeContext = .serial) {
        let rows = batch * tokens, width = proj.outFeatures
        let fused = UnsafeMutablePointer<Float>.allocate(capacity: rows * 3 * width) // [B·N, 3D]
        let mixed = UnsafeMutablePointer<Float>.allocate(capacity: rows * width) // [B·N, D]
        defer { fused.deallocate(); mixed.deallocate() }
        qkv.apply(input, rows: rows, into: fused, context: context)
        MatrixKernels.attention(qkv: fused, batch: batch, tokens: tokens, heads: heads, headDim: width / heads,
                                into: mixed, context: context)
        proj.apply(mixed, rows: rows, into: output, context: context)
    }

    public mutating func visitParameters<V: ParameterVisitor>(_ visitor: inout V, scope: ParameterScope) {
        qkv.visitParameters(&visitor, scope: scope.scope("qkv"))
        proj.visitParameters(&visitor, scope: scope.scope("proj"))
    }
}
