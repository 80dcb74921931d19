import ArgumentParser
import ClassificationProtocols
import Datasets
import Evaluation
import FileAccess
import Foundation
import LinearProbes
import Metrics

/// `radprobe probe`: the study's classification protocols on a feature store and a split file.
struct ProbeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "probe",
        abstract: "Run a classification protocol (knn, linear, logreg, fewshot) on a feature store and a split file.",
        subcommands: [ProbeKNN.self, ProbeLinear.self, ProbeLogisticRegression.self, ProbeFewShot.self]
    )
}

/// The store, the split, the selection metric, the bootstrap and where the report goes.
struct ProbeInputOptions: ParsableArguments {
    @Argument(help: ArgumentHelp("The feature store (radprobe extract).", valueName: "store"))
    var store: String

    @Option(help: "The split file (radprobe datasets split) of the store's dataset.")
    var split: String

    @Option(help: "Validation metric that chooses among candidates: auroc-macro or accuracy (default: accuracy for multi-class data, auroc-macro otherwise).")
    var selectBy: SelectionMetric?

    @Option(help: "Bootstrap resamples (over test patients) for the confidence intervals.")
    var bootstrap: Int = 1000

    @Option(help: "Seed of the bootstrap.")
    var bootstrapSeed: UInt64 = 0

    @Option(help: "Write the report (JSON: provenance, settings, every candidate's validation score, test metrics) here.")
    var out: String?

    @OptionGroup var compute: ComputeOptions

    func validate() throws {
        if bootstrap < 1 { throw ValidationError("--bootstrap must be at least 1 (got \(bootstrap)).") }
    }

    /// The store's rows by the split, and everything a report records about them.
    func load() throws -> (data: ProbeDataset, split: DatasetSplit, store: FeatureStore, provenance: ProbeProvenance) {
        try CommandFailure.wrap {
            let store = try FeatureStore.open(at: URL(fileURLWithPath: self.store))
            let splitURL = URL(fileURLWithPath: split)
            let split = try SplitFile.read(splitURL)
            let data = try ProbeDataset(store: store, split: split, splitFile: splitURL.path)
            for (part, ids) in data.missingRows.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
                FileHandle.standardError.write(Data("note: \(ids.count) \(part.rawValue) items have no stored features (skipped during extraction), e.g. \(ids[0])\n".utf8))
            }
            return (data, split, store, try ProbeProvenance(store: store, splitFile: splitURL, split: split, data: data,
                                                            radprobeVersion: RadProbeVersion.current))
        }
    }

    /// The bootstrap settings.
    var bootstrapConfiguration: BootstrapConfiguration {
        get throws { try CommandFailure.wrap { try BootstrapConfiguration(seed: bootstrapSeed, resamples: bootstrap) } }
    }

    /// The metric that chooses, for data of `space`.
    func metric(for space: LabelSpace) -> SelectionMetric { selectBy ?? .default(for: space) }

    /// Writes `report` to `--out` atomically, when given.
    func write<Result>(_ report: ProbeReport<Result>) throws {
        guard let out else { return }
        try CommandFailure.wrap { try AtomicFile.write(report.encoded(), to: URL(fileURLWithPath: out)) }
        print("report    \(out)")
    }
}

/// Which stored features a kNN or logistic-regression probe reads.
struct ProbeFeatureOptions: ParsableArguments {
    @Option(help: "Class tokens of the last N stored blocks form the feature.")
    var blocks: Int = 1

    @Flag(help: "Append the last block's mean patch token to the feature.")
    var patchMean = false
}

/// `radprobe probe knn`.
struct ProbeKNN: AsyncParsableCommand {
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
        let (data, _, _, provenance) = try input.load()
        let result = try CommandFailure.wrap {
            try KNNProtocol(neighbourCounts: ks, temperature: temperature, blocks: features.blocks, usesPatchMean: features.patchMean)
                .run(on: data, selectBy: input.metric(for: data.labelSpace), bootstrap: try input.bootstrapConfiguration,
                     context: input.compute.context)
        }
        print(ProbeSummary.text(result, dataset: data.dataset))
        try input.write(ProbeReport(provenance: provenance, result: result))
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

/// `radprobe probe linear`.
struct ProbeLinear: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "linear",
        abstract: "DINOv2's linear-probe grid: every head trained together, the best on validation retrained on train + validation and tested."
    )

    @OptionGroup var input: ProbeInputOptions
    @OptionGroup var grid: LinearGridOptions

    func run() async throws {
        let probe = try grid.probe()
        let (data, _, _, provenance) = try input.load()
        let result = try CommandFailure.wrap {
            try probe.run(on: data, selectBy: input.metric(for: data.labelSpace), bootstrap: try input.bootstrapConfiguration,
                          context: input.compute.context)
        }
        print(ProbeSummary.text(result, dataset: data.dataset))
        try input.write(ProbeReport(provenance: provenance, result: result))
    }
}

/// `radprobe probe logreg`.
struct ProbeLogisticRegression: AsyncParsableCommand {
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
        let (data, _, _, provenance) = try input.load()
        let result = try CommandFailure.wrap {
            try LogisticRegressionProtocol(inverseRegularisations: values, blocks: features.blocks, usesPatchMean: features.patchMean,
                                           maxIterations: maxIterations)
                .run(on: data, selectBy: input.metric(for: data.labelSpace), bootstrap: try input.bootstrapConfiguration,
                     context: input.compute.context)
        }
        print(ProbeSummary.text(result, dataset: data.dataset))
        try input.write(ProbeReport(provenance: provenance, result: result))
    }
}

/// `radprobe probe fewshot`.
struct ProbeFewShot: AsyncParsableCommand {
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
        let (data, split, store, provenance) = try input.load()
        let result = try CommandFailure.wrap {
            try FewShotProtocol(patientsPerClass: counts, draws: draws, seed: drawSeed, probe: probe)
                .run(on: data, split: split, catalog: store.catalog, selectBy: input.metric(for: data.labelSpace),
                     bootstrap: try input.bootstrapConfiguration, context: input.compute.context)
        }
        print(ProbeSummary.text(result, dataset: data.dataset))
        try input.write(ProbeReport(provenance: provenance, result: result))
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
