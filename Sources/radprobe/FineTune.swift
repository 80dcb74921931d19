import ArgumentParser
import Checkpoints
import ClassificationFineTuning
import ClassificationProtocols
import Datasets
import FileAccess
import FineTuning
import Foundation
import MedicalImaging
import Metrics
import Models
import TensorCore

/// `radprobe finetune DATASET --root DIR --split SPLIT --checkpoint FILE --mode full|lora|bitfit --out DIR`.
struct FineTuneCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "finetune",
        abstract: "Fine-tune a DINOv2 classifier on a 2D dataset (full, LoRA or BitFit), keep the best epoch on validation and test it.",
        discussion: """
        A linear head on the final normed CLS token is trained with the backbone (every parameter, LoRA \
        adapters, or the biases) by AdamW with two learning rates, a linear warm-up and a cosine schedule. \
        After every epoch the validation loss and AUROC are computed; the best epoch by validation macro AUROC \
        is kept as best.safetensors (the backbone under DINOv2's keys with LoRA merged, plus head.weight and \
        head.bias), and state.safetensors lets the same command resume. At the end the best epoch is tested \
        (AUROC with bootstrap intervals over patients) and finetune.json written. See docs/finetune.md.
        """
    )

    @OptionGroup var dataset: DatasetOptions

    @Option(help: "The split file (radprobe datasets split) of the dataset.")
    var split: String

    @Option(help: "The starting checkpoint: .pth, .safetensors or .onnx.")
    var checkpoint: String

    @Option(help: "What trains besides the head: full, lora or bitfit.")
    var mode: ModeArgument

    @Option(help: "Square input size (a multiple of the patch size; 224 or 448 in the study).")
    var size: Int = 224

    @Option(help: "Passes over the training items.")
    var epochs: Int = 10

    @Option(help: "Images per optimiser step.")
    var batchSize: Int = 32

    @Option(help: "Learning rate of the head.")
    var headLr: Double = 1e-3

    @Option(help: "Learning rate of the trained backbone parameters (the study: 5e-4 … 1e-7).")
    var backboneLr: Double = 1e-5

    @Option(help: "AdamW's decoupled weight decay.")
    var weightDecay: Double = 0.05

    @Option(help: "Epochs of linear learning-rate warm-up before the cosine decay.")
    var warmupEpochs: Int = 1

    @Option(help: "Maximum global L2 norm of the gradients (0: no clipping).")
    var clipNorm: Float = 1

    @Option(help: "LoRA rank r (--mode lora; default 48).")
    var loraRank: Int?

    @Option(help: "LoRA alpha; the update is scaled by alpha / r (--mode lora; default 16).")
    var loraAlpha: Float?

    @Option(help: "LoRA dropout probability on the adapters' input (--mode lora; default 0.1).")
    var loraDropout: Float?

    @Option(help: "Linears LoRA adapts, comma-separated key patterns (--mode lora; default qkv,fc1,fc2).")
    var loraTargets: String?

    @Flag(name: .customLong("no-augmentation"), help: "Train without the random scale crop and horizontal flip.")
    var noAugmentation = false

    @Flag(help: "Recompute each block's activations in the backward pass (less memory, about a third more time).")
    var checkpointActivations = false

    @Option(help: "Seed of the head, the LoRA matrices, the batch order, the augmentation and the dropout.")
    var seed: UInt64 = 0

    @Option(help: "Stop (resumably) once this many epochs are done, e.g. to fit a job's time limit; run the same command again to continue.")
    var stopAfter: Int?

    @Option(help: "Bootstrap resamples for the test intervals (over patients).")
    var bootstrap: Int = 1000

    @Option(help: "Seed of the bootstrap.")
    var bootstrapSeed: UInt64 = 0

    @Option(help: "Folder for best.safetensors, state.safetensors, finetune.json and test_probabilities.npy (created, or resumed).")
    var out: String

    @OptionGroup var compute: ComputeOptions

    enum ModeArgument: String, ExpressibleByArgument, CaseIterable {
        case full, lora, bitfit
    }

    func validate() throws {
        if bootstrap < 1 { throw ValidationError("--bootstrap must be at least 1 (got \(bootstrap)).") }
        if let stopAfter, stopAfter < 1 { throw ValidationError("--stop-after must be at least 1 (got \(stopAfter)).") }
        if mode != .lora, loraRank != nil || loraAlpha != nil || loraDropout != nil || loraTargets != nil {
            throw ValidationError("The --lora-* options apply to --mode lora only.")
        }
    }

    /// The run's settings from the options (invalid ones are a failure naming the setting).
    func fineTuningConfiguration() throws -> FineTuningConfiguration {
        try CommandFailure.wrap {
            let fineTuningMode: FineTuningMode
            switch mode {
            case .full: fineTuningMode = .full
            case .bitfit: fineTuningMode = .bitFit
            case .lora:
                let study = LoRAConfiguration.study
                let targets = try loraTargets.map { text in
                    try text.split(separator: ",").map { try ParameterPattern($0.trimmingCharacters(in: .whitespaces)) }
                } ?? study.targets
                fineTuningMode = .lora(try LoRAConfiguration(rank: loraRank ?? study.rank, alpha: loraAlpha ?? study.alpha,
                                                             dropout: loraDropout ?? study.dropout, targets: targets))
            }
            return try FineTuningConfiguration(mode: fineTuningMode, headLearningRate: headLr, backboneLearningRate: backboneLr,
                                               weightDecay: weightDecay, warmupEpochs: warmupEpochs, epochs: epochs, batchSize: batchSize,
                                               clipNorm: clipNorm == 0 ? nil : clipNorm, seed: seed, augmentation: !noAugmentation,
                                               recomputeBlocks: checkpointActivations)
        }
    }

    func run() async throws {
        let configuration = try fineTuningConfiguration()
        let catalog = try dataset.catalog()
        let splitURL = URL(fileURLWithPath: split), checkpointURL = URL(fileURLWithPath: checkpoint)
        let (data, unreadable, division) = try CommandFailure.wrap {
            let division = try SplitFile.read(splitURL)
            let (data, unreadable) = try FineTuningData(catalog: catalog, split: division).withoutUnreadablePictures()
            return (data, unreadable, division)
        }
        for item in unreadable { print("skipped: \(item.id): \(item.error)") }
        let loaded = try CommandFailure.wrap { try LoadedBackbone(contentsOf: checkpointURL) }
        guard loaded.family == .dinov2 else {
            throw CommandFailure("\(checkpoint): fine-tuning runs on DINOv2 backbones, as the study's protocol does; this checkpoint is a \(loaded.family) model (its frozen features go through radprobe extract and the probes)")
        }
        let backbone = loaded.model
        guard size % backbone.configuration.patchSize == 0 else {
            throw CommandFailure("--size \(size) is not a multiple of the patch size \(backbone.configuration.patchSize)")
        }
        let pipeline = PreprocessingPipeline.study(size: size, modality: catalog.modality)
        let identity = try CommandFailure.wrap {
            FineTuningIdentity(dataset: catalog.name, classNames: catalog.labelSpace.names, splitSha256: try SHA256.hex(contentsOf: splitURL),
                               checkpointSha256: try SHA256.hex(contentsOf: checkpointURL), inputSize: size, preprocessing: pipeline.description)
        }
        let folder = URL(fileURLWithPath: out)
        let fineTuning = FineTuningRun(data: data, pipeline: pipeline, configuration: configuration, identity: identity, folder: folder)
        let progress = FineTuneProgress(epochs: configuration.epochs)
        let outcome = try CommandFailure.wrap {
            try fineTuning.run(backbone: backbone, context: compute.context, stopAfterEpochs: stopAfter, events: progress.report)
        }
        progress.finish()
        guard outcome.completed, let bestEpoch = outcome.record.bestEpoch else {
            print("stopped after epoch \(outcome.record.epochsCompleted) of \(configuration.epochs) as asked; run the same command again to continue")
            return
        }
        let test = try CommandFailure.wrap {
            try outcome.testProbabilities.map {
                try ClassificationMetrics(scores: $0, labels: data.test.map(\.labels), patients: data.test.map(\.patient),
                                          labelSpace: data.labelSpace, bootstrap: BootstrapConfiguration(seed: bootstrapSeed, resamples: bootstrap))
            }
        }
        let report = FineTuneReport(
            radprobeVersion: RadProbeVersion.current, dataset: catalog.name, labelSpace: catalog.labelSpace.kind.rawValue,
            classNames: catalog.labelSpace.names, splitFile: splitURL.path, splitMethod: division.method.record, splitSha256: identity.splitSha256,
            checkpoint: checkpointURL.path, checkpointSha256: identity.checkpointSha256, model: backbone.configuration.sizeName, inputSize: size,
            preprocessing: pipeline.description, augmentation: configuration.augmentation ? Augmentation.classification.description : "none",
            configuration: configuration, seeds: ["run": configuration.seed, "bootstrap": bootstrapSeed],
            parameters: .init(outcome.budget),
            sizes: ["train": data.train.count, "validation": data.validation.count, "test": data.test.count], skipped: unreadable,
            curves: outcome.record.curves, selectedEpoch: bestEpoch, test: test,
            timings: .init(threads: compute.context.threads, trainingSeconds: outcome.trainingSeconds, testSeconds: outcome.testSeconds,
                           epochsThisRun: outcome.record.epochsCompleted))
        let reportURL = folder.appendingPathComponent("finetune.json")
        try CommandFailure.wrap {
            try AtomicFile.write(try report.encoded(), to: reportURL)
            if let probabilities = outcome.testProbabilities {
                try NumPyArray.write(probabilities, to: folder.appendingPathComponent("test_probabilities.npy"))
            }
        }
        print(report.summary(folder: out))
    }
}

