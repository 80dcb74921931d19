import Convolution
import MedicalImaging
import Randomness
import TensorCore
import TensorKernels
import Training

/// The loss a segmentation head is trained with, both MONAI's with `softmax=True, to_onehot_y=True`
/// and the background class included in the Dice mean (`include_background=True`, MONAI's default, so a
/// slice without foreground still teaches the background): `dice` is `DiceLoss`, `diceCrossEntropy`
/// is `DiceCELoss` (Dice + pixel-mean cross-entropy, weights 1 and 1).
public enum SegmentationLossKind: String, CaseIterable, Sendable, Codable {
    case dice
    case diceCrossEntropy = "dice-ce"

    /// The loss and its gradient for logits `[B, K, H, W]` and `B·H·W` labels.
    func evaluate(logits: Tensor, labels: [Int]) throws -> LossResult {
        let dice = try DiceLoss(includeBackground: true)
        switch self {
        case .dice: return try dice.loss(logits: logits, labels: labels)
        case .diceCrossEntropy: return try DiceCrossEntropyLoss(dice: dice).loss(logits: logits, labels: labels)
        }
    }
}

/// How the heads are trained: AdamW (β 0.9/0.999, ε 1e-8, decoupled weight decay `weightDecay`) with a
/// cosine schedule from the base rate to 0 over every step of the run (no warm-up), batches of
/// `batchSize` slices reshuffled each epoch, every head of the learning-rate grid starting from the
/// same initial weights (drawn from `seed`).
public struct SegmentationTrainingConfiguration: Sendable, Equatable {
    /// The learning-rate grid.
    public var learningRates: [Double]
    public var epochs: Int
    /// Slices (2D images) per step.
    public var batchSize: Int
    public var loss: SegmentationLossKind
    /// Random augmentation of image and mask in lockstep (the backbone then runs at every step); nil: none.
    public var augmentation: Augmentation?
    public var weightDecay: Double
    /// Seeds the initial weights, the batch order and the augmentation.
    public var seed: UInt64

    public init(learningRates: [Double], epochs: Int, batchSize: Int, loss: SegmentationLossKind = .diceCrossEntropy,
                augmentation: Augmentation? = nil, weightDecay: Double = 1e-4, seed: UInt64 = 0) throws {
        guard !learningRates.isEmpty, learningRates.allSatisfy({ $0 > 0 && $0.isFinite }) else {
            throw SegmentationTrainingError("the learning-rate grid must hold positive finite rates, got \(learningRates)")
        }
        guard epochs >= 1, batchSize >= 1 else {
            throw SegmentationTrainingError("epochs (\(epochs)) and batch size (\(batchSize)) must be at least 1")
        }
        guard weightDecay >= 0, weightDecay.isFinite else { throw SegmentationTrainingError("weight decay must be finite and ≥ 0, not \(weightDecay)") }
        self.learningRates = learningRates
        self.epochs = epochs
        self.batchSize = batchSize
        self.loss = loss
        self.augmentation = augmentation
        self.weightDecay = weightDecay
        self.seed = seed
    }

    /// The generator for an (epoch, sample) pair, or for the batch order of an epoch (`sample` nil):
    /// SplitMix64 seeded with `seed` mixed with both numbers, so each draw is reproducible on its own.
    func generator(epoch: Int, sample: Int?) -> SeededGenerator {
        var mixer = SeededGenerator(seed: seed ^ (UInt64(epoch + 1) &* 0x9E37_79B9_7F4A_7C15)
            ^ (UInt64(bitPattern: Int64((sample ?? -1) + 1)) &* 0xC2B2_AE3D_27D4_EB4F))
        return SeededGenerator(seed: mixer.next())
    }
}

/// The training slices of a run: the model inputs `[3, S, S]` with their labels at `S × S`, and, on the
/// fast path (no augmentation), the head's inputs computed once (or taken from a feature store's grids)
/// and reused by every epoch and every rate.
public struct SegmentationTrainingSet: Sendable {
    /// The input size `S × S`.
    public let inputSize: Size2D
    /// Labels of every slice, row-major `S × S`.
    let labels: [[Int32]]
    /// The images (kept only when they are augmented each step).
    let images: [Image2D]
    /// The encoded inputs (fast path).
    let encoded: EncodedInputs?

    /// Every slice of `cases`; encoded once (or taken from `grids`) unless `augmented`, which stored grids cannot be.
    init(cases: [SegmentationCase], encoder: SegmentationInputEncoder, grids: StoredPatchGrids?, augmented: Bool, batchSize: Int,
         advance: (Int) -> Void) throws {
        let images = cases.flatMap(\.inputs)
        guard let first = images.first else { throw SegmentationTrainingError("the training part holds no images") }
        inputSize = Size2D(height: first.height, width: first.width)
        labels = cases.flatMap(\.inputLabels)
        if augmented {
            if let grids {
                throw SegmentationTrainingError("\(grids.store.path): stored patch grids cannot be augmented; augmentation needs the backbone at every step")
            }
            self.images = images
            encoded = nil
        } else if let grids {
            self.images = []
            encoded = EncodedInputs(joining: try cases.map(grids.inputs(of:)))
            advance(labels.count)
        } else {
            self.images = []
            encoded = try EncodedInputs(images, encoder: encoder, batchSize: batchSize, advance: advance)
        }
    }

    /// Slices.
    public var count: Int { labels.count }

