import Backpropagation
import FineTuning
import Layers
import Models
import Randomness
import TensorCore
import TensorKernels
import Training

/// A training step's loss or gradient norm was NaN or infinite; the parameters were left as they were before the
/// step. `step` is the 0-based index of the optimiser update that was refused.
public struct NonFiniteTrainingError: Error, CustomStringConvertible, Sendable, Equatable {
    public let step: Int
    /// `loss` or `gradient norm`.
    public let quantity: String
    public let value: Float

    public var description: String {
        "the \(quantity) became \(value) at optimiser step \(step + 1) (learning rate too high, or a non-finite input?)"
    }
}

/// A DINOv2 classifier being fine-tuned: the backbone, a linear head `[D → K]` on the final normed CLS token
/// (`logits = cls·Wᵀ + b`, `W` `[K, D]`), the LoRA adapters in `.lora` mode, and AdamW over the trainable
/// parameters in two groups (head, backbone) with a linear warm-up and cosine schedule.
///
/// Trainable parameters, in the optimiser's order: `head.weight`, `head.bias`, then the backbone's — every key but
/// `mask_token` (`.full`), every `….bias` (`.bitFit`), or the adapters' `….lora_A.weight`, `….lora_B.weight`
/// sorted by key (`.lora`, the backbone frozen). The rest never changes.
public struct FineTuner: Sendable {
    public let configuration: FineTuningConfiguration
    public let task: ClassificationTask
    /// Optimiser updates per epoch (the schedule's unit).
    public let stepsPerEpoch: Int
    /// The backbone, holding the current values of its trainable parameters.
    public private(set) var backbone: VisionTransformer
    /// The head `[K, D]` (weight) and `[K]` (bias).
    public private(set) var head: Linear
    /// The adapters in `.lora` mode.
    public private(set) var adapters: LoRAAdapters?
    /// Keys of the trainable parameters, in the optimiser's order.
    public let trainableKeys: [String]
    /// Trainable and total parameter counts (the head included in both).
    public let budget: ParameterBudget
    private var optimizer: AdamW
    private let trainableBackboneKeys: Set<String>
    /// The backbone parameter gradients the backward pass computes (frozen Linears skip their weight GEMMs).
    private let gradientSelection: GradientSelection

    /// The key prefix of the head's parameters in saved files (`head.weight`, `head.bias`).
    public static let headPrefix = "head."

    /// A fine-tuner for `classes` classes over `backbone`, taking `stepsPerEpoch` updates an epoch (the schedule
    /// spans `epochs × stepsPerEpoch` updates, the first `warmupEpochs × stepsPerEpoch` of them warming up linearly
    /// from `lr₀ / W`). The head starts as PyTorch's `nn.Linear` initialisation, every weight and bias
    /// `U(−1/√D, 1/√D)` drawn row-major (weight, then bias) from a generator seeded by the run's seed; LoRA `A`s
    /// likewise draw from their own derived seed (`B` zero). Other starting values go in with `restore`. Throws when a
    /// LoRA target matches no Linear (naming the pattern and some keys), BitFit finds no bias, or `classes` or
    /// `stepsPerEpoch` is below 1.
    public init(backbone: VisionTransformer, classes: Int, task: ClassificationTask, configuration: FineTuningConfiguration,
                stepsPerEpoch: Int) throws {
        guard classes >= 1 else { throw FineTuningError("a classifier needs at least one class, not \(classes)") }
        guard stepsPerEpoch >= 1 else { throw FineTuningError("an epoch needs at least one step, not \(stepsPerEpoch)") }
        let width = backbone.configuration.width
        self.configuration = configuration
        self.task = task
        self.stepsPerEpoch = stepsPerEpoch
        self.backbone = backbone
        head = Self.initialHead(classes: classes, width: width, seed: configuration.seed)

        let keys = backbone.parameterShapes().map(\.key)
        let backboneKeys: [String]
        let headCount = classes * width + classes
        switch configuration.mode {
        case .full:
            backboneKeys = keys.filter { $0 != "mask_token" }
            budget = ParameterBudget(trainable: ParameterBudget.full(backbone).trainable + headCount, total: backbone.parameterCount + headCount)
            adapters = nil
        case .bitFit:
            let frozen = try FrozenParameters.bitFit(among: keys)
            backboneKeys = frozen.trainableIndices(of: keys).map { keys[$0] }
            let bitFit = try ParameterBudget.bitFit(backbone)
            budget = ParameterBudget(trainable: bitFit.trainable + headCount, total: bitFit.total + headCount)
            adapters = nil
        case let .lora(lora):
            var generator = SeededGenerator(seed: SeedDerivation.derive(configuration.seed, .lora))
            let made = try LoRAAdapters(model: backbone, configuration: lora, generator: &generator)
            backboneKeys = made.parameters.map(\.key)
            let loraBudget = try ParameterBudget.lora(backbone, configuration: lora)
            budget = ParameterBudget(trainable: loraBudget.trainable + headCount, total: loraBudget.total + headCount)
            adapters = made
        }
        trainableBackboneKeys = adapters == nil ? Set(backboneKeys) : []
        gradientSelection = GradientSelection(keys: trainableBackboneKeys)
        trainableKeys = [Self.headPrefix + "weight", Self.headPrefix + "bias"] + backboneKeys
        let schedule = try LearningRateSchedule.cosine(totalSteps: configuration.epochs * stepsPerEpoch,
                                                       warmupSteps: configuration.warmupEpochs * stepsPerEpoch,
                                                       warmupStartFactor: configuration.warmupEpochs == 0 ? 0 : 1 / Double(configuration.warmupEpochs * stepsPerEpoch))
        optimizer = try AdamW(parameterCount: trainableKeys.count,
                              groups: [ParameterGroup(parameters: [0, 1], learningRate: configuration.headLearningRate),
                                       ParameterGroup(parameters: Array(2..<trainableKeys.count), learningRate: configuration.backboneLearningRate)],
                              weightDecay: Float(configuration.weightDecay), schedule: schedule)
    }