/// `finetune.json`: where the numbers come from, the settings, the parameter budget, the curves, the selected
/// epoch and its test metrics (JSON with sorted keys and snake_case names; `timings` is the only part that varies
/// between identical runs).
struct FineTuneReport: Encodable {
    /// Trainable and total parameters (head included).
    struct Parameters: Encodable {
        let trainable: Int
        let total: Int
        let trainableFraction: Double
        init(_ budget: ParameterBudget) {
            (trainable, total, trainableFraction) = (budget.trainable, budget.total, budget.trainableFraction)
        }
    }

    struct Timings: Encodable {
        let threads: Int
        let trainingSeconds: Double
        let testSeconds: Double
        /// Epochs done when this invocation ended (a resumed run counts the earlier ones too).
        let epochsThisRun: Int
    }

    let radprobeVersion: String
    let dataset: String
    let labelSpace: String
    let classNames: [String]
    let splitFile: String
    let splitMethod: String
    let splitSha256: String
    let checkpoint: String
    let checkpointSha256: String
    let model: String
    let inputSize: Int
    let preprocessing: String
    let augmentation: String
    let configuration: FineTuningConfiguration
    let seeds: [String: UInt64]
    let parameters: Parameters
    let sizes: [String: Int]
    /// Items of the split left out because their picture cannot be read.
    let skipped: [SkippedItem]
    let curves: [EpochRecord]
    let selectedEpoch: Int
    let test: ClassificationMetrics?
    let timings: Timings

