import TensorCore
import TensorKernels

/// Trainable additions to some of a model's Linears (LoRA, for one): for the Linear at `key`
/// (`blocks.3.attn.qkv`), `y = x·Wᵀ + b + adapterOutput(x)`. The training passes call `forward` for every Linear
/// and `backward` for those whose `forward` returned an output.
///
/// `forward` must be a pure function of its arguments and the adapters' state (draw dropout from a generator
/// seeded by the key, not from shared state), so that recomputed blocks get identical caches.
public protocol LinearAdapters: Sendable {
    /// The extra output `[..., out]` for the input `[..., in]` of the Linear at `key`, and what `backward` needs;
    /// nil when no adapter acts on that Linear.
    func forward(key: String, input: Tensor, context: ComputeContext) throws -> (output: Tensor, cache: any Sendable)?

    /// From the gradient of the Linear's output `[..., out]`: the adapter's part of the input gradient `[..., in]`
    /// (added to `dy·W`) and the gradients of its parameters by key (`blocks.3.attn.qkv.lora_A.weight`).
    func backward(key: String, outputGradient: Tensor, cache: any Sendable,
                  context: ComputeContext) throws -> (input: Tensor, parameters: [String: Tensor])

    /// As `forward(key:input:context:)`, adding the extra output into `output` (the Linear's `[..., out]`) and
    /// returning only the cache. The default adds the output of `forward`; adapters may add in place.
    func forward(key: String, input: Tensor, adding output: inout Tensor, context: ComputeContext) throws -> (any Sendable)?

    /// As `backward(key:outputGradient:cache:context:)`, adding the input gradient into `inputGradient` `[..., in]` and
    /// returning the parameter gradients. The default adds the input gradient of `backward`.
    func backward(key: String, outputGradient: Tensor, cache: any Sendable, addingInputGradientTo inputGradient: inout Tensor,
                  context: ComputeContext) throws -> [String: Tensor]
}

extension LinearAdapters {
    public func forward(key: String, input: Tensor, adding output: inout Tensor, context: ComputeContext) throws -> (any Sendable)? {
        guard let adapted = try forward(key: key, input: input, context: context) else { return nil }
        try BackpropagationError.require(adapted.output, shape: output.shape, "adapter output at \(key)")
        output = GradientKernels.sum(output, adapted.output, context: context)
        return adapted.cache
    }

    public func backward(key: String, outputGradient: Tensor, cache: any Sendable, addingInputGradientTo inputGradient: inout Tensor,
                         context: ComputeContext) throws -> [String: Tensor] {
        let adapted = try backward(key: key, outputGradient: outputGradient, cache: cache, context: context)
        try BackpropagationError.require(adapted.input, shape: inputGradient.shape, "adapter input gradient at \(key)")
        inputGradient = GradientKernels.sum(inputGradient, adapted.input, context: context)
        return adapted.parameters
    }
}

/// Where a layer sits in the model, as a checkpoint key prefix (`blocks.3.attn`), and the adapters, if any,
/// acting on its Linears.
public struct LinearScope: Sendable {
    /// The module key; empty at the model's root.
    public let key: String
    public let adapters: (any LinearAdapters)?

    public init(key: String = "", adapters: (any LinearAdapters)? = nil) {
        self.key = key
        self.adapters = adapters
    }

    /// The scope of the sub-module `name` (`blocks.3` → `blocks.3.attn`); without adapters the key is not needed
    /// and stays as it is.
    public func child(_ name: String) -> LinearScope {
        guard adapters != nil else { return self }
        return LinearScope(key: key.isEmpty ? name : key + "." + name, adapters: adapters)
    }
}

/// An adapter's cache, kept in the `Linear` cache beside its input.
public struct LinearAdapterCache: Sendable {
    /// The Linear's key.
    public let key: String
    public let adapters: any LinearAdapters
    public let cache: any Sendable
}
