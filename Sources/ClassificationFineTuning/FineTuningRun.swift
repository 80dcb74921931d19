import Datasets
import FineTuning
import Foundation
import MedicalImaging
import Metrics
import Models
import Randomness
import TensorCore
import TensorKernels

/// Training stopped because the loss, the gradients or the validation outputs became NaN or infinite; the files of
/// the last good epoch (`best.safetensors`, `state.safetensors`) were left as they were.
public struct FineTuningStopped: Error, CustomStringConvertible, Sendable {
    /// 1-based.
    public let epoch: Int
    /// 1-based step within the epoch; nil when the validation outputs were not finite.
    public let step: Int?
    public let reason: String

    public var description: String {
        "fine-tuning stopped at epoch \(epoch)\(step.map { ", step \($0)" } ?? " (validation)"): \(reason); "
            + "best.safetensors and state.safetensors keep the last good epoch (\(epoch - 1))"
    }
}

/// What a run reports while it works.
public enum FineTuningEvent: Sendable {
    /// The run continues from a state file with this many epochs done.
    case resumed(epochsCompleted: Int)
    /// An epoch (1-based) of this many steps begins.
    case epochStarted(epoch: Int, steps: Int)
    /// One optimiser update: epoch (1-based), step within it (1-based), steps per epoch, the batch's loss and the
    /// epoch's running mean loss.
    case step(epoch: Int, step: Int, of: Int, loss: Float, runningLoss: Double)
    /// An epoch ended; `isBest` when its weights became `best.safetensors`.
    case epochEnded(EpochRecord, isBest: Bool)
    /// The best epoch's classifier is being run on the test items.
    case testing(items: Int)
}

/// The result of a run: the record (curves, best epoch), the parameter budget, and when every epoch is done, the
/// best epoch's test probabilities `[N_test, K]` (softmax rows or per-finding sigmoids) in the split's test order.
public struct FineTuningOutcome: Sendable {
    public let record: FineTuningRecord
    public let budget: ParameterBudget
    /// False when the run stopped early as asked (`stopAfterEpochs`); run again to continue.
    public let completed: Bool
    public let testProbabilities: Tensor?
    /// Seconds spent by this invocation: training (steps and validation), and the test pass.
    public let trainingSeconds: Double
    public let testSeconds: Double
}

/// Fine-tuning on a dataset, resumable: batches streamed from the dataset in a seeded order per epoch, one
/// `FineTuner.step` each, validation loss and AUROC after every epoch, the best epoch (validation macro AUROC) kept
/// as `best.safetensors` and the state as `state.safetensors` in `folder`, and at the end the best epoch on the
/// test items.
///
/// Determinism: the batch order of epoch `e` is a shuffle seeded by `(seed, e)`, an item's augmentation by
/// `(seed, e, item id)`, LoRA dropout by `(seed, step)`; with the same thread count, a run resumed from its state
/// file ends with the same bits as one that never stopped.
public struct FineTuningRun: Sendable {
    public let data: FineTuningData
    public let images: TrainingImages
    public let configuration: FineTuningConfiguration
    public let identity: FineTuningIdentity
    public let folder: URL

    /// The best epoch's classifier (the backbone with LoRA merged, under DINOv2's keys, plus `head.*`).
    public var bestURL: URL { folder.appendingPathComponent("best.safetensors") }
    /// The state the run resumes from.
    public var stateURL: URL { folder.appendingPathComponent("state.safetensors") }

    public init(data: FineTuningData, pipeline: PreprocessingPipeline, configuration: FineTuningConfiguration,
                identity: FineTuningIdentity, folder: URL) {
        self.data = data
        images = TrainingImages(pipeline: pipeline, augmentation: configuration.augmentation ? .classification : nil,
                                seed: configuration.seed)
        self.configuration = configuration
        self.identity = identity
        self.folder = folder
    }

    /// Optimiser updates per epoch: the train items in batches of `batchSize`, the last one possibly smaller.
    public var stepsPerEpoch: Int { (data.train.count + configuration.batchSize - 1) / configuration.batchSize }

    /// Trains `backbone` (continuing from `state.safetensors` when `folder` holds one of the same identity and
    /// configuration), stopping once `stopAfterEpochs` epochs are done if given, then tests the best epoch.
    public func run(backbone: VisionTransformer, context: ComputeContext, stopAfterEpochs: Int? = nil,
                    events: (FineTuningEvent) -> Void = { _ in }) throws -> FineTuningOutcome {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        var tuner = try FineTuner(backbone: backbone, classes: data.classCount, task: data.task, configuration: configuration,
                                  stepsPerEpoch: stepsPerEpoch)
        var record = try resume(&tuner)
        if record.epochsCompleted > 0 { events(.resumed(epochsCompleted: record.epochsCompleted)) }
        let start = Date()
        let lastEpoch = min(configuration.epochs, stopAfterEpochs ?? configuration.epochs)
        while record.epochsCompleted < lastEpoch {
            let epoch = record.epochsCompleted + 1
            let trainLoss = try trainEpoch(epoch, tuner: &tuner, context: context, events: events)
            let classifier = tuner.classifier()
            let validation = try evaluate(classifier, items: data.validation, epoch: epoch, context: context)
            let rates = tuner.learningRates
            let entry = EpochRecord(epoch: epoch, trainLoss: trainLoss, validationLoss: validation.loss,
                                    validationAurocMacro: validation.auroc.macro, validationAurocPerClass: validation.auroc.perClass,
                                    headLearningRate: rates.head, backboneLearningRate: rates.backbone)
            let isBest = record.improves(on: entry)
            record.curves.append(entry)
            record.steps = tuner.steps
            if isBest {
                record.bestEpoch = epoch
                try classifier.write(to: bestURL, metadata: ["radprobe.finetune.configuration": try configuration.jsonText(),
                                                             "radprobe.finetune.epoch": "\(epoch)", "format": "pt"])
            }
            try TrainingStateFile.write(tuner, record: record, to: stateURL)
            events(.epochEnded(entry, isBest: isBest))
        }
        let trainingSeconds = Date().timeIntervalSince(start)
        guard record.epochsCompleted == configuration.epochs else {
            return FineTuningOutcome(record: record, budget: tuner.budget, completed: false, testProbabilities: nil,
                                     trainingSeconds: trainingSeconds, testSeconds: 0)
        }
        let testStart = Date()
        var probabilities: Tensor?
        if !data.test.isEmpty {
            events(.testing(items: data.test.count))
            let best = try FineTunedClassifier.read(contentsOf: bestURL, task: data.task, heads: backbone.configuration.heads)
            probabilities = FineTunedClassifier.probabilities(fromLogits: try logits(best, items: data.test, context: context), task: data.task)
        }
        return FineTuningOutcome(record: record, budget: tuner.budget, completed: true, testProbabilities: probabilities,
                                 trainingSeconds: trainingSeconds, testSeconds: Date().timeIntervalSince(testStart))
    }

