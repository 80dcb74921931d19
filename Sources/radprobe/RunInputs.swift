import Backbones
import Datasets
import Experiments
import FileAccess
import Foundation
import ModelDownloads
import MedicalImaging
import Results

/// What an experiment's cells are made from, prepared once and kept: each checkpoint's SHA-256, each
/// dataset's catalog and split (a split method's file is written under `<output>/splits/` unless
/// `writesSplits` is false, as in a dry run). A failure (a missing root or checkpoint) is kept too, so
/// every cell that needs the input fails with the same message.
final class RunInputs {
    /// A dataset ready for its cells.
    struct PreparedDataset {
        let entry: Experiment.Dataset
        let catalog: DatasetCatalog
        let split: DatasetSplit
        /// The split file (written for a split method).
        let splitURL: URL
        let splitSHA256: String
    }

    let experiment: Experiment
    let writesSplits: Bool
    private var checkpoints: [String: Result<String, CommandFailure>] = [:]
    private var datasets: [String: Result<PreparedDataset, CommandFailure>] = [:]

    init(experiment: Experiment, writesSplits: Bool) {
        self.experiment = experiment
        self.writesSplits = writesSplits
    }

    /// The names an experiment file may use, from RadProbe's registries.
    static let vocabulary = ExperimentVocabulary(datasets: DatasetRegistry.names, splitMethods: DatasetsSplit.Method.allCases.map(\.rawValue),
                                                 uncertainPolicies: UncertainLabelPolicy.allCases.map(\.rawValue),
                                                 modalities: PreprocessingPipeline.Modality.allCases.map(\.rawValue),
                                                 presets: BackboneCatalog.presets.map(\.name))

    func model(named name: String) -> Experiment.Model? { experiment.models.first { $0.name == name } }

    /// The model's checkpoint file: its `checkpoint`, else its preset's file in the download cache.
    func checkpoint(of name: String) throws -> URL {
        guard let model = model(named: name) else { throw CommandFailure("no model \(name) in the experiment") }
        if let checkpoint = model.checkpoint {
            guard FileManager.default.fileExists(atPath: checkpoint.path) else {
                throw CommandFailure("checkpoint \(checkpoint.path) of model \(name) does not exist")
            }
            return checkpoint
        }
        let preset = BackboneCatalog.preset(named: model.preset!)!
        let cache = try CommandFailure.wrap { try ModelCache.standard() }
        guard let file = preset.cachedFile(in: cache) else {
            throw CommandFailure("model \(name) names preset \(preset.name) without a checkpoint, and the download cache \(cache.directory.path) does not hold it: run radprobe models download \(preset.name)")
        }
        return file
    }

    /// SHA-256 of the model's checkpoint.
    func checkpointSHA256(of name: String) throws -> String {
        try cached(&checkpoints, name) {
            try CommandFailure.wrap { try SHA256.hex(contentsOf: try checkpoint(of: name)) }
        }.get()
    }

    /// The dataset's catalog and split.
    func dataset(_ name: String) throws -> PreparedDataset {
        try cached(&datasets, name) {
            guard let entry = experiment.datasets.first(where: { $0.key == name }) else { throw CommandFailure("no dataset \(name) in the experiment") }
            guard FileManager.default.fileExists(atPath: entry.root.path) else {
                throw CommandFailure("the root \(entry.root.path) of dataset \(name) does not exist")
            }
            let adapter = DatasetRegistry.adapter(named: entry.name, uncertainLabels: entry.uncertain.flatMap(UncertainLabelPolicy.init) ?? .zeros,
                                                  manifestModality: entry.modality.flatMap(PreprocessingPipeline.Modality.init) ?? .other)
            guard let adapter else { throw CommandFailure("unknown dataset \(entry.name)") }
            let catalog = try CommandFailure.wrap { try adapter.catalog(root: entry.root) }
            switch entry.split {
            case .file(let url):
                let split = try CommandFailure.wrap { try SplitFile.read(url) }
                return PreparedDataset(entry: entry, catalog: catalog, split: split, splitURL: url,
                                       splitSHA256: try CommandFailure.wrap { try SHA256.hex(contentsOf: url) })
            case .method(let method, let seed, let validation, let test):
                let url = experiment.output.appendingPathComponent("splits/\(name).csv")
                let splitMethod = DatasetsSplit.Method(rawValue: method)!.splitMethod(seed: seed, validation: validation, test: test)
                return try CommandFailure.wrap {
                    let split = try DatasetSplit(catalog: catalog, method: splitMethod)
                    let bytes = try SplitFile.encode(split, file: url.path)
                    if writesSplits {
                        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
                        try AtomicFile.write(bytes, to: url)
                    }
                    return PreparedDataset(entry: entry, catalog: catalog, split: split, splitURL: url, splitSHA256: SHA256.hex([UInt8](bytes)))
                }
            }
        }.get()
    }

    /// The cell's configuration with the hashes of its checkpoint and split, its dataset's reading options
    /// and (for classification) the bootstrap; throws when an input is missing.
    func configuration(of cell: ExperimentCell) throws -> CanonicalConfiguration {
        try configuration(of: cell, checkpointSHA256: cell.usesBackbone ? try checkpointSHA256(of: cell.model) : nil,
                          splitSHA256: try dataset(cell.dataset).splitSHA256)
    }

    /// The configuration with whatever inputs are known, for recording a cell that failed.
    func partialConfiguration(of cell: ExperimentCell) throws -> CanonicalConfiguration {
        try configuration(of: cell, checkpointSHA256: cell.usesBackbone ? try? checkpointSHA256(of: cell.model) : nil,
                          splitSHA256: try? dataset(cell.dataset).splitSHA256)
    }

    private func configuration(of cell: ExperimentCell, checkpointSHA256: String?, splitSHA256: String?) throws -> CanonicalConfiguration {
        var extra: [String: ConfigurationValue] = [:]
        if cell.kind != .segment { extra["bootstrap"] = .int(experiment.bootstrap) }
        if let preset = model(named: cell.model)?.preset { extra["preset"] = .string(preset) }
        if let entry = experiment.datasets.first(where: { $0.key == cell.dataset }) {
            if entry.label != nil { extra["registry_dataset"] = .string(entry.name) }
            if let uncertain = entry.uncertain { extra["uncertain"] = .string(uncertain) }
            if let modality = entry.modality { extra["modality"] = .string(modality) }
        }
        return try CommandFailure.wrap { try cell.configuration(checkpointSHA256: checkpointSHA256, splitSHA256: splitSHA256, extra: extra) }
    }

    private func cached<Value>(_ cache: inout [String: Result<Value, CommandFailure>], _ key: String,
                               _ make: () throws -> Value) -> Result<Value, CommandFailure> {
        if let known = cache[key] { return known }
        let result: Result<Value, CommandFailure>
        do { result = .success(try make()) } catch { result = .failure(error as? CommandFailure ?? CommandFailure(String(describing: error))) }
        cache[key] = result
        return result
    }
}
