import Layers
import TensorCore
import TensorKernels

extension TransformerBlock {
    /// What `backward` needs: the caches of the two residual branches.
    public struct TrainingCache: Sendable {
        public let norm1: LayerNorm.TrainingCache
        public let attention: Attention.TrainingCache
        public let layerScale1: LayerScale.TrainingCache?
        public let norm2: LayerNorm.TrainingCache
        public let feedForward: FeedForward.TrainingCache
        public let layerScale2: LayerScale.TrainingCache?
    }

    /// Tokens `[B, N, D]` → `[B, N, D]`: `x₁ = x + ls1 ⊙ attn(norm1(x))`, `y = x₁ + ls2 ⊙ ffn(norm2(x₁))`.
    /// `scope` is the block's key (`blocks.3`) and adapters.
    public func forward(_ x: Tensor, scope: LinearScope = LinearScope(), context: ComputeContext) throws -> (output: Tensor, cache: TrainingCache) {
        let normed1 = try norm1.forward(x, context: context)
        let attended = try attention.forward(normed1.output, scope: scope.child("attn"), context: context)
        let x1 = GradientKernels.addScaled(x, attended.output, gamma: layerScale1, context: context)
        let normed2 = try norm2.forward(x1, context: context)
        let fed = try feedForward.forward(normed2.output, scope: scope.child("mlp"), context: context)
        let output = GradientKernels.addScaled(x1, fed.output, gamma: layerScale2, context: context)
        return (output, TrainingCache(norm1: normed1.cache, attention: attended.cache, layerScale1: layerScale1.map { _ in .init(input: attended.output) },
                                      norm2: normed2.cache, feedForward: fed.cache, layerScale2: layerScale2.map { _ in .init(input: fed.output) }))
    }

    /// `dx₁ = dy + norm2ᵀ(ffnᵀ(ls2 ⊙ dy))`, `dx = dx₁ + norm1ᵀ(attnᵀ(ls1 ⊙ dx₁))` (ᵀ: each layer's backward);
    /// the parameter gradients come back as a `TransformerBlock` (keys `norm1`, `attn`, `ls1.gamma`, …).
    public func backward(_ outputGradient: Tensor, cache: TrainingCache, context: ComputeContext) throws -> (input: Tensor, parameters: TransformerBlock) {
        var adapterGradients: [String: Tensor] = [:]
        return try backward(outputGradient, cache: cache, adapterGradients: &adapterGradients, context: context)
    }

    /// As `backward(_:cache:context:)`, storing the gradients of adapters' parameters by key into `adapterGradients`.
    /// `gradients` (the block's scope, `blocks.3`) says which parameter gradients are computed.
    public func backward(_ outputGradient: Tensor, cache: TrainingCache, adapterGradients: inout [String: Tensor],
                         gradients scope: GradientScope = .all, context: ComputeContext) throws -> (input: Tensor, parameters: TransformerBlock) {
        try BackpropagationError.require(outputGradient, shape: cache.norm1.input.shape, "block output gradient")
        var gradients = self
        let branch2 = try Self.scaleBackward(outputGradient, gamma: layerScale2, cache: cache.layerScale2, scope: scope.child("ls2"), context: context)
        gradients.layerScale2 = branch2.gamma
        let fed = try feedForward.backward(branch2.input, cache: cache.feedForward, adapterGradients: &adapterGradients,
                                           gradients: scope.child("mlp"), context: context)
        gradients.feedForward = fed.parameters
        let normed2 = try norm2.backward(fed.input, cache: cache.norm2, gradients: scope.child("norm2"), adding: outputGradient, context: context)
        gradients.norm2 = normed2.parameters
        let x1Gradient = normed2.input
        let branch1 = try Self.scaleBackward(x1Gradient, gamma: layerScale1, cache: cache.layerScale1, scope: scope.child("ls1"), context: context)
        gradients.layerScale1 = branch1.gamma
        let attended = try attention.backward(branch1.input, cache: cache.attention, adapterGradients: &adapterGradients,
                                              gradients: scope.child("attn"), context: context)
        gradients.attention = attended.parameters
        let normed1 = try norm1.backward(attended.input, cache: cache.norm1, gradients: scope.child("norm1"), adding: x1Gradient, context: context)
        gradients.norm1 = normed1.parameters
        return (normed1.input, gradients)
    }

    /// LayerScale backward when the block has one, else the identity.
    static func scaleBackward(_ gradient: Tensor, gamma: Tensor?, cache: LayerScale.TrainingCache?, scope: GradientScope,
                              context: ComputeContext) throws -> (input: Tensor, gamma: Tensor?) {
        guard let gamma, let cache else { return (gradient, nil) }
        let result = try LayerScale.backward(gradient, gamma: gamma, cache: cache, gradients: scope, context: context)
        return (result.input, result.gamma)
    }
}
