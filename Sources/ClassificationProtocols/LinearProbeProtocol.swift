import Datasets
import LinearProbes
import Metrics
import TensorCore
import TensorKernels

/// DINOv2's linear-probe protocol on stored features: every head of the grid (learning rates × last
/// 1 or 4 blocks × with / without the last block's mean patch token; block choices above the stored
/// blocks and patch-mean heads of a store without patch means are left out) trained together on the
/// training rows (`LinearProbeTrainer`: SGD momentum 0.9, cosine schedule, BCE-with-logits for
/// multi-label, cross-entropy for multi-class data), each scored on validation, the best retrained on
/// training + validation and tested (`refitsOnValidation`), or — for few-shot training sets, whose
/// validation rows must stay unseen — tested as trained on the training rows alone.
public struct LinearProbeProtocol: Sendable {
    /// Base learning rates, scaled by batch size / 256 as DINOv2 does.
    public var learningRates: [Double]
    /// Numbers of last blocks whose class tokens a head reads.
    public var blockChoices: [Int]
    /// Passes over the training rows.
    public var epochs: Int
    /// Rows per SGD step.
    public var batchSize: Int
    /// Seed of the batch order and of the heads' initial weights.
    public var seed: UInt64
    /// Retrain the chosen head on training + validation before testing.
    public var refitsOnValidation: Bool

    /// DINOv2's grid (13 learning rates × blocks {1, 4} × patch mean or not) for `epochs` passes.
    public init(learningRates: [Double] = LinearProbeConfiguration.dinov2LearningRates, blockChoices: [Int] = [1, 4],
                epochs: Int = 10, batchSize: Int = 128, seed: UInt64 = 0, refitsOnValidation: Bool = true) {
        self.learningRates = learningRates
        self.blockChoices = blockChoices
        self.epochs = epochs
        self.batchSize = batchSize
        self.seed = seed
        self.refitsOnValidation = refitsOnValidation
    }

    /// The grid that fits `features`, learning rates scaled for batches of `batchSize`.
    func grid(for features: ProbeFeatures, batchSize: Int) throws -> [LinearProbeConfiguration] {
        let blocks = blockChoices.filter { $0 <= features.blocks }
        guard !blocks.isEmpty else {
            throw ProbeProtocolError("the features hold \(features.blocks) blocks; no block choice of \(blockChoices) fits (extract with --layers 4)")
        }
        return try LinearProbeConfiguration.dinov2Grid(blockChoices: blocks, learningRates: learningRates, batchSize: batchSize)
            .filter { !$0.usesPatchMean || features.patchMeans != nil }
    }

    /// The settings as recorded with a result.
    var recordedConfiguration: [String: String] {
        ["learning_rates": learningRates.map(recordText).joined(separator: ","), "blocks": blockChoices.map(String.init).joined(separator: ","),
         "epochs": "\(epochs)", "batch_size": "\(batchSize)", "seed": "\(seed)", "optimizer": "sgd momentum 0.9, cosine schedule"]
    }

    /// Runs the protocol on `data`.
    public func run(on data: ProbeDataset, selectBy metric: SelectionMetric, bootstrap: BootstrapConfiguration,
                    context: ComputeContext, progress: ProbeProgress? = nil) throws -> ProbeOutcome {
        let space = data.labelSpace
        var options = LinearProbeTrainingOptions(epochs: epochs, batchSize: min(batchSize, data.train.count), shuffleSeed: seed,
                                                 initialisationSeed: seed)
        let grid = try grid(for: data.train.features, batchSize: options.batchSize)
        var refitOptions = options
        if let progress {
            let heads = grid.count
            options.progress = { @Sendable completed, total in progress("training \(heads) heads", "steps", completed, total) }
            refitOptions.progress = { @Sendable completed, total in
                progress("retraining the chosen head on train + validation", "steps", completed, total)
            }
        }
        let training = (features: data.train.features, targets: try data.train.targets(space, role: "training"))
        var trained: [LinearHead] = []
        return try CandidateSearch(name: "linear", configuration: recordedConfiguration.merging(["batch_size": "\(options.batchSize)"]) { _, used in used },
                                   candidates: grid.map(\.description), refitsOnValidation: refitsOnValidation)
            .run(on: data, selectBy: metric, bootstrap: bootstrap, validationScores: { validation, score in
                let search = try LinearProbeSearch.run(grid, training: training,
                                                       validation: (validation.features, try validation.targets(space, role: "validation")),
                                                       options: options, context: context) { logits, _ in
                    let value = try score(probabilities(fromLogits: logits, labelSpace: space))
                    return value.isNaN ? -.infinity : value
                }
                trained = search.heads
                return search.scores.map { $0 == -.infinity ? .nan : $0 }
            }, predictTest: { chosen, addedValidation in
                let logits: Tensor
                if let validation = addedValidation {
                    logits = try LinearProbeSearch.refit(grid[chosen], training: training,
                                                         validation: (validation.features, try validation.targets(space, role: "validation")),
                                                         test: data.test.features, options: refitOptions, context: context).testLogits
                } else {
                    let head = trained.isEmpty
                        ? try LinearProbeTrainer.train([grid[chosen]], features: training.features, targets: training.targets,
                                                       options: options, context: context)[0]
                        : trained[chosen]
                    logits = try head.logits(data.test.features, context: context)
                }
                return probabilities(fromLogits: logits, labelSpace: space)
            })
    }
}
