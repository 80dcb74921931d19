import Layers
import TensorCore
import TensorKernels

extension Linear {
    /// What `backward` needs from `forward`: the input `[..., in]` and the adapter's cache, if one acted.
    public struct TrainingCache: Sendable {
        public let input: Tensor
        public let adapter: LinearAdapterCache?
    }

    /// `y[..., out] = x[..., in] · Wᵀ + b`, plus the output of the adapter at `scope.key` if there is one,
    /// keeping `x` for the backward pass.
    public func forward(_ x: Tensor, scope: LinearScope = LinearScope(),
                        context: ComputeContext) throws -> (output: Tensor, cache: TrainingCache) {
        guard x.shape.last == inFeatures else {
            throw BackpropagationError("Linear expects inputs [..., \(inFeatures)], got \(describeShape(x.shape))")
        }
        var output = self(x, context: context)
        guard let adapters = scope.adapters, let cache = try adapters.forward(key: scope.key, input: x, adding: &output, context: context) else {
            return (output, TrainingCache(input: x, adapter: nil))
        }
        return (output, TrainingCache(input: x, adapter: LinearAdapterCache(key: scope.key, adapters: adapters, cache: cache)))
    }

    /// From `dy` `[..., out]`: `dx = dy · W` `[..., in]`, and a `Linear` holding
    /// `dW = dyᵀ · x` `[out, in]` and `db = Σ_rows dy` `[out]` (rows = all leading dimensions).
    /// (An adapter's gradients are dropped here; use the overload that collects them.)
    public func backward(_ outputGradient: Tensor, cache: TrainingCache, context: ComputeContext) throws -> (input: Tensor, parameters: Linear) {
        var adapterGradients: [String: Tensor] = [:]
        return try backward(outputGradient, cache: cache, adapterGradients: &adapterGradients, context: context)
    }

    /// As `backward(_:cache:context:)`, plus, when an adapter acted in the forward pass, its input gradient added to
    /// `dx` and its parameter gradients stored by key into `adapterGradients`. `gradients` says whether `dW` and `db`
    /// are computed (zeros otherwise).
    public func backward(_ outputGradient: Tensor, cache: TrainingCache, adapterGradients: inout [String: Tensor],
                         gradients scope: GradientScope = .all, context: ComputeContext) throws -> (input: Tensor, parameters: Linear) {
        try BackpropagationError.require(outputGradient, shape: cache.input.shape.dropLast() + [outFeatures], "Linear output gradient")
        let gradients = GradientKernels.linearBackward(outputGradient: outputGradient, input: cache.input, weight: weight,
                                                       hasBias: bias != nil, scope: scope, context: context)
        let parameters = Linear(weight: gradients.weight, bias: gradients.bias)
        var input = gradients.input!
        guard let adapter = cache.adapter else { return (input, parameters) }
        let adapted = try adapter.adapters.backward(key: adapter.key, outputGradient: outputGradient, cache: adapter.cache,
                                                    addingInputGradientTo: &input, context: context)
        adapterGradients.merge(adapted) { _, new in new }
        return (input, parameters)
    }
}
