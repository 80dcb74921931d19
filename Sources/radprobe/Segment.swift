import ArgumentParser
import Checkpoints
import Datasets
import Evaluation
import FileAccess
import Foundation
import MedicalImaging
import Metrics
import Models
import Randomness
import SegmentationDecoders
import SegmentationTraining
import TensorCore
import TensorKernels

/// `radprobe segment`: a segmentation decoder trained on a frozen DINOv2 backbone, its learning rate chosen
/// on validation, evaluated per case on test (see docs/segmentation.md).
struct SegmentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "segment",
        abstract: "Train a segmentation decoder (linear or U-Net) on a frozen DINOv2 backbone, or a U-Net from scratch, and evaluate it per case.",
        discussion: """
        2D images are segmented whole; volumes slice by slice (axial), the slices put back into the volume \
        and scored as one case. Each learning rate of --lr-grid trains a decoder from the same initial \
        weights (AdamW, cosine schedule); the best mean foreground Dice on validation is tested. Without \
        --augment the backbone runs once per slice and its patch grids are reused by every epoch and rate; \
        with --features STORE they are read from a feature store (radprobe extract --patch-tokens grid) of \
        the same checkpoint, dataset, size and preprocessing, and the backbone does not run. \
        Writes to --out: cases.csv (per test case Dice, Jaccard, HD95 per class), summary.json, \
        decoder.safetensors and predictions/ (label maps .nii.gz on the source affine for volumes, tinted \
        PNG overlays for 2D images).
        """
    )

    enum Decoder: String, ExpressibleByArgument, CaseIterable {
        case linear, unet, scratch
    }

    @OptionGroup var dataset: DatasetOptions

    @Option(help: "The split file (radprobe datasets split) of the dataset.")
    var split: String

    @Option(help: "Checkpoint of the frozen backbone: .pth, .safetensors or .onnx (not with --decoder scratch).")
    var checkpoint: String?

    @Option(help: "linear (1×1 conv on the last block's patch grid, bilinear upsampling), unet (the last 5 normed blocks) or scratch (a U-Net trained from scratch on the images, the study's baseline; no backbone).")
    var decoder: Decoder = .linear

    @Option(help: "Channels of the first level of --decoder scratch (doubling at each of its 4 downsamplings; 64 is the study's 31M-parameter U-Net).")
    var scratchWidth: Int = 64

    @Option(help: "Square input size (a multiple of the patch size; 224 or 448 in the study).")
    var size: Int = 448

    @Option(help: "Learning rates to compare, comma-separated.")
    var lrGrid: String = "1e-4,3e-4,1e-3,3e-3"

    @Option(help: "Passes over the training slices.")
    var epochs: Int = 20

    @Option(help: "Slices per step (and per forward pass).")
    var batchSize: Int = 8

    @Option(help: "dice (MONAI DiceLoss) or dice-ce (Dice + cross-entropy); softmax, background included.")
    var loss: SegmentationLossKind = .dice

    @Option(help: "AdamW's decoupled weight decay.")
    var weightDecay: Double = 1e-4

    @Flag(help: "Augment image and mask in lockstep (flips p 0.25, rotations up to 90°); the backbone then runs every step.")
    var augment = false

    @Option(help: ArgumentHelp("A feature store of this dataset (extract --patch-tokens grid, --layers ≥ 1 for linear, ≥ 5 for unet) whose patch grids replace the backbone's.",
                               valueName: "store"))
    var features: String?

    @Option(help: "Seed of the initial weights, the batch order and the augmentation.")
    var seed: UInt64 = 0

    @Option(help: "The output folder (created).")
    var out: String

    @OptionGroup var compute: ComputeOptions

    func validate() throws {
        if epochs < 1 || batchSize < 1 { throw ValidationError("--epochs and --batch-size must be at least 1.") }
        if size < 1 { throw ValidationError("--size must be positive (got \(size)).") }
        if features != nil && augment {
            throw ValidationError("--features cannot be combined with --augment: augmented images need the backbone's forward pass at every step.")
        }
        switch (decoder, checkpoint) {
        case (.scratch, .some): throw ValidationError("--decoder scratch trains a U-Net on the images without a backbone: drop --checkpoint.")
        case (.linear, nil), (.unet, nil): throw ValidationError("--decoder \(decoder.rawValue) needs the backbone's --checkpoint.")
        default: break
        }
        if decoder == .scratch {
            if features != nil { throw ValidationError("--decoder scratch reads the images, not a feature store's grids: drop --features.") }
            if size % ScratchUNetConfiguration.sideMultiple != 0 {
                throw ValidationError("--decoder scratch needs a --size that is a multiple of \(ScratchUNetConfiguration.sideMultiple) (got \(size)).")
            }
        }
    }

    func run() async throws {
        let rates = try parseList(lrGrid, option: "--lr-grid", Double.init)
        let catalog = try dataset.catalog()
        guard case .segmentation(let classes) = catalog.labelSpace else {
            throw CommandFailure("\(catalog.name) is not a segmentation dataset (its items carry no masks)")
        }
        let splitURL = URL(fileURLWithPath: split), checkpointURL = checkpoint.map { URL(fileURLWithPath: $0) }
        let parts = try CommandFailure.wrap { try Self.parts(of: catalog, split: try SplitFile.read(splitURL), file: split) }
        let backbone = try checkpointURL.map { url in
            let loaded = try CommandFailure.wrap { try LoadedBackbone(contentsOf: url) }
            guard loaded.family == .dinov2 else {
                throw CommandFailure("\(url.path): segmentation runs on DINOv2 backbones, as the study's protocol does; this checkpoint is a \(loaded.family) model")
            }
            return loaded.model
        }
        if let backbone, size % backbone.configuration.patchSize != 0 {
            throw CommandFailure("--size \(size) is not a multiple of the patch size \(backbone.configuration.patchSize)")
        }
        let settings = try CommandFailure.wrap {
            try SegmentationTrainingConfiguration(learningRates: rates, epochs: epochs, batchSize: batchSize, loss: loss,
                                                  augmentation: augment ? .segmentation : nil, weightDecay: weightDecay, seed: seed)
        }
        let pipeline = PreprocessingPipeline.study(size: size, modality: catalog.modality)
        let reader = try CommandFailure.wrap { try SegmentationCaseReader(classes: classes, pipeline: pipeline) }
        let outURL = URL(fileURLWithPath: out), predictions = outURL.appendingPathComponent("predictions")
        try CommandFailure.wrap { try FileManager.default.createDirectory(at: predictions, withIntermediateDirectories: true) }
        let describe = RunDescription(command: self, catalog: catalog, classes: classes, pipeline: pipeline, rates: rates,
                                      splitSHA256: try CommandFailure.wrap { try SHA256.hex(contentsOf: splitURL) },
                                      checkpointSHA256: try checkpointURL.map { url in try CommandFailure.wrap { try SHA256.hex(contentsOf: url) } },
                                      parts: parts.mapValues(\.count))
        let grids = try features.map { path -> (SegmentationInputKind) throws -> StoredPatchGrids in
            guard let backbone, let checkpointSHA256 = describe.checkpointSHA256 else { throw CommandFailure("--features needs --checkpoint") }
            return { kind in
                try storedGrids(at: path, kind: kind, backbone: backbone, checkpointSHA256: checkpointSHA256, pipeline: pipeline, catalog: catalog)
            }
        }
        let job = SegmentationJob(decoder: decoder, scratchWidth: decoder == .scratch ? scratchWidth : nil, parts: parts, backbone: backbone, settings: settings,
                                  reader: reader, storedGrids: grids)
        let outcome = try job.run(context: compute.context) { item, prediction in
            try SegmentationReport.writePrediction(prediction, of: item, into: predictions)
        }
        let cohort = try CommandFailure.wrap { try SegmentationCohortScores(cases: outcome.testCases.map { $0.scores }) }
        try CommandFailure.wrap {
            try AtomicFile.write(Data(SegmentationReport.caseTable(outcome.testCases, classes: reader.classes).utf8),
                                 to: outURL.appendingPathComponent("cases.csv"))
            let stateDict = StateDict(outcome.stateDict, source: "decoder.safetensors")
            try SafetensorsFile.write(stateDict, to: outURL.appendingPathComponent("decoder.safetensors"),
                                      metadata: ["decoder": decoder.rawValue, "classes": reader.classes.joined(separator: ","),
                                                 "learning_rate": "\(outcome.selectedLearningRate)", "radprobe_version": RadProbeVersion.current])
            try AtomicFile.write(try SegmentationReport.encode(describe.summary(outcome: outcome, cohort: cohort)),
                                 to: outURL.appendingPathComponent("summary.json"))
        }
        let trials = outcome.trials.map { "lr \($0.learningRate): validation Dice \($0.validationDice.map { String(format: "%.4f", $0) } ?? "–")" }
        print(trials.joined(separator: "\n"))
        print("selected lr     \(outcome.selectedLearningRate)")
        print("test cases      \(cohort.cases.count): mean Dice \(format(cohort.meanDice)), mean Jaccard \(format(cohort.meanJaccard))")
        print("outputs         \(out)/cases.csv, summary.json, decoder.safetensors, predictions/")
    }

    /// The patch grids of the feature store at `path`, refused unless it matches the run (see `PatchGridRequirements`).
    private func storedGrids(at path: String, kind: SegmentationInputKind, backbone: VisionTransformer, checkpointSHA256: String,
                             pipeline: PreprocessingPipeline, catalog: DatasetCatalog) throws -> StoredPatchGrids {
        let requirements = try PatchGridRequirements(
            checkpointSHA256: checkpointSHA256, preprocessing: pipeline.description, inputSize: size,
            patchSize: backbone.configuration.patchSize, width: backbone.configuration.width, kind: kind,
            dataset: catalog.name, holdsVolumes: catalog.holdsVolumes)
        return try StoredPatchGrids(store: try FeatureStore.open(at: URL(fileURLWithPath: path)), requirements: requirements)
    }

    private func format(_ value: Double?) -> String { value.map { String(format: "%.4f", $0) } ?? "–" }

    /// The catalog's items by part of `split`; the split must be of this dataset and name only its items.
    static func parts(of catalog: DatasetCatalog, split: DatasetSplit, file: String) throws -> [SplitPart: [DatasetItem]] {
        guard split.dataset == catalog.name else {
            throw CommandFailure("\(file): the split is of dataset \(split.dataset), not \(catalog.name)")
        }
        let items = Dictionary(catalog.items.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        var parts: [SplitPart: [DatasetItem]] = [:]
        for assignment in split.assignments {
            guard let item = items[assignment.id] else {
                throw CommandFailure("\(file): item \(assignment.id) is not in the dataset under --root (or its files are missing)")
            }
            parts[assignment.part, default: []].append(item)
        }
        return parts
    }

    /// What the summary records about the run besides its outcome.
    struct RunDescription {
        let command: SegmentCommand
        let catalog: DatasetCatalog
        let classes: [String]
        let pipeline: PreprocessingPipeline
        let rates: [Double]
        let splitSHA256: String
        /// Nil for a model trained from scratch.
        let checkpointSHA256: String?
        let parts: [SplitPart: Int]

        func summary(outcome: SegmentationJob.Outcome, cohort: SegmentationCohortScores) -> [String: Any] {
            let c = command
            let checkpoint: Any = c.checkpoint.map { ["file": $0, "sha256": checkpointSHA256 ?? ""] as [String: Any] } ?? NSNull()
            return [
                "radprobe_version": RadProbeVersion.current,
                "configuration": ["decoder": c.decoder.rawValue, "scratch_width": c.decoder == .scratch ? c.scratchWidth as Any : NSNull(), "size": c.size, "lr_grid": rates, "epochs": c.epochs,
                                  "batch_size": c.batchSize, "loss": c.loss.rawValue, "weight_decay": c.weightDecay,
                                  "optimizer": "AdamW, cosine schedule to 0, no warm-up",
                                  "augmentation": c.augment ? Augmentation.segmentation.description : "none",
                                  "preprocessing": pipeline.description, "seed": c.seed, "threads": c.compute.context.threads,
                                  "dice_loss_background": "included", "metrics_background": "excluded"] as [String: Any],
                "dataset": ["name": catalog.name, "root": c.dataset.root, "modality": catalog.modality.rawValue, "classes": classes,
                            "cases": Dictionary(uniqueKeysWithValues: SplitPart.allCases.map { ($0.rawValue, parts[$0] ?? 0) })] as [String: Any],
                "split": ["file": c.split, "sha256": splitSHA256],
                "checkpoint": checkpoint,
                "feature_store": c.features.map { $0 as Any } ?? NSNull(),
                "learning_rates": SegmentationReport.trials(outcome.trials),
                "selected_learning_rate": outcome.selectedLearningRate,
                "test": SegmentationReport.testMeans(cohort),
                "per_class": SegmentationReport.classMeans(cohort, classes: classes),
                "timings_seconds": outcome.seconds,
            ]
        }
    }
}

