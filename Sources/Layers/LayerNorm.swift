import TensorCore
import TensorKernels

/// `torch.nn.LayerNorm` over the last dimension: `(x − mean)/sqrt(var + eps) · weight + bias`.
public struct LayerNorm: ParameterContainer, Sendable {
    public var weight: Tensor // [D]
    public var bias: Tensor // [D]
    public let eps: Float

    public init(width: Int, eps: Float = 1e-6) {
        weight = Tensor(shape: [width], repeating: 1)
        bias = Tensor(shape: [width])
        self.eps = eps
    }

    /// `x` `[..., D]` → `[..., D]`, rows spread over the context's workers.
    public func callAsFunction(_ x: Tensor, context: ComputeContext) -> Tensor {
        precondition(x.shape.last == weight.count, "LayerNorm expects last dimension \(weight.count), got \(x.shape)")
        return Tensor(uninitializedShape: x.shape) { y in
            x.withUnsafeBufferPointer { apply($0.baseAddress!, rows: x.count / weight.count, into: y.baseAddress!, context: context) }
        }
    }

    /// `input` `[rows, D]` → `output` `[rows, D]` (single-threaded unless a context is given).
    public func apply(_ input: UnsafePointer<Float>, rows: Int, into output: UnsafeMutablePointer<Float>, context: ComputeContext = .serial) {
        RowKernels.layerNorm(input, into: output, rows: rows, width: weight.count, weight: weight.storage.pointer,
                             bias: bias.storage.pointer, eps: eps, context: context)
    }

    public mutating func visitParameters<V: ParameterVisitor>(_ visitor: inout V, scope: ParameterScope) {
        visitor.visit(scope.key("weight"), &weight)
        visitor.visit(scope.key("bias"), &bias)
    }
}
