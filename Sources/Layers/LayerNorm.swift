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

    /// `x` `[..., D]` → `[..., D]`.
    public func callAsFunction(_ x: Tensor, context: ComputeContext) -> Tensor {
        let width = weight.count
        precondition(x.shape.last == width, "LayerNorm expects last dimension \(width), got \(x.shape)")
        return Tensor(uninitializedShape: x.shape) { y in
            x.withUnsafeBufferPointer { input in
                weight.withUnsafeBufferPointer { w in
                    bias.withUnsafeBufferPointer { b in
                        RowKernels.layerNorm(input.baseAddress!, into: y.baseAddress!, rows: x.count / width, width: width,
                                             weight: w.baseAddress!, bias: b.baseAddress!, eps: eps, context: context)
                    }
                }
            }
        }
    }

    public mutating func visitParameters<V: ParameterVisitor>(_ visitor: inout V, scope: ParameterScope) {
        visitor.visit(scope.key("weight"), &weight)
        visitor.visit(scope.key("bias"), &bias)
    }
}