    /// PyTorch's `nn.Linear(D, K)` initialisation from the run's head seed.
    static func initialHead(classes: Int, width: Int, seed: UInt64) -> Linear {
        var generator = SeededGenerator(seed: SeedDerivation.derive(seed, .head))
        let bound = 1 / Double(width).squareRoot()
        let draw = { (count: Int) in (0..<count).map { _ in Float(generator.uniform(in: -bound...bound)) } }
        let weight = Tensor(shape: [classes, width], values: draw(classes * width))
        return Linear(weight: weight, bias: Tensor(shape: [classes], values: draw(classes)))
    }

    /// Optimiser updates taken so far.
    public var steps: Int { optimizer.steps }

    /// The learning rates (head, backbone) of the next update.
    public var learningRates: (head: Double, backbone: Double) {
        (optimizer.currentLearningRate(group: 0), optimizer.currentLearningRate(group: 1))
    }

    /// One optimiser update on images `[B, 3, H, W]` and their targets: the training forward pass (LoRA dropout
    /// drawn from a seed derived from the run's seed and the step index), the head, the loss (cross-entropy for
    /// class indices, BCE-with-logits over known findings), the backward pass, global-norm clipping, AdamW.
    /// Returns the batch's mean loss. Throws `NonFiniteTrainingError` (nothing updated) when the loss or the
    /// gradient norm is not finite.
    @discardableResult
    public mutating func step(images: Tensor, targets: ClassificationTargets, context: ComputeContext) throws -> Float {
        guard images.rank == 4, targets.count == images.shape[0] else {
            throw FineTuningError("images must be [B, C, H, W] with one target per image; got \(describeShape(images.shape)) and \(targets.count) targets")
        }
        let dropoutSeed = SeedDerivation.derive(configuration.seed, .dropout, UInt64(steps))
        adapters?.dropoutSeed = dropoutSeed
        let stepAdapters = adapters
        let (features, cache) = try backbone.trainingForward(images, recomputeBlocks: configuration.recomputeBlocks, adapters: stepAdapters,
                                                             context: context)
        let (logits, headCache) = try head.forward(features.cls, context: context)
        let loss = try targets.loss(logits: logits, task: task)
        guard loss.value.isFinite else { throw NonFiniteTrainingError(step: steps, quantity: "loss", value: loss.value) }
        let headGradients = try head.backward(loss.gradient, cache: headCache, context: context)
        let backboneGradients = try backbone.backpropagate(cls: headGradients.input, patches: nil, cache: cache,
                                                               gradients: gradientSelection, context: context)
        var gradients = [headGradients.parameters.weight, headGradients.parameters.bias!]
        if adapters != nil {
            gradients += trainableKeys.dropFirst(2).map { backboneGradients.adapters[$0]! }
        } else {
            let byKey = Dictionary(backboneGradients.parameters.namedParameters().filter { trainableBackboneKeys.contains($0.key) },
                                   uniquingKeysWith: { first, _ in first })
            gradients += trainableKeys.dropFirst(2).map { byKey[$0]! }
        }
        let norm = Self.globalNorm(gradients)
        guard norm.isFinite else { throw NonFiniteTrainingError(step: steps, quantity: "gradient norm", value: norm) }
        if let clipNorm = configuration.clipNorm { try GradientClipping.clipByGlobalNorm(&gradients, maxNorm: clipNorm) }
        var parameters = takeTrainableParameters()
        try optimizer.step(parameters: &parameters, gradients: gradients)
        try putTrainableParameters(parameters)
        return loss.value
    }

