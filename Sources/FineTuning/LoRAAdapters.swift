import Backpropagation
import Layers
import Randomness
import TensorCore
import TensorKernels

/// LoRA on a model's Linears through the training passes' adapter hook: the Linear at key `k`
/// (`blocks.3.attn.qkv`) with an adapter gets the extra output `s·(dropout(x)·Aᵀ)·Bᵀ` (see `LoRALinear`), and its
/// trainable parameters have the keys `k.lora_A.weight` `[r, in]` and `k.lora_B.weight` `[out, r]`.
///
/// Dropout: with `dropoutSeed` set (a training step), the mask of the Linear at `k` draws from a generator seeded
/// by `(dropoutSeed, k)`, so recomputed blocks get the same masks; with nil (evaluation) there is no dropout.
public struct LoRAAdapters: LinearAdapters {
    /// The adapters by Linear key.
    public var adapters: [String: LoRALinear]
    /// The seed of this step's dropout masks; nil for evaluation.
    public var dropoutSeed: UInt64?

    public init(adapters: [String: LoRALinear], dropoutSeed: UInt64? = nil) {
        self.adapters = adapters
        self.dropoutSeed = dropoutSeed
    }

    /// Fresh adapters (`A` Kaiming-uniform, `B` zero, as `LoRALinear.init(base:configuration:generator:)`) on the
    /// Linears of `model` chosen by `configuration.targets` (`LoRATarget.select`), drawn in the model's key order.
    /// Throws when a target pattern matches no Linear weight.
    public init(model: some ParameterContainer, configuration: LoRAConfiguration, generator: inout SeededGenerator) throws {
        let named = model.namedParameters()
        let parameters = Dictionary(named, uniquingKeysWith: { first, _ in first })
        let targets = try LoRATarget.select(configuration.targets, among: named.map { ($0.key, $0.value.shape) })
        var adapters: [String: LoRALinear] = [:]
        for target in targets {
            let base = Linear(weight: parameters[target.module + ".weight"]!, bias: parameters[target.module + ".bias"])
            adapters[target.module] = LoRALinear(base: base, configuration: configuration, generator: &generator)
        }
        self.init(adapters: adapters)
    }

    /// The key of `A` of the Linear at `module`: `module.lora_A.weight`.
    public static func aKey(_ module: String) -> String { module + ".lora_A.weight" }
    /// The key of `B` of the Linear at `module`: `module.lora_B.weight`.
    public static func bKey(_ module: String) -> String { module + ".lora_B.weight" }

    /// Every `A` and `B` by key, sorted by key (the order of an optimiser's parameter list).
    public var parameters: [(key: String, value: Tensor)] {
        adapters.flatMap { [(Self.aKey($0.key), $0.value.a), (Self.bKey($0.key), $0.value.b)] }.sorted { $0.key < $1.key }
    }

    /// Replaces `A`s and `B`s by key (an optimiser's step); throws on a key of no adapter or a shape that differs.
    public mutating func update(_ parameters: [String: Tensor]) throws {
        for (key, value) in parameters {
            let isA = key.hasSuffix(".lora_A.weight")
            let module = String(key.dropLast(".lora_A.weight".count))
            guard isA || key.hasSuffix(".lora_B.weight"), let adapter = adapters[module] else {
                let examples = adapters.keys.sorted().prefix(2).map(Self.aKey).joined(separator: ", ")
                throw FineTuningError("'\(key)' is not the key of a LoRA A or B here (e.g. \(examples))")
            }
            adapters[module] = try LoRALinear(base: adapter.base, a: isA ? value : adapter.a, b: isA ? adapter.b : value,
                                              configuration: adapter.configuration)
        }
    }

