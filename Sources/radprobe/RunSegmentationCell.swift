import Datasets
import Experiments
import Foundation
import MedicalImaging
import Metrics
import Results
import SegmentationTraining

extension RunCellExecutor {
    /// A segmentation cell: its decoder trained on the frozen backbone (none for `segment-scratch`), the
    /// learning rate chosen on validation, the test cases scored and their predictions written as artifacts.
    func runSegmentation(_ cell: ExperimentCell, dataset: RunInputs.PreparedDataset) throws -> CellOutcome {
        guard case .segmentation(let classes) = dataset.catalog.labelSpace else {
            throw CommandFailure("\(dataset.catalog.name) is not a segmentation dataset (its items carry no masks)")
        }
        let decoderName = String(cell.protocolName.dropFirst("segment-".count))
        guard let decoder = SegmentCommand.Decoder(rawValue: decoderName) else { throw CommandFailure("unknown decoder \(decoderName)") }
        let backbone = cell.usesBackbone ? try dinov2Transformer(of: cell.model, for: "segmentation") : nil
        if let backbone, cell.size % backbone.configuration.patchSize != 0 {
            throw CommandFailure("size \(cell.size) is not a multiple of the patch size \(backbone.configuration.patchSize)")
        }
        let parts = try SegmentCommand.parts(of: dataset.catalog, split: dataset.split, file: dataset.splitURL.path)
        let folder = try folder(of: cell, kind: "segment"), predictions = folder.appendingPathComponent("predictions")
        let (training, reader) = try CommandFailure.wrap {
            let loss = try cell.setting("loss") { $0.stringValue.flatMap(SegmentationLossKind.init(rawValue:)) }
            let training = try SegmentationTrainingConfiguration(learningRates: try cell.setting("learning_rates", \.doubles),
                                                                 epochs: try cell.setting("epochs", \.intValue), batchSize: try cell.setting("batch_size", \.intValue),
                                                                 loss: loss, augmentation: nil, weightDecay: try cell.setting("weight_decay", \.doubleValue),
                                                                 seed: UInt64(cell.seed))
            let reader = try SegmentationCaseReader(classes: classes, pipeline: PreprocessingPipeline.study(size: cell.size, modality: dataset.catalog.modality))
            try FileManager.default.createDirectory(at: predictions, withIntermediateDirectories: true)
            return (training, reader)
        }
        let scratchWidth = decoder == .scratch ? try CommandFailure.wrap { try cell.setting("scratch_width", \.intValue) } : nil
        let job = SegmentationJob(decoder: decoder, scratchWidth: scratchWidth, parts: parts, backbone: backbone,
                                  settings: training, reader: reader, storedGrids: nil)
        var artifacts: [Artifact] = []
        let outcome = try job.run(context: context) { item, prediction in
            let url = try SegmentationReport.writePrediction(prediction, of: item, into: predictions)
            artifacts.append(Artifact(kind: url.pathExtension == "png" ? "overlay" : "prediction", path: self.relativePath(url)))
        }
        let cohort = try CommandFailure.wrap { try SegmentationCohortScores(cases: outcome.testCases.map { $0.scores }) }
        var metrics = [MetricValue(name: "dice_mean", value: cohort.meanDice), MetricValue(name: "jaccard_mean", value: cohort.meanJaccard),
                       MetricValue(name: "score", value: cohort.studyScore)]
        let foreground = Array(classes.enumerated().dropFirst())
        metrics.append(MetricValue(name: "hd95_mm_mean", value: SegmentationReport.testMeans(cohort)["mean_hd95_mm"] as? Double))
        for (label, name) in foreground {
            metrics += [MetricValue(name: "dice", className: name, value: cohort.meanDice(label: label)),
                        MetricValue(name: "jaccard", className: name, value: cohort.meanJaccard(label: label)),
                        MetricValue(name: "hd95_mm", className: name, value: cohort.meanHausdorff(label: label))]
        }
        let parameters = outcome.stateDict.values.reduce(0) { $0 + $1.shape.reduce(1, *) }
        metrics += [MetricValue(name: "trainable_parameters", value: Double(outcome.trainableParameters)),
                    MetricValue(name: "total_parameters", value: Double(parameters))]
        let selected = outcome.trials.first { $0.learningRate == outcome.selectedLearningRate }
        let curves = (selected?.epochLosses ?? []).enumerated().map { CurvePoint(name: "train_loss", epoch: $0.offset + 1, value: Double($0.element)) }
        let timings = outcome.seconds.sorted { $0.key < $1.key }.map { PhaseTiming(phase: $0.key, seconds: $0.value) }
        return CellOutcome(metrics: metrics, curves: curves, timings: timings, artifacts: artifacts)
    }
}
