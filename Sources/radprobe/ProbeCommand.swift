import ArgumentParser
import ClassificationProtocols
import Datasets
import Evaluation
import FileAccess
import Foundation
import LinearProbes
import Metrics
import TensorCore
import Checkpoints

/// The data a probe runs on — a feature store with a split file, or plain `.npy` arrays — the
/// selection metric, the bootstrap, and where the report and the test probabilities go.
struct ProbeInputOptions: ParsableArguments {
    @Argument(help: ArgumentHelp("The feature store (radprobe extract); or give the .npy options instead.", valueName: "store"))
    var store: String?

    @Option(help: "The split file (radprobe datasets split) of the store's dataset.")
    var split: String?

    @Option(help: "Training features .npy: [N, D] (or [N, L, D] class tokens of L blocks), instead of a store.")
    var trainFeatures: String?

    @Option(help: "Training labels .npy: [N] class indices, or [N, C] findings as 1/0 (NaN unknown).")
    var trainLabels: String?

    @Option(help: "Validation features .npy, to choose among several candidates (k values, heads, C values).")
    var valFeatures: String?

    @Option(help: "Validation labels .npy.")
    var valLabels: String?

    @Option(help: "Test features .npy.")
    var testFeatures: String?

    @Option(help: "Test labels .npy (without them, only the probabilities are written).")
    var testLabels: String?

    @Option(help: "Validation metric that chooses among candidates: auroc-macro or accuracy (default: accuracy for multi-class data, auroc-macro otherwise).")
    var selectBy: SelectionMetric?

    @Option(help: "Bootstrap resamples for the confidence intervals (over test patients; over rows for .npy input).")
    var bootstrap: Int = 1000

    @Option(help: "Seed of the bootstrap.")
    var bootstrapSeed: UInt64 = 0

    @Option(help: "Write the report (JSON: provenance, settings, every candidate's validation score, test metrics) here.")
    var out: String?

    @Option(help: "Write the test probabilities [N_test, C] here (.npy, float32, test rows in order).")
    var probabilitiesOut: String?

    @OptionGroup var compute: ComputeOptions

    func validate() throws {
        if bootstrap < 1 { throw ValidationError("--bootstrap must be at least 1 (got \(bootstrap)).") }
        let arrays = [trainFeatures, trainLabels, valFeatures, valLabels, testFeatures, testLabels].contains { $0 != nil }
        switch (store, arrays) {
        case (.some, true): throw ValidationError("Give a feature store or .npy arrays, not both.")
        case (nil, false): throw ValidationError("Give a feature store (with --split) or --train-features, --train-labels and --test-features.")
        case (.some, false) where split == nil: throw ValidationError("A feature store needs --split (radprobe datasets split).")
        case (nil, true) where trainFeatures == nil || trainLabels == nil || testFeatures == nil:
            throw ValidationError("Plain arrays need --train-features, --train-labels and --test-features.")
        case (nil, true) where (valFeatures == nil) != (valLabels == nil):
            throw ValidationError("Give --val-features and --val-labels together.")
        default: break
        }
    }