    /// The record to continue: a fresh one, or the saved one (its parameters and optimiser state put into `tuner`)
    /// after checking that it is of this identity and configuration.
    func resume(_ tuner: inout FineTuner) throws -> FineTuningRecord {
        guard FileManager.default.fileExists(atPath: stateURL.path) else {
            return FineTuningRecord(identity: identity, configuration: configuration)
        }
        let (record, tensors) = try TrainingStateFile.record(at: stateURL)
        var differences = identity.differences(from: record.identity)
        if record.configuration != configuration {
            differences.append("configuration: \(try record.configuration.jsonText()) before, \(try configuration.jsonText()) now")
        }
        guard differences.isEmpty else {
            throw FineTuningError("\(folder.path) holds a run that differs from this one (\(differences.joined(separator: "; "))); "
                + "use another --out folder, or delete \(stateURL.lastPathComponent) to start over")
        }
        try TrainingStateFile.restore(&tuner, from: tensors, steps: record.steps)
        return record
    }

    /// One epoch of updates in the order of `(seed, epoch)`; returns the mean loss.
    func trainEpoch(_ epoch: Int, tuner: inout FineTuner, context: ComputeContext, events: (FineTuningEvent) -> Void) throws -> Double {
        var order = Array(data.train.indices)
        var generator = SeededGenerator(seed: SeedDerivation.derive(configuration.seed, .batchOrder, UInt64(epoch)))
        generator.shuffle(&order)
        var total = 0.0
        events(.epochStarted(epoch: epoch, steps: stepsPerEpoch))
        for (index, start) in stride(from: 0, to: order.count, by: configuration.batchSize).enumerated() {
            let items = order[start..<min(start + configuration.batchSize, order.count)].map { data.train[$0] }
            let batch = try images.batch(items, epoch: epoch)
            let loss: Float
            do {
                loss = try tuner.step(images: batch, targets: try data.targets(of: items), context: context)
            } catch let error as NonFiniteTrainingError {
                throw FineTuningStopped(epoch: epoch, step: index + 1, reason: "the \(error.quantity) became \(error.value)")
            }
            total += Double(loss)
            events(.step(epoch: epoch, step: index + 1, of: stepsPerEpoch, loss: loss, runningLoss: total / Double(index + 1)))
        }
        return total / Double(stepsPerEpoch)
    }

    /// The logits `[N, K]` of `items` (no augmentation), in batches of `batchSize`.
    func logits(_ classifier: FineTunedClassifier, items: [DatasetItem], context: ComputeContext) throws -> Tensor {
        Tensor.concatenate(try stride(from: 0, to: items.count, by: configuration.batchSize).map { start in
            let batch = try images.batch(Array(items[start..<min(start + configuration.batchSize, items.count)]), epoch: nil)
            return try classifier.logits(images: batch, context: context)
        })
    }

    /// The validation loss and AUROC of `classifier` on `items`; non-finite logits stop the run.
    func evaluate(_ classifier: FineTunedClassifier, items: [DatasetItem], epoch: Int,
                  context: ComputeContext) throws -> (loss: Double, auroc: PerClassAUROC) {
        let logits = try logits(classifier, items: items, context: context)
        guard logits.scalars.allSatisfy(\.isFinite) else {
            throw FineTuningStopped(epoch: epoch, step: nil, reason: "the validation logits are not finite")
        }
        let targets = try data.targets(of: items)
        let loss = try targets.loss(logits: logits, task: data.task).value
        let probabilities = FineTunedClassifier.probabilities(fromLogits: logits, task: data.task)
        let scores = try DoubleMatrix(rows: items.count, columns: data.classCount, values: probabilities.scalars.map(Double.init))
        let auroc: PerClassAUROC
        switch targets {
        case let .classes(indices):
            auroc = try AUROC.oneVsRest(scores: scores, labels: indices, classNames: data.labelSpace.names)
        case let .findings(values):
            auroc = try AUROC.multiLabel(scores: scores, labels: try DoubleMatrix(rows: items.count, columns: data.classCount,
                                                                                  values: values.scalars.map(Double.init)),
                                         classNames: data.labelSpace.names)
        }
        return (Double(loss), auroc)
    }
}
