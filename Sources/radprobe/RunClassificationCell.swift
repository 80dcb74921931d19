import ClassificationProtocols
import Datasets
import Evaluation
import Experiments
import Foundation
import Metrics
import Results

extension RunCellExecutor {
    /// A kNN, linear, logistic-regression or few-shot cell on the feature store of its model, dataset and size.
    func runClassification(_ cell: ExperimentCell, dataset: RunInputs.PreparedDataset) throws -> CellOutcome {
        var timings: [PhaseTiming] = []
        let clock = Date()
        let store = try featureStore(model: cell.model, dataset: dataset, size: cell.size)
        if store.extracted { timings.append(PhaseTiming(phase: "features", seconds: Date().timeIntervalSince(clock))) }
        let data = try CommandFailure.wrap { try ProbeDataset(store: store.store, split: dataset.split, splitFile: dataset.splitURL.path) }
        let settings = cell.settings, seed = UInt64(cell.seed)
        let bootstrap = try CommandFailure.wrap { try BootstrapConfiguration(seed: seed, resamples: inputs.experiment.bootstrap) }
        let metric = SelectionMetric.default(for: data.labelSpace)
        let linear = { (rates: String) in
            LinearProbeProtocol(learningRates: settings[rates]?.doubles ?? [], blockChoices: settings["blocks"]?.ints ?? [1],
                                epochs: settings["epochs"]?.intValue ?? 1, batchSize: settings["batch_size"]?.intValue ?? 1, seed: seed)
        }
        let start = Date()
        let test: ClassificationMetrics? = try CommandFailure.wrap {
            switch cell.kind {
            case .knn:
                try KNNProtocol(neighbourCounts: settings["k"]?.ints ?? [], temperature: Float(settings["temperature"]?.doubleValue ?? 0.07),
                                       blocks: settings["blocks"]?.intValue ?? 1, usesPatchMean: settings["patch_mean"]?.boolValue ?? false)
                    .run(on: data, selectBy: metric, bootstrap: bootstrap, context: context).result.test
            case .linear:
                try linear("learning_rates").run(on: data, selectBy: metric, bootstrap: bootstrap, context: context,
                                                        progress: PhaseProgress().update).result.test
            case .logreg:
                try LogisticRegressionProtocol(inverseRegularisations: settings["c"]?.doubles ?? [], blocks: settings["blocks"]?.intValue ?? 1,
                                                      usesPatchMean: settings["patch_mean"]?.boolValue ?? false,
                                                      maxIterations: settings["max_iterations"]?.intValue ?? 1000)
                    .run(on: data, selectBy: metric, bootstrap: bootstrap, context: context, progress: PhaseProgress().update).result.test
            case .fewshot:
                try fewShotDraw(cell, data: data, dataset: dataset, probe: linear("learning_rates"), metric: metric, bootstrap: bootstrap)
            case .segment, .finetune:
                throw CommandFailure("\(cell.protocolName) is not a classification protocol")
            }
        }
        timings.append(PhaseTiming(phase: "train", seconds: Date().timeIntervalSince(start)))
        return CellOutcome(metrics: test.map(Self.metrics) ?? [], timings: timings)
    }

    /// The test metrics of the linear probe trained on draw `draw` of `shots` patients per class (the
    /// draws of `FewShotProtocol`: `DatasetSplit.fewShot` seeded by the cell's seed), chosen on validation.
    private func fewShotDraw(_ cell: ExperimentCell, data: ProbeDataset, dataset: RunInputs.PreparedDataset, probe: LinearProbeProtocol,
                             metric: SelectionMetric, bootstrap: BootstrapConfiguration) throws -> ClassificationMetrics? {
        guard let shots = cell.settings["shots"]?.intValue, let draw = cell.settings["draw"]?.intValue,
              let draws = cell.settings["draws"]?.intValue else { throw CommandFailure("a few-shot cell needs shots, draw and draws") }
        guard data.validation != nil else { throw CommandFailure("few-shot heads are chosen on validation rows; the split has no validation part") }
        var probe = probe
        probe.refitsOnValidation = false
        let subsets = try dataset.split.fewShot(from: dataset.catalog, patientsPerClass: shots, draws: draws, seed: UInt64(cell.seed))
        let train = try data.train.keeping(Set(subsets[draw].ids))
        return try probe.run(on: data.replacing(train: train), selectBy: metric, bootstrap: bootstrap, context: context).result.test
    }

    /// `auroc_macro`, `accuracy`, `balanced_accuracy` and per-class `auroc`, with their intervals.
    static func metrics(_ test: ClassificationMetrics) -> [MetricValue] {
        func value(_ name: String, _ estimate: IntervalEstimate, className: String? = nil) -> MetricValue {
            MetricValue(name: name, className: className, value: estimate.value, lower: estimate.lower, upper: estimate.upper)
        }
        var metrics = [value("auroc_macro", test.aurocMacro)]
        if let accuracy = test.accuracy { metrics.append(value("accuracy", accuracy)) }
        if let balanced = test.balancedAccuracy { metrics.append(MetricValue(name: "balanced_accuracy", value: balanced)) }
        for (name, estimate) in zip(test.classNames, test.aurocPerClassInterval) { metrics.append(value("auroc", estimate, className: name)) }
        return metrics
    }
}
