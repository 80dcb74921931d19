import Layers
import TensorCore
import TensorKernels

extension FeedForward {
    /// What `backward` needs: the caches of the two Linears and of the activation between them. The MLP keeps only
    /// the GELU's input `h` `[rows, hidden]` and `fc2`'s adapter cache: `fc2`'s input `GELU(h)` is recomputed in the
    /// backward pass (the same kernel, so the same values), which saves a `[rows, hidden]` tensor per block.
    public enum TrainingCache: Sendable {
        case mlp(fc1: Linear.TrainingCache, activation: GELU.TrainingCache, fc2Adapter: LinearAdapterCache?)
        case swiGLU(w12: Linear.TrainingCache, gate: SwiGLUGate.TrainingCache, w3: Linear.TrainingCache)
    }

    /// `[..., D]` → `[..., D]`: `fc2(GELU(fc1(x)))` (exact GELU only: a quick-GELU MLP throws) or `w3(silu(x₁) ⊙ x₂)` with `[x₁ | x₂] = w12(x)`.
    /// `scope` is the feed-forward's key (`blocks.3.mlp`) and adapters.
    public func forward(_ x: Tensor, scope: LinearScope = LinearScope(), context: ComputeContext) throws -> (output: Tensor, cache: TrainingCache) {
        switch self {
        case let .mlp(fc1, fc2, activation):
            guard activation == .gelu else {
                throw BackpropagationError("training supports the exact-GELU MLP only; this feed-forward uses \(activation)")
            }
            let hidden = try fc1.forward(x, scope: scope.child("fc1"), context: context)
            let activated = GELU.forward(hidden.output, context: context)
            let output = try fc2.forward(activated.output, scope: scope.child("fc2"), context: context)
            return (output.output, .mlp(fc1: hidden.cache, activation: activated.cache, fc2Adapter: output.cache.adapter))
        case let .swiGLU(w12, w3):
            let fused = try w12.forward(x, scope: scope.child("w12"), context: context)
            let gated = try SwiGLUGate.forward(fused.output, context: context)
            let output = try w3.forward(gated.output, scope: scope.child("w3"), context: context)
            return (output.output, .swiGLU(w12: fused.cache, gate: gated.cache, w3: output.cache))
        }
    }

    /// The chain rule through the three steps in reverse; the parameter gradients come back as a `FeedForward`
    /// of the same kind (`fc1`/`fc2` or `w12`/`w3` holding `dW`, `db`).
    public func backward(_ outputGradient: Tensor, cache: TrainingCache, context: ComputeContext) throws -> (input: Tensor, parameters: FeedForward) {
        var adapterGradients: [String: Tensor] = [:]
        return try backward(outputGradient, cache: cache, adapterGradients: &adapterGradients, context: context)
    }

    /// As `backward(_:cache:context:)`, storing the gradients of adapters' parameters by key into `adapterGradients`.
    /// `gradients` (the feed-forward's scope, `blocks.3.mlp`) says which parameter gradients are computed.
    public func backward(_ outputGradient: Tensor, cache: TrainingCache, adapterGradients: inout [String: Tensor],
                         gradients scope: GradientScope = .all, context: ComputeContext) throws -> (input: Tensor, parameters: FeedForward) {
        switch (self, cache) {
        case let (.mlp(fc1, fc2, activation), .mlp(fc1Cache, activationCache, fc2Adapter)):
            let fc2Cache = Linear.TrainingCache(input: GELU.forward(activationCache.input, context: context).output, adapter: fc2Adapter)
            let second = try fc2.backward(outputGradient, cache: fc2Cache, adapterGradients: &adapterGradients, gradients: scope.child("fc2"),
                                   context: context)
            let activated = try GELU.backward(second.input, cache: activationCache, context: context)
            let first = try fc1.backward(activated, cache: fc1Cache, adapterGradients: &adapterGradients, gradients: scope.child("fc1"),
                                   context: context)
            return (first.input, .mlp(fc1: first.parameters, fc2: second.parameters, activation: activation))
        case let (.swiGLU(w12, w3), .swiGLU(w12Cache, gateCache, w3Cache)):
            let output = try w3.backward(outputGradient, cache: w3Cache, adapterGradients: &adapterGradients, gradients: scope.child("w3"),
                                   context: context)
            let gated = try SwiGLUGate.backward(output.input, cache: gateCache, context: context)
            let fused = try w12.backward(gated, cache: w12Cache, adapterGradients: &adapterGradients, gradients: scope.child("w12"),
                                   context: context)
            return (fused.input, .swiGLU(w12: fused.parameters, w3: output.parameters))
        default:
            throw BackpropagationError("feed-forward cache of another kind (\(cache)) than the layer")
        }
    }
}
