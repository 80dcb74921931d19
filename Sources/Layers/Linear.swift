import TensorCore
import TensorKernels

/// `torch.nn.Linear`: `y[M, out] = x[M, in] · weightᵀ + bias`.
public struct Linear: ParameterContainer, Sendable {
    public var weight: Tensor // [out, in]
    public var bias: Tensor? // [out]

    public init(inFeatures: Int, outFeatures: Int, bias: Bool = true) {
        weight = Tensor(shape: [outFeatures, inFeatures])
        self.bias = bias ? Tensor(shape: [outFeatures]) : nil
    }

    /// A layer over existing parameters: `weight` `[out, in]`, `bias` `[out]`.
    public init(weight: Tensor, bias: Tensor?) {
        precondition(weight.rank == 2 && (bias == nil || bias!.shape == [weight.shape[0]]), "Linear: weight \(weight.shape), bias \(bias?.shape ?? [])")
        self.weight = weight
        self.bias = bias
    }

    public var inFeatures: Int { weight.shape[1] }
    public var outFeatures: Int { weight.shape[0] }

    /// `x` `[..., in]` → `[..., out]`, rows spread over the context's workers.
    public func callAsFunction(_ x: Tensor, context: ComputeContext) -> Tensor {
        precondition(x.shape.last == inFeatures, "Linear expects last dimension \(inFeatures), got \(x.shape)")
        return Tensor(uninitializedShape: Array(x.shape.dropLast()) + [outFeatures]) { y in
            x.withUnsafeBufferPointer { apply($0.baseAddress!, rows: x.count / inFeatures, into: y.baseAddress!, context: context) }
        }
    }

    /// `input` `[rows, in]` → `output` `[rows, out]` (single-threaded unless a context is given).
    public func apply(_ input: UnsafePointer<Float>, rows: Int, into output: UnsafeMutablePointer<Float>, context: ComputeContext = .serial) {
        MatrixKernels.linear(input, rows: rows, inFeatures: inFeatures, weight: weight.storage.pointer,
                             bias: bias.map { UnsafePointer($0.storage.pointer) }, outFeatures: outFeatures, into: output, context: context)
    }

    public mutating func visitParameters<V: ParameterVisitor>(_ visitor: inout V, scope: ParameterScope) {
        visitor.visit(scope.key("weight"), &weight)
        if bias != nil { visitor.visit(scope.key("bias"), &bias!) }
    }
}
