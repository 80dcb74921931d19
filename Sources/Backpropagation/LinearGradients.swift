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
        let output = self(x, context: context)
        guard let adapters = scope.adapters, let adapted = try adapters.forward(key: scope.key, input: x, context: context) else {
            return (output, TrainingCache(input: x, adapter: nil))
        }
        try BackpropagationError.require(adapted.output, shape: output.shape, "adapter output at \(scope.key)")
        return (GradientKernels.sum(output, adapted.output),
                TrainingCache(input: x, adapter: LinearAdapterCache(key: scope.key, adapters: adapters, cache: adapted.cache)))
    }

    /// From `dy` `[..., out]`: `dx = dy · W` `[..., in]`, and a `Linear` holding
    /// `dW = dyᵀ · x` `[out, in]` and `db = Σ_rows dy` `[out]` (rows = all leading dimensions).
    /// (An adapter's gradients are dropped here; use the overload that collects them.)
    public func backward(_ outputGradient: Tensor, cache: TrainingCache, context: ComputeContext) throws -> (input: Tensor, parameters: Linear) {
        var adapterGradients: [String: Tensor] = [:]
        return try backward(outputGradient, cache: cache, adapterGradients: &adapterGradients, context: context)
    }

    /// As `backward(_:cache:context:)`, plus, when an adapter acted in the forward pass, its input gradient added to
    /// `dx` and its parameter gradients stored by key into `adapterGradients`.
    public func backward(_ outputGradient: Tensor, cache: TrainingCache, adapterGradients: inout [String: Tensor],
                         context: ComputeContext) throws -> (input: Tensor, parameters: Linear) {
        try BackpropagationError.require(outputGradient, shape: cache.input.shape.dropLast() + [outFeatures], "Linear output gradient")
        let gradients = GradientKernels.linearBackward(outputGradient: outputGradient, input: cache.input, weight: weight,
                                                       hasBias: bias != nil, context: context)
        let parameters = Linear(weight: gradients.weight, bias: gradients.bias)
        guard let adapter = cache.adapter else { return (gradients.input!, parameters) }
        let adapted = try adapter.adapters.backward(key: adapter.key, outputGradient: outputGradient, cache: adapter.cache, context: context)
        try BackpropagationError.require(adapted.input, shape: cache.input.shape, "adapter input gradient at \(adapter.key)")
        adapterGradients.merge(adapted.parameters) { _, new in new }
        return (GradientKernels.sum(gradients.input!, adapted.input), parameters)
    }
}
