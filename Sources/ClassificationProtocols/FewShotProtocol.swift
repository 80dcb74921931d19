import Datasets
import Foundation
import Metrics
import TensorKernels

/// The few-shot protocol: for each n in `patientsPerClass`, `draws` seeded subsets of the training part
/// holding n patients per class (`DatasetSplit.fewShot`: per finding for multi-label data), the linear
/// probe trained on each subset alone, its heads compared on the full validation part and the best
/// tested on the full test part. Validation rows are never trained on (the study's code merged them
/// into the few-shot training set); the test metric's mean and sample standard deviation over the
/// draws are reported per n.
public struct FewShotProtocol: Sendable {
    /// The numbers of patients per class.
    public var patientsPerClass: [Int]
    /// Draws per number.
    public var draws: Int
    /// Seed of the draws (each n draws from its own generator seeded `seed`).
    public var seed: UInt64
    /// The probe trained on each draw (its refit on validation is switched off).
    public var probe: LinearProbeProtocol

    /// 1, 2, 4, 8 and 16 patients per class, 5 draws each.
    public init(patientsPerClass: [Int] = [1, 2, 4, 8, 16], draws: Int = 5, seed: UInt64 = 0,
                probe: LinearProbeProtocol = LinearProbeProtocol()) {
        self.patientsPerClass = patientsPerClass
        self.draws = draws
        self.seed = seed
        self.probe = probe
    }

    /// Runs the protocol on `data`, whose parts come from `split` of `catalog` (the store's items).
    public func run(on data: ProbeDataset, split: DatasetSplit, catalog: DatasetCatalog, selectBy metric: SelectionMetric,
                    bootstrap: BootstrapConfiguration, context: ComputeContext, progress: ProbeProgress? = nil) throws -> FewShotResult {
        guard !patientsPerClass.isEmpty else { throw ProbeProtocolError("no number of patients per class to draw") }
        guard data.validation != nil else { throw ProbeProtocolError("few-shot heads are chosen on validation rows; give a split with a validation part") }
        var probe = self.probe
        probe.refitsOnValidation = false
        var completed = 0
        let points = try patientsPerClass.map { n -> FewShotPoint in
            let subsets = try split.fewShot(from: catalog, patientsPerClass: n, draws: draws, seed: seed)
            let results = try subsets.map { subset -> FewShotDrawResult in
                let train = try data.train.keeping(Set(subset.ids))
                let result = try probe.run(on: data.replacing(train: train), selectBy: metric, bootstrap: bootstrap, context: context).result
                completed += 1
                progress?("training on few-shot draws", "draws", completed, patientsPerClass.count * draws)
                return FewShotDrawResult(patients: subset.patients, items: train.count, chosen: result.chosen, test: result.test)
            }
            return FewShotPoint(patientsPerClass: n, draws: results)
        }
        return FewShotResult(configuration: ["patients_per_class": patientsPerClass.map(String.init).joined(separator: ","),
                                             "draws": "\(draws)", "seed": "\(seed)", "probe": "linear (trained on the draw only)"]
                                 .merging(probe.recordedConfiguration) { mine, _ in mine },
                             selectionMetric: metric, points: points)
    }
}

/// One draw: its patients, the rows they hold, the head chosen on validation, and its test metrics.
public struct FewShotDrawResult: Codable, Sendable, Equatable {
    public let patients: [String]
    public let items: Int
    public let chosen: String
    /// Nil when the test rows have no labels.
    public let test: ClassificationMetrics?
}

/// The draws of one n, and the mean and sample standard deviation (n − 1 in the denominator; nil for
/// one draw) of their test macro AUROC and, for multi-class data, accuracy.
public struct FewShotPoint: Codable, Sendable, Equatable {
    public let patientsPerClass: Int
    public let draws: [FewShotDrawResult]
    public let aurocMacroMean: Double?
    public let aurocMacroStd: Double?
    public let accuracyMean: Double?
    public let accuracyStd: Double?

    init(patientsPerClass: Int, draws: [FewShotDrawResult]) {
        self.patientsPerClass = patientsPerClass
        self.draws = draws
        (aurocMacroMean, aurocMacroStd) = Self.spread(draws.compactMap { $0.test?.aurocMacro.value })
        (accuracyMean, accuracyStd) = Self.spread(draws.compactMap { $0.test?.accuracy?.value })
    }

    /// Mean and sample standard deviation of `values` (nil when there are none / fewer than two).
    static func spread(_ values: [Double]) -> (Double?, Double?) {
        guard !values.isEmpty else { return (nil, nil) }
        let mean = values.reduce(0, +) / Double(values.count)
        guard values.count > 1 else { return (mean, nil) }
        return (mean, (values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(values.count - 1)).squareRoot())
    }
}

/// The few-shot protocol's outcome: settings, the selection metric, one point per n.
public struct FewShotResult: Codable, Sendable, Equatable {
    public let configuration: [String: String]
    public let selectionMetric: SelectionMetric
    public let points: [FewShotPoint]
}