    /// `model` with every adapted Linear's weight replaced by the merged `W + s·B·A` (`LoRALinear.merged()`).
    public func merged<Model: ParameterContainer>(into model: Model) -> Model {
        var merger = WeightReplacer(weights: Dictionary(uniqueKeysWithValues: adapters.map { ($0.key + ".weight", $0.value.merged().weight) }))
        var result = model
        result.visitParameters(&merger, scope: ParameterScope())
        return result
    }

    public func forward(key: String, input: Tensor, context: ComputeContext) throws -> (output: Tensor, cache: any Sendable)? {
        guard let adapter = adapters[key] else { return nil }
        var output = Tensor(shape: Array(input.shape.dropLast()) + [adapter.outFeatures])
        guard let cache = try forward(key: key, input: input, adding: &output, context: context) else { return nil }
        return (output, cache)
    }

    public func forward(key: String, input: Tensor, adding output: inout Tensor, context: ComputeContext) throws -> (any Sendable)? {
        guard let adapter = adapters[key] else { return nil }
        try adapter.requireInput(input)
        let expected = Array(input.shape.dropLast()) + [adapter.outFeatures]
        guard output.shape == expected else {
            throw FineTuningError("LoRA output at '\(key)' has shape \(describeShape(output.shape)); expected \(describeShape(expected))")
        }
        var generator = SeededGenerator(seed: Self.dropoutSeed(dropoutSeed ?? 0, key: key))
        let mask = dropoutSeed == nil ? nil : adapter.dropoutMask(shape: input.shape, generator: &generator, context: context)
        return adapter.forward(input, dropoutMask: mask, addingInto: &output, context: context)
    }

    public func backward(key: String, outputGradient: Tensor, cache: any Sendable,
                         context: ComputeContext) throws -> (input: Tensor, parameters: [String: Tensor]) {
        var input = try Tensor(shape: lora(key, cache: cache).cache.input.shape)
        let parameters = try backward(key: key, outputGradient: outputGradient, cache: cache, addingInputGradientTo: &input, context: context)
        return (input, parameters)
    }

    public func backward(key: String, outputGradient: Tensor, cache: any Sendable, addingInputGradientTo inputGradient: inout Tensor,
                         context: ComputeContext) throws -> [String: Tensor] {
        let (adapter, cache) = try lora(key, cache: cache)
        try adapter.requireOutputGradient(outputGradient, cache: cache)
        guard inputGradient.shape == cache.input.shape else {
            throw FineTuningError("LoRA input gradient at '\(key)' has shape \(describeShape(inputGradient.shape)); expected \(describeShape(cache.input.shape))")
        }
        let result = adapter.updateBackward(outputGradient, cache: cache, addingInputGradientTo: &inputGradient, context: context)
        return [Self.aKey(key): result.a, Self.bKey(key): result.b]
    }

    /// The adapter at `key` and its cache; throws when either is missing or of another kind.
    func lora(_ key: String, cache: any Sendable) throws -> (adapter: LoRALinear, cache: LoRALinear.TrainingCache) {
        guard let adapter = adapters[key], let cache = cache as? LoRALinear.TrainingCache else {
            throw FineTuningError("no LoRA adapter, or a cache of another kind, at '\(key)'")
        }
        return (adapter, cache)
    }

    /// The seed of the dropout generator of the Linear at `key` in the step seeded `seed`: FNV-1a of the key mixed
    /// with the step seed (SplitMix64 then decorrelates neighbouring seeds).
    static func dropoutSeed(_ seed: UInt64, key: String) -> UInt64 {
        let hash = key.utf8.reduce(0xcbf2_9ce4_8422_2325 as UInt64) { ($0 ^ UInt64($1)) &* 0x100_0000_01b3 }
        return hash ^ (seed &* 0x9e37_79b9_7f4a_7c15)
    }
}

/// Replaces parameters by key.
struct WeightReplacer: ParameterVisitor {
    let weights: [String: Tensor]
    mutating func visit(_ key: String, _ parameter: inout Tensor) {
        if let weight = weights[key] { parameter = weight }
    }
}