    /// The data, and what a report records about where it came from.
    func load() throws -> (data: ProbeDataset, source: ProbeSource) {
        try CommandFailure.wrap {
            guard let store, let split else {
                let files = ["train_features": trainFeatures, "train_labels": trainLabels, "validation_features": valFeatures,
                             "validation_labels": valLabels, "test_features": testFeatures, "test_labels": testLabels].compactMapValues { $0 }
                return (try arrays(), .arrays(try ArrayProvenance(files: files, radprobeVersion: RadProbeVersion.current)))
            }
            let opened = try FeatureStore.open(at: URL(fileURLWithPath: store))
            let splitURL = URL(fileURLWithPath: split)
            let division = try SplitFile.read(splitURL)
            let data = try ProbeDataset(store: opened, split: division, splitFile: splitURL.path)
            for (part, ids) in data.missingRows.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
                FileHandle.standardError.write(Data("note: \(ids.count) \(part.rawValue) items have no stored features (skipped during extraction), e.g. \(ids[0])\n".utf8))
            }
            let provenance = try ProbeProvenance(store: opened, splitFile: splitURL, split: division, data: data,
                                                 radprobeVersion: RadProbeVersion.current)
            return (data, .store(provenance, division, opened))
        }
    }

    /// The `.npy` arrays as a dataset.
    func arrays() throws -> ProbeDataset {
        func read(_ path: String?) throws -> Tensor? { try path.map { try NumPyArray.read(contentsOf: URL(fileURLWithPath: $0)) } }
        func part(_ features: String?, _ labels: String?) throws -> ProbeDataset.ArrayPart? {
            guard let features else { return nil }
            return ProbeDataset.ArrayPart(features: try read(features)!, labels: try read(labels), featureFile: features, labelFile: labels)
        }
        return try ProbeDataset(arrays: try part(trainFeatures, trainLabels)!, validation: try part(valFeatures, valLabels),
                                test: try part(testFeatures, testLabels)!)
    }

    /// The bootstrap settings.
    var bootstrapConfiguration: BootstrapConfiguration {
        get throws { try CommandFailure.wrap { try BootstrapConfiguration(seed: bootstrapSeed, resamples: bootstrap) } }
    }

    /// The metric that chooses, for data of `space`.
    func metric(for space: LabelSpace) -> SelectionMetric { selectBy ?? .default(for: space) }

    /// Prints the summary, then writes the report (`--out`) and the test probabilities
    /// (`--probabilities-out`) atomically, when asked for.
    func finish<Result: Codable & Sendable>(_ result: Result, probabilities: Tensor?, source: ProbeSource, summary: String) throws {
        print(summary)
        if let out {
            let report = ProbeReport(source: source, result: result)
            try CommandFailure.wrap { try AtomicFile.write(report.encoded(), to: URL(fileURLWithPath: out)) }
            print("report          \(out)")
        }
        if let probabilitiesOut, let probabilities {
            try CommandFailure.wrap { try NumPyArray.write(probabilities, to: URL(fileURLWithPath: probabilitiesOut)) }
            print("probabilities   \(probabilitiesOut)")
        }
    }
}

/// Which stored features a kNN or logistic-regression probe reads.
struct ProbeFeatureOptions: ParsableArguments {
    @Option(help: "Class tokens of the last N stored blocks form the feature.")
    var blocks: Int = 1

    @Flag(help: "Append the last block's mean patch token to the feature.")
    var patchMean = false
}

/// `radprobe knn`.
struct KNNCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "knn",
        abstract: "DINOv2's weighted kNN (multi-class) or ML-kNN (multi-label): k chosen on validation, tested with train + validation as support.",
        discussion: """
        Multi-class data: cosine similarity of L2-normalised features, softmax of sim/T over the top max(k) \
        neighbours taken once, class scores summed over the first k (DINOv2's eval/knn.py). Multi-label \
        data: ML-kNN with smoothing 1 (unknown labels must be resolved by the dataset's policy first).
        """
    )

    @OptionGroup var input: ProbeInputOptions
    @OptionGroup var features: ProbeFeatureOptions

    @Option(help: "Neighbour counts to compare, comma-separated.")
    var k: String = "10,20,100,200"

    @Option(help: "Temperature of the vote (multi-class).")
    var temperature: Float = 0.07

    func run() async throws {
        let ks = try parseList(k, option: "--k", Int.init)
        let (data, source) = try input.load()
        let outcome = try CommandFailure.wrap {
            try KNNProtocol(neighbourCounts: ks, temperature: temperature, blocks: features.blocks, usesPatchMean: features.patchMean)
                .run(on: data, selectBy: input.metric(for: data.labelSpace), bootstrap: try input.bootstrapConfiguration,
                     context: input.compute.context)
        }
        try input.finish(outcome.result, probabilities: outcome.testProbabilities, source: source,
                         summary: ProbeSummary.text(outcome.result, dataset: data.dataset))
    }
}

/// Options of DINOv2's linear-probe grid.
struct LinearGridOptions: ParsableArguments {
    @Option(help: "Base learning rates, comma-separated, scaled by batch size / 256 (default: DINOv2's 13 from 1e-5 to 0.1).")
    var learningRates: String?

    @Option(help: "Numbers of last blocks a head reads, comma-separated.")
    var blockChoices: String = "1,4"

    @Option(help: "Passes over the training rows.")
    var epochs: Int = 10

    @Option(help: "Rows per SGD step.")
    var batchSize: Int = 128

    @Option(help: "Seed of the batch order and the initial weights.")
    var seed: UInt64 = 0

    /// The protocol these options describe.
    func probe() throws -> LinearProbeProtocol {
        guard epochs >= 1, batchSize >= 1 else { throw ValidationError("--epochs and --batch-size must be at least 1.") }
        return LinearProbeProtocol(learningRates: try learningRates.map { try parseList($0, option: "--learning-rates", Double.init) }
                                       ?? LinearProbeConfiguration.dinov2LearningRates,
                                   blockChoices: try parseList(blockChoices, option: "--block-choices", Int.init),
                                   epochs: epochs, batchSize: batchSize, seed: seed)
    }
}