extension SegmentationLossKind: ExpressibleByArgument {}

/// One decoder trained on the parts of a segmentation dataset and tested per case: the decoder of
/// `decoder` (its initial weights from `settings.seed`) on the frozen `backbone`'s patch grids (or on
/// grids read from a store by `storedGrids`, or on the images for the U-Net trained from scratch).
struct SegmentationJob {
    /// What a run gives, whatever the decoder: its learning-rate trials, the chosen rate, the decoder's
    /// state dict and trainable parameter count, the test cases' scores and the seconds per phase.
    struct Outcome {
        let trials: [LearningRateTrial]
        let selectedLearningRate: Double
        let stateDict: [String: Tensor]
        let trainableParameters: Int
        let testCases: [(id: String, scores: SegmentationScores)]
        let seconds: [String: Double]
    }

    let decoder: SegmentCommand.Decoder
    /// Channels of the scratch U-Net's first level (`--decoder scratch` only).
    let scratchWidth: Int?
    let parts: [SplitPart: [DatasetItem]]
    let backbone: VisionTransformer?
    let settings: SegmentationTrainingConfiguration
    let reader: SegmentationCaseReader
    let storedGrids: ((SegmentationInputKind) throws -> StoredPatchGrids)?

    /// Trains, selects and tests; `onTestCase` gets each test case with its predicted label map.
    func run(context: ComputeContext, onTestCase: @escaping (SegmentationCase, LabelMap) throws -> Void) throws -> Outcome {
        let classes = reader.classes.count, width = backbone?.configuration.width ?? 0
        switch decoder {
        case .linear:
            return try execute(context: context, onTestCase: onTestCase) { generator in
                try LinearDecoder(embedDimension: width, classes: classes, generator: &generator)
            }
        case .unet:
            let unet = try CommandFailure.wrap { try UNetDecoderConfiguration(embedDimension: width, classes: classes) }
            return try execute(context: context, onTestCase: onTestCase) { generator in try UNetDecoder(configuration: unet, generator: &generator) }
        case .scratch:
            guard let scratchWidth else { throw CommandFailure("the scratch U-Net needs its width") }
            let unet = try CommandFailure.wrap { try ScratchUNetConfiguration(inputChannels: 3, classes: classes, baseWidth: scratchWidth) }
            return try execute(context: context, onTestCase: onTestCase) { generator in try ScratchUNet(configuration: unet, generator: &generator) }
        }
    }