    /// `‖(‖g₁‖, …, ‖gₖ‖)‖₂`, summed in Double.
    static func globalNorm(_ tensors: [Tensor]) -> Float {
        var squares = 0.0
        for tensor in tensors {
            tensor.withUnsafeBufferPointer { values in for value in values { squares += Double(value) * Double(value) } }
        }
        return Float(squares.squareRoot())
    }

    /// The trainable parameters in `trainableKeys` order, moved out of the model (left empty until
    /// `putTrainableParameters`, so that the optimiser updates them in place without copies).
    private mutating func takeTrainableParameters() -> [Tensor] {
        var taken = [head.weight, head.bias!]
        (head.weight, head.bias) = (Tensor(shape: [0]), nil)
        if let adapters {
            let byKey = Dictionary(uniqueKeysWithValues: adapters.parameters.map { ($0.key, $0.value) })
            return taken + trainableKeys.dropFirst(2).map { byKey[$0]! }
        }
        var exchange = ParameterExchange(tensors: [:], keys: trainableBackboneKeys)
        backbone.visitParameters(&exchange, scope: ParameterScope())
        taken += trainableKeys.dropFirst(2).map { exchange.tensors[$0]! }
        return taken
    }

    /// Puts back what `takeTrainableParameters` took, updated.
    private mutating func putTrainableParameters(_ parameters: [Tensor]) throws {
        (head.weight, head.bias) = (parameters[0], parameters[1])
        let backboneParameters = Dictionary(uniqueKeysWithValues: zip(trainableKeys.dropFirst(2), parameters.dropFirst(2)))
        if adapters != nil {
            try adapters!.update(backboneParameters)
            return
        }
        var exchange = ParameterExchange(tensors: backboneParameters, keys: trainableBackboneKeys)
        backbone.visitParameters(&exchange, scope: ParameterScope())
    }

    /// The trainable parameters by key (`trainableKeys` order).
    public var trainableParameters: [(key: String, value: Tensor)] {
        var copy = self
        let values = copy.takeTrainableParameters()
        return Array(zip(trainableKeys, values)).map { ($0.0, $0.1) }
    }

    /// The optimiser's moments and step count (saved with the parameters to resume a run).
    public var optimizerState: AdamW.State { optimizer.state }

    /// Continues from saved trainable parameters (every key of `trainableKeys`, same shapes) and, when given, the
    /// optimiser's state (else the optimiser stays as it is).
    public mutating func restore(parameters: [String: Tensor], optimizer state: AdamW.State? = nil) throws {
        let current = trainableParameters
        let values = try current.map { key, value -> Tensor in
            guard let saved = parameters[key] else { throw FineTuningError("the saved state has no '\(key)'") }
            guard saved.shape == value.shape else {
                throw FineTuningError("the saved '\(key)' is \(describeShape(saved.shape)), the model's \(describeShape(value.shape))")
            }
            return saved
        }
        if let state { try optimizer.restore(state) }
        _ = takeTrainableParameters()
        try putTrainableParameters(values)
    }

    /// The classifier as it stands, for evaluation: the backbone with the adapters merged into its weights, and
    /// the head.
    public func classifier() -> FineTunedClassifier {
        FineTunedClassifier(backbone: adapters.map { $0.merged(into: backbone) } ?? backbone, head: head, task: task)
    }

    /// Class probabilities `[B, K]` of images `[B, 3, H, W]` (softmax rows or per-finding sigmoids), without
    /// dropout. For many batches, make `classifier()` once.
    public func predict(images: Tensor, context: ComputeContext) throws -> Tensor {
        try classifier().probabilities(images: images, context: context)
    }
}

/// Swaps the parameters whose keys are in `keys` with the tensors held by key: taking them out of a model leaves
/// empty tensors there; swapping again puts them back.
struct ParameterExchange: ParameterVisitor {
    var tensors: [String: Tensor]
    let keys: Set<String>

    mutating func visit(_ key: String, _ parameter: inout Tensor) {
        guard keys.contains(key) else { return }
        var held = tensors[key] ?? Tensor(shape: [0])
        swap(&held, &parameter)
        tensors[key] = held
    }
}