/// `radprobe linear`.
struct LinearCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "linear",
        abstract: "DINOv2's linear-probe grid: every head trained together, the best on validation retrained on train + validation and tested."
    )

    @OptionGroup var input: ProbeInputOptions
    @OptionGroup var grid: LinearGridOptions

    func run() async throws {
        let probe = try grid.probe()
        let (data, source) = try input.load()
        let outcome = try CommandFailure.wrap {
            try probe.run(on: data, selectBy: input.metric(for: data.labelSpace), bootstrap: try input.bootstrapConfiguration,
                          context: input.compute.context, progress: PhaseProgress().update)
        }
        try input.finish(outcome.result, probabilities: outcome.testProbabilities, source: source,
                         summary: ProbeSummary.text(outcome.result, dataset: data.dataset))
    }
}

/// `radprobe logreg`.
struct LogisticRegressionCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "logreg",
        abstract: "DINOv2's logistic-regression sweep (L-BFGS, L2): C chosen on validation, refitted on train + validation and tested."
    )

    @OptionGroup var input: ProbeInputOptions
    @OptionGroup var features: ProbeFeatureOptions

    @Option(help: "Inverse regularisation strengths C, comma-separated (default: DINOv2's 45 from 1e-6 to 1e5).")
    var cValues: String?

    @Option(help: "L-BFGS iterations per fit.")
    var maxIterations: Int = LogisticRegression.defaultMaxIterations

    func run() async throws {
        let values = try cValues.map { try parseList($0, option: "--c-values", Double.init) } ?? LogisticRegression.dinov2InverseRegularisations
        let (data, source) = try input.load()
        let outcome = try CommandFailure.wrap {
            try LogisticRegressionProtocol(inverseRegularisations: values, blocks: features.blocks, usesPatchMean: features.patchMean,
                                           maxIterations: maxIterations)
                .run(on: data, selectBy: input.metric(for: data.labelSpace), bootstrap: try input.bootstrapConfiguration,
                     context: input.compute.context, progress: PhaseProgress().update)
        }
        try input.finish(outcome.result, probabilities: outcome.testProbabilities, source: source,
                         summary: ProbeSummary.text(outcome.result, dataset: data.dataset))
    }
}

/// `radprobe fewshot`.
struct FewShotCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fewshot",
        abstract: "Few-shot linear probing: n patients per class drawn from train (several seeded draws), heads chosen on validation, never trained on it.",
        discussion: "Reports the test macro AUROC (and accuracy for multi-class data) of each draw, and their mean and standard deviation per n."
    )

    @OptionGroup var input: ProbeInputOptions
    @OptionGroup var grid: LinearGridOptions

    @Option(help: "Patients per class, comma-separated.")
    var shots: String = "1,2,4,8,16"

    @Option(help: "Seeded draws per number of patients.")
    var draws: Int = 5

    @Option(help: "Seed of the draws.")
    var drawSeed: UInt64 = 0

    func run() async throws {
        let counts = try parseList(shots, option: "--shots", Int.init)
        guard draws >= 1 else { throw ValidationError("--draws must be at least 1.") }
        let probe = try grid.probe()
        let (data, source) = try input.load()
        guard case .store(_, let split, let store) = source else {
            throw ValidationError("Few-shot draws whole patients: give a feature store and its split, not .npy arrays.")
        }
        let result = try CommandFailure.wrap {
            try FewShotProtocol(patientsPerClass: counts, draws: draws, seed: drawSeed, probe: probe)
                .run(on: data, split: split, catalog: store.catalog, selectBy: input.metric(for: data.labelSpace),
                     bootstrap: try input.bootstrapConfiguration, context: input.compute.context, progress: PhaseProgress().update)
        }
        try input.finish(result, probabilities: nil, source: source, summary: ProbeSummary.text(result, dataset: data.dataset))
    }
}

extension SelectionMetric: ExpressibleByArgument {}

/// `1,2,4` → `[1, 2, 4]`; a malformed entry is a usage error naming the option.
func parseList<Value>(_ text: String, option: String, _ parse: (String) -> Value?) throws -> [Value] {
    let values = text.split(separator: ",").map { parse($0.trimmingCharacters(in: .whitespaces)) }
    guard !values.isEmpty, values.allSatisfy({ $0 != nil }) else {
        throw ValidationError("\(option) must be a comma-separated list of numbers (got '\(text)').")
    }
    return values.compactMap { $0 }
}
