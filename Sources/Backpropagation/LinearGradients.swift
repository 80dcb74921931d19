import Layers
import TensorCore
import TensorKernels

extension Linear {
    /// What `backward` needs from `forward`: the input `[..., in]`.
    public struct TrainingCache: Sendable {
        public let input: Tensor
    }

    /// `y[..., out] = x[..., in] · Wᵀ + b`, keeping `x` for the backward pass.
    public func forward(_ x: Tensor, context: ComputeContext) throws -> (output: Tensor, cache: TrainingCache) {
        guard x.shape.last == inFeatures else {
            throw BackpropagationError("Linear expects inputs [..., \(inFeatures)], got \(describeShape(x.shape))")
        }
        return (self(x, context: context), TrainingCache(input: x))
    }

    /// From `dy` `[..., out]`: `dx = dy · W` `[..., in]`, and a `Linear` holding
    /// `dW = dyᵀ · x` `[out, in]` and `db = Σ_rows dy` `[out]` (rows = all leading dimensions).
    public func backward(_ outputGradient: Tensor, cache: TrainingCache, context: ComputeContext) throws -> (input: Tensor, parameters: Linear) {
        try BackpropagationError.require(outputGradient, shape: cache.input.shape.dropLast() + [outFeatures], "Linear output gradient")
        let gradients = GradientKernels.linearBackward(outputGradient: outputGradient, input: cache.input, weight: weight,
                                                       hasBias: bias != nil, context: context)
        return (gradients.input!, Linear(weight: gradients.weight, bias: gradients.bias))
    }
}
