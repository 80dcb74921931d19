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
        let seed = UInt64(cell.seed)
        let bootstrap = try CommandFailure.wrap { try BootstrapConfiguration(seed: seed, resamples: inputs.experiment.bootstrap) }
        let metric = SelectionMetric.default(for: data.labelSpace)
        let linear = {
            LinearProbeProtocol(learningRates: try cell.setting("learning_rates", \.doubles), blockChoices: try cell.setting("blocks", \.ints),
                                epochs: try cell.setting("epochs", \.intValue), batchSize: try cell.setting("batch_size", \.intValue), seed: seed)
        }
        let start = Date()
        let test: ClassificationMetrics? = try CommandFailure.wrap {
            switch cell.kind {
            case .knn:
                try KNNProtocol(neighbourCounts: try cell.setting("k", \.ints), temperature: Float(try cell.setting("temperature", \.doubleValue)),
                                blocks: try cell.setting("blocks", \.intValue), usesPatchMean: try cell.setting("patch_mean", \.boolValue))
                    .run(on: data, selectBy: metric, bootstrap: bootstrap, context: context).result.test
            case .linear:
                try linear().run(on: data, selectBy: metric, bootstrap: bootstrap, context: context, progress: PhaseProgress().update).result.test
            case .logreg:
                try LogisticRegressionProtocol(inverseRegularisations: try cell.setting("c", \.doubles), blocks: try cell.setting("blocks", \.intValue),
                                               usesPatchMean: try cell.setting("patch_mean", \.boolValue),
                                               maxIterations: try cell.setting("max_iterations", \.intValue))
                    .run(on: data, selectBy: metric, bootstrap: bootstrap, context: context, progress: PhaseProgress().update).result.test
            case .fewshot:
                try fewShotDraw(cell, data: data, dataset: dataset, probe: try linear(), metric: metric, bootstrap: bootstrap)
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
        let (shots, draw, draws) = (try cell.setting("shots", \.intValue), try cell.setting("draw", \.intValue), try cell.setting("draws", \.intValue))
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