    private func execute<Head: SegmentationHead>(context: ComputeContext, onTestCase: @escaping (SegmentationCase, LabelMap) throws -> Void,
                                                 makeHead: @escaping @Sendable (inout SeededGenerator) throws -> Head) throws -> Outcome {
        try CommandFailure.wrap {
            var generator = SeededGenerator(seed: settings.seed)
            let kind = try makeHead(&generator).inputKind
            let grids = try storedGrids.map { try $0(kind) }
            let encoder = try SegmentationInputEncoder(kind: kind, backbone: backbone, context: context)
            let trainer = SegmentationTrainer(configuration: settings, encoder: encoder, grids: grids, makeHead: makeHead)
            let outcome = try SegmentationExperiment(trainer: trainer, reader: reader)
                .run(train: parts[.train] ?? [], validation: parts[.validation] ?? [], test: parts[.test] ?? [],
                     progress: PhaseProgress().update) { item, prediction, _ in try onTestCase(item, prediction) }
            return Outcome(trials: outcome.trials, selectedLearningRate: outcome.selectedLearningRate, stateDict: outcome.head.stateDict(),
                           trainableParameters: outcome.head.trainableParameters().tensors.reduce(0) { $0 + $1.shape.reduce(1, *) },
                           testCases: outcome.testCases, seconds: outcome.seconds)
        }
    }
}
