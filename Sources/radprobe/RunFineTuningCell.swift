import ClassificationFineTuning
import ClassificationProtocols
import Datasets
import Experiments
import FileAccess
import FineTuning
import Foundation
import MedicalImaging
import Metrics
import Results

extension RunCellExecutor {
    /// A fine-tuning cell (full, LoRA or BitFit at one backbone learning rate): trained in its own folder
    /// (resumed there after an interruption), the best epoch on validation tested.
    func runFineTuning(_ cell: ExperimentCell, dataset: RunInputs.PreparedDataset) throws -> CellOutcome {
        let seed = UInt64(cell.seed)
        let backbone = try dinov2Transformer(of: cell.model, for: "fine-tuning")
        guard cell.size % backbone.configuration.patchSize == 0 else {
            throw CommandFailure("size \(cell.size) is not a multiple of the patch size \(backbone.configuration.patchSize)")
        }
        let pipeline = PreprocessingPipeline.study(size: cell.size, modality: dataset.catalog.modality)
        let run = try CommandFailure.wrap {
            let mode: FineTuningMode
            switch cell.protocolName {
            case "finetune-full": mode = .full
            case "finetune-bitfit": mode = .bitFit
            default:
                mode = .lora(try LoRAConfiguration(rank: try cell.setting("lora_rank", \.intValue), alpha: Float(try cell.setting("lora_alpha", \.doubleValue)),
                                                   dropout: Float(try cell.setting("lora_dropout", \.doubleValue)), targets: LoRAConfiguration.study.targets))
            }
            let clipNorm = try cell.setting("clip_norm", \.doubleValue) // 0: no clipping
            let configuration = try FineTuningConfiguration(
                mode: mode, headLearningRate: try cell.setting("head_learning_rate", \.doubleValue),
                backboneLearningRate: try cell.setting("backbone_learning_rate", \.doubleValue), weightDecay: try cell.setting("weight_decay", \.doubleValue),
                warmupEpochs: try cell.setting("warmup_epochs", \.intValue), epochs: try cell.setting("epochs", \.intValue),
                batchSize: try cell.setting("batch_size", \.intValue), clipNorm: clipNorm == 0 ? nil : Float(clipNorm), seed: seed,
                augmentation: try cell.setting("augmentation", \.boolValue), recomputeBlocks: false)
            let identity = FineTuningIdentity(dataset: dataset.catalog.name, classNames: dataset.catalog.labelSpace.names,
                                              splitSha256: dataset.splitSHA256, checkpointSha256: try inputs.checkpointSHA256(of: cell.model),
                                              inputSize: cell.size, preprocessing: pipeline.description)
            let (data, unreadable) = try FineTuningData(catalog: dataset.catalog, split: dataset.split).withoutUnreadablePictures()
            for item in unreadable {
                FileHandle.standardError.write(Data("\(cell.model) \(cell.dataset): skipped \(item.id): \(item.error)\n".utf8))
            }
            return FineTuningRun(data: data, pipeline: pipeline,
                                 configuration: configuration, identity: identity, folder: try folder(of: cell, kind: "finetune"))
        }
        let progress = FineTuneProgress(epochs: run.configuration.epochs)
        let outcome = try CommandFailure.wrap { try run.run(backbone: backbone, context: context, events: progress.report) }
        progress.finish()
        var metrics = try CommandFailure.wrap {
            try outcome.testProbabilities.map {
                Self.metrics(try ClassificationMetrics(scores: $0, labels: run.data.test.map(\.labels), patients: run.data.test.map(\.patient),
                                                       labelSpace: run.data.labelSpace,
                                                       bootstrap: BootstrapConfiguration(seed: seed, resamples: inputs.experiment.bootstrap)))
            } ?? []
        }
        metrics += [MetricValue(name: "trainable_parameters", value: Double(outcome.budget.trainable)),
                    MetricValue(name: "total_parameters", value: Double(outcome.budget.total))]
        var curves: [CurvePoint] = []
        for record in outcome.record.curves {
            curves += [CurvePoint(name: "train_loss", epoch: record.epoch, value: record.trainLoss),
                       CurvePoint(name: "val_loss", epoch: record.epoch, value: record.validationLoss)]
            if let auroc = record.validationAurocMacro { curves.append(CurvePoint(name: "val_auroc_macro", epoch: record.epoch, value: auroc)) }
        }
        return CellOutcome(metrics: metrics, curves: curves,
                           timings: [PhaseTiming(phase: "train", seconds: outcome.trainingSeconds), PhaseTiming(phase: "test", seconds: outcome.testSeconds)],
                           artifacts: [Artifact(kind: "checkpoint", path: relativePath(run.bestURL))])
    }
}