    func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return try encoder.encode(self) + Data("\n".utf8)
    }

    /// The lines the command ends with.
    func summary(folder: String) -> String {
        let selected = curves[selectedEpoch - 1]
        func number(_ value: Double?) -> String { value.map { String(format: "%.4f", $0) } ?? "undefined" }
        var lines = [
            "dataset    \(dataset) (\(sizes["train"]!) train, \(sizes["validation"]!) validation, \(sizes["test"]!) test items"
                + (skipped.isEmpty ? ")" : "; \(skipped.count) unreadable left out)"),
            "trained    \(configuration.mode.name): \(parameters.trainable) of \(parameters.total) parameters (\(String(format: "%.2f", 100 * parameters.trainableFraction)) %)",
            "selected   epoch \(selectedEpoch) of \(curves.count): validation macro AUROC \(number(selected.validationAurocMacro)), loss \(number(selected.validationLoss))",
        ]
        if let test {
            let interval = test.aurocMacro.lower.map { " [\(number($0)), \(number(test.aurocMacro.upper))]" } ?? ""
            lines.append("test       macro AUROC \(number(test.aurocMacro.value))\(interval)"
                + (test.accuracy.map { ", accuracy \(number($0.value))" } ?? ""))
        }
        lines.append("written    \(folder)/best.safetensors, \(folder)/finetune.json")
        return lines.joined(separator: "\n")
    }
}

/// Progress of a run on standard error: a `ProgressReporter` over the steps, and one line per epoch with its mean
/// training loss and validation results.
final class FineTuneProgress {
    let epochs: Int
    private var reporter: ProgressReporter?

    init(epochs: Int) { self.epochs = epochs }

    func report(_ event: FineTuningEvent) {
        switch event {
        case let .resumed(done):
            FileHandle.standardError.write(Data("resuming after epoch \(done) of \(epochs)\n".utf8))
        case let .epochStarted(epoch, steps):
            FileHandle.standardError.write(Data("epoch \(epoch)/\(epochs)\n".utf8))
            reporter = ProgressReporter(total: steps, unit: "steps")
        case let .step(epoch, step, of, _, runningLoss):
            reporter?.advance(by: 1, detail: String(format: "loss %.4f", runningLoss))
            if step == of {
                reporter?.finish()
                reporter = nil
                FileHandle.standardError.write(Data(String(format: "epoch %d/%d: training loss %.4f\n", epoch, epochs, runningLoss).utf8))
            }
        case let .epochEnded(record, isBest):
            let auroc = record.validationAurocMacro.map { String(format: "%.4f", $0) } ?? "undefined"
            FileHandle.standardError.write(Data(String(format: "epoch %d/%d: validation loss %.4f, macro AUROC %@%@\n", record.epoch, epochs,
                                                       record.validationLoss, auroc, isBest ? " (best so far)" : "").utf8))
        case let .testing(items):
            FileHandle.standardError.write(Data("testing the best epoch on \(items) items\n".utf8))
        }
    }

    func finish() { reporter?.finish() }
}