    /// The head's inputs and the labels of `indices` in epoch `epoch`.
    func batch(_ indices: [Int], epoch: Int, configuration: SegmentationTrainingConfiguration,
               encoder: SegmentationInputEncoder) throws -> (inputs: [Tensor], labels: [Int]) {
        if let encoded { return (encoded.batch(indices), indices.flatMap { labels[$0].map(Int.init) }) }
        var batchImages: [Image2D] = [], batchLabels: [Int] = []
        for index in indices {
            let (width, height) = (inputSize.width, inputSize.height)
            let mask = Image2D(width: width, height: height, channels: 1, pixels: labels[index].map(Float.init))
            var generator = configuration.generator(epoch: epoch, sample: index)
            let (image, augmentedMask) = try configuration.augmentation.map { try $0(images[index], mask: mask, using: &generator) }
                ?? (images[index], mask)
            batchImages.append(image)
            batchLabels += (augmentedMask ?? mask).pixels.map { Int($0) }
        }
        return (try encoder.encode(batchImages), batchLabels)
    }
}

/// Trains one head per learning rate on a `SegmentationTrainingSet` (see `SegmentationTrainingConfiguration`).
/// With `grids`, every slice's head inputs come from a feature store instead of `encoder`'s backbone.
public struct SegmentationTrainer<Head: SegmentationHead>: Sendable {
    public let configuration: SegmentationTrainingConfiguration
    public let encoder: SegmentationInputEncoder
    /// A freshly initialised head from a generator.
    public let makeHead: @Sendable (inout SeededGenerator) throws -> Head
    /// Stored patch grids standing in for the backbone (nil: the encoder computes them).
    public let grids: StoredPatchGrids?

    public init(configuration: SegmentationTrainingConfiguration, encoder: SegmentationInputEncoder, grids: StoredPatchGrids? = nil,
                makeHead: @escaping @Sendable (inout SeededGenerator) throws -> Head) {
        self.configuration = configuration
        self.encoder = encoder
        self.grids = grids
        self.makeHead = makeHead
    }

    /// A freshly initialised head (the same weights on every call).
    public func initialHead() throws -> Head {
        var generator = SeededGenerator(seed: configuration.seed)
        return try makeHead(&generator)
    }

    /// The training set of `cases` for this trainer (encoded once, or taken from `grids`, unless augmenting).
    public func trainingSet(_ cases: [SegmentationCase], advance: (Int) -> Void = { _ in }) throws -> SegmentationTrainingSet {
        try SegmentationTrainingSet(cases: cases, encoder: encoder, grids: grids, augmented: configuration.augmentation != nil,
                                    batchSize: configuration.batchSize, advance: advance)
    }

    /// The head's inputs of every slice of `item`: its stored grids, or the encoder run in batches;
    /// `advance` gets the slices done.
    func encodedInputs(of item: SegmentationCase, advance: (Int) -> Void) throws -> EncodedInputs {
        guard let grids else { return try EncodedInputs(item.inputs, encoder: encoder, batchSize: configuration.batchSize, advance: advance) }
        let inputs = try grids.inputs(of: item)
        advance(inputs.count)
        return inputs
    }

    /// A head trained at `learningRate` and its mean loss per epoch; `advance` gets the slices done after each step.
    public func train(_ data: SegmentationTrainingSet, learningRate: Double,
                      advance: (Int) -> Void = { _ in }) throws -> (head: Head, epochLosses: [Float]) {
        var head = try initialHead()
        guard head.inputKind == encoder.kind, grids.map({ $0.inputKind == head.inputKind }) ?? true else {
            throw SegmentationTrainingError("the head reads \(head.inputKind) but the \(grids == nil ? "encoder" : "feature store") gives \(grids?.inputKind ?? encoder.kind)")
        }
        let context = encoder.context
        var parameters = head.trainableParameters()
        let stepsPerEpoch = (data.count + configuration.batchSize - 1) / configuration.batchSize
        var optimizer = try AdamW(parameterCount: parameters.tensors.count,
                                  groups: [try ParameterGroup(parameters: Array(parameters.tensors.indices), learningRate: learningRate)],
                                  weightDecay: Float(configuration.weightDecay),
                                  schedule: try .cosine(totalSteps: configuration.epochs * stepsPerEpoch))
        var epochLosses: [Float] = []
        for epoch in 0..<configuration.epochs {
            var order = Array(0..<data.count)
            var shuffler = configuration.generator(epoch: epoch, sample: nil)
            shuffler.shuffle(&order)
            var lossSum: Float = 0
            for start in stride(from: 0, to: order.count, by: configuration.batchSize) {
                let indices = Array(order[start ..< min(start + configuration.batchSize, order.count)])
                let (inputs, labels) = try data.batch(indices, epoch: epoch, configuration: configuration, encoder: encoder)
                let (logits, cache) = try head.forwardTraining(inputs, imageSize: data.inputSize, context: context)
                let loss = try configuration.loss.evaluate(logits: logits, labels: labels)
                let gradients = try head.parameterGradients(loss.gradient, cache: cache, context: context)
                parameters = head.trainableParameters()
                let ordered = try parameters.keys.map { key in
                    guard let gradient = gradients[key] else { throw SegmentationTrainingError("the head gave no gradient for \(key)") }
                    return gradient
                }
                var tensors = parameters.tensors
                try optimizer.step(parameters: &tensors, gradients: ordered)
                try head.setTrainableParameters(tensors)
                lossSum += loss.value * Float(indices.count)
                advance(indices.count)
            }
            epochLosses.append(lossSum / Float(data.count))
        }
        return (head, epochLosses)
    }
}
