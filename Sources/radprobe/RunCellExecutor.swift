import Backbones
import Datasets
import Evaluation
import Experiments
import FileAccess
import Foundation
import Models
import Results
import TensorKernels

/// What a cell produced, before it is recorded.
struct CellOutcome {
    var metrics: [MetricValue] = []
    var curves: [CurvePoint] = []
    var timings: [PhaseTiming] = []
    var artifacts: [Artifact] = []
}

/// Runs the cells of an experiment: classification probes on feature stores made once per model,
/// dataset and size under `<output>/stores/` (resumed when incomplete, reused when finished),
/// segmentation and fine-tuning from the dataset, their files under `<output>/segment/` and
/// `<output>/finetune/`.
final class RunCellExecutor {
    let inputs: RunInputs
    let context: ComputeContext
    private var loaded: (name: String, backbone: Backbone)?

    init(inputs: RunInputs, context: ComputeContext) {
        self.inputs = inputs
        self.context = context
    }

    var output: URL { inputs.experiment.output }

    /// Runs `cell` and returns what to record; throws what made it fail.
    func run(_ cell: ExperimentCell) throws -> CellOutcome {
        let dataset = try inputs.dataset(cell.dataset)
        switch cell.kind {
        case .knn, .linear, .logreg, .fewshot: return try runClassification(cell, dataset: dataset)
        case .segment: return try runSegmentation(cell, dataset: dataset)
        case .finetune: return try runFineTuning(cell, dataset: dataset)
        }
    }

    /// The model's backbone (the last one loaded is kept).
    func backbone(of model: String) throws -> Backbone {
        if let loaded, loaded.name == model { return loaded.backbone }
        guard let entry = inputs.model(named: model) else { throw CommandFailure("no model \(model) in the experiment") }
        _ = try inputs.checkpointSHA256(of: model)
        let file = try inputs.checkpoint(of: model)
        let backbone = try CommandFailure.wrap { try Backbone(contentsOf: file, preset: entry.preset.flatMap(BackboneCatalog.preset(named:))) }
        loaded = (model, backbone)
        return backbone
    }

    /// The model's DINOv2 transformer, for the protocols that run it in the training loop (as the study's do).
    func dinov2Transformer(of model: String, for protocolName: String) throws -> VisionTransformer {
        let backbone = try backbone(of: model)
        guard backbone.family == .dinov2, let transformer = backbone.visionTransformer else {
            throw CommandFailure("\(protocolName) runs on DINOv2 backbones, as the study's protocol does; model \(model) is a \(backbone.family) (\(backbone.architectureName))")
        }
        return transformer
    }

    /// The folder of a cell's files: `<output>/<kind>/<model>/<dataset>-<size>/<protocol>-seed<seed>-<hash prefix>`.
    func folder(of cell: ExperimentCell, kind: String) throws -> URL {
        let hash = try inputs.configuration(of: cell).hash.prefix(12)
        return output.appendingPathComponent("\(kind)/\(cell.model)/\(cell.dataset)-\(cell.size)/\(cell.protocolName)-seed\(cell.seed)-\(hash)")
    }

    /// A path relative to the database's folder.
    func relativePath(_ url: URL) -> String {
        let base = output.standardizedFileURL.path + "/", path = url.standardizedFileURL.path
        return path.hasPrefix(base) ? String(path.dropFirst(base.count)) : path
    }

    /// The store of class tokens and patch means of the last min(4, depth) blocks for the model, dataset
    /// and size, at `<output>/stores/<model>-<checkpoint hash prefix>/<dataset>-<size>`; `extracted` tells
    /// whether this call wrote any of it.
    func featureStore(model: String, dataset: RunInputs.PreparedDataset, size: Int) throws -> (store: FeatureStore, extracted: Bool) {
        let checkpoint = try inputs.checkpointSHA256(of: model)
        let url = output.appendingPathComponent("stores/\(model)-\(checkpoint.prefix(12))/\(dataset.entry.key)-\(size)")
        if let finished = try? FeatureStore.open(at: url) { return (finished, false) }
        let backbone = try backbone(of: model)
        let extraction = FeatureExtraction(catalog: dataset.catalog, items: dataset.catalog.items, backbone: backbone,
                                           checkpoint: try inputs.checkpoint(of: model), size: size,
                                           layers: min(4, backbone.layerCount), patchTokens: .mean,
                                           keepSlices: dataset.catalog.holdsVolumes, chunkSize: 64, batchSize: 16, shard: nil, out: url)
        FileHandle.standardError.write(Data("extracting features of \(dataset.entry.key) with \(model) at \(size) into \(url.path)\n".utf8))
        _ = try extraction.run(context: context) { done, total in
            FileHandle.standardError.write(Data("resuming \(url.path): \(done) of \(total) chunks already written\n".utf8))
        }
        return (try CommandFailure.wrap { try FeatureStore.open(at: url) }, true)
    }
}
