import Foundation
import Results

/// One evaluation of an experiment: a model on a dataset at an input size under one protocol's settings
/// and a seed. `protocolName` is the name results use (`knn`, `segment-unet`, `finetune-lora`, …, see
/// docs/results.md); `settings` hold the protocol's grid with the axes that split cells (decoder, mode,
/// backbone learning rate, shots and draw) fixed to this cell's value.
public struct ExperimentCell: Sendable, Equatable {
    public let model: String
    public let dataset: String
    public let size: Int
    public let kind: ExperimentProtocol
    public let protocolName: String
    public let settings: [String: ConfigurationValue]
    public let seed: Int

    /// Whether the cell runs a backbone (all but the U-Net trained from scratch).
    public var usesBackbone: Bool { protocolName != "segment-scratch" }

    /// The cell's configuration: `model`, `dataset`, `protocol`, `size`, `seed` and the settings, with the
    /// checkpoint's and the split's SHA-256 (so a changed file is a new configuration) and `extra`
    /// entries (dataset reading options, the bootstrap). A hash that is not known (a file missing) is left out.
    public func configuration(checkpointSHA256: String?, splitSHA256: String?,
                              extra: [String: ConfigurationValue] = [:]) throws -> CanonicalConfiguration {
        var values = settings.merging(extra) { own, _ in own }
        values["model"] = .string(model)
        values["dataset"] = .string(dataset)
        values["protocol"] = .string(protocolName)
        values["size"] = .int(size)
        values["seed"] = .int(seed)
        if let checkpointSHA256 { values["checkpoint_sha256"] = .string(checkpointSHA256) }
        if let splitSHA256 { values["split_sha256"] = .string(splitSHA256) }
        return try CanonicalConfiguration(values)
    }

    /// Setting `key` read as `read` types it (e.g. `\.intValue`). The parser fills in every default of the
    /// protocol's schema, so the schema is the one source of a setting's value; a key the cell lacks, or holds
    /// in another type, is an error naming the cell.
    public func setting<Value>(_ key: String, _ read: (ConfigurationValue) -> Value?) throws -> Value {
        guard let value = settings[key] else { throw ExperimentCellError("\(protocolName) cell has no setting '\(key)'") }
        guard let typed = read(value) else { throw ExperimentCellError("\(protocolName) cell's setting '\(key)' is \(value.text), not of the type it needs") }
        return typed
    }

    /// The settings as `key=value` words in key order, for listings.
    public var settingsText: String {
        settings.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value.text)" }.joined(separator: " ")
    }
}

/// The cells of an experiment: model × dataset × size × protocol (those the dataset names, or all) × its
/// split axes × seed, in that nesting order. The U-Net trained from scratch has no backbone, so its cells are made once per dataset,
/// size and seed under the model name `scratch`.
public enum ExperimentMatrix {
    /// The model name of cells without a backbone.
    public static let scratchModel = "scratch"

    public static func cells(of experiment: Experiment) -> [ExperimentCell] {
        var cells: [ExperimentCell] = []
        var scratchDone = Set<String>()
        for model in experiment.models {
            for dataset in experiment.datasets {
                for size in model.sizes ?? experiment.sizes {
                    for grid in experiment.protocols
                    where (dataset.protocols?.contains(grid.kind) ?? true) && (model.protocols?.contains(grid.kind) ?? true) {
                        for (name, settings) in split(grid) {
                            for seed in experiment.seeds {
                                let scratch = name == "segment-scratch"
                                if scratch, !scratchDone.insert("\(dataset.key) \(size) \(seed) \(settings)").inserted { continue }
                                cells.append(ExperimentCell(model: scratch ? scratchModel : model.name, dataset: dataset.key, size: size,
                                                            kind: grid.kind, protocolName: name, settings: settings, seed: seed))
                            }
                        }
                    }
                }
            }
        }
        return cells
    }

    /// A protocol's settings split along its cell axes: one entry per result name and settings.
    static func split(_ grid: Experiment.ProtocolGrid) -> [(name: String, settings: [String: ConfigurationValue])] {
        var settings = grid.settings
        switch grid.kind {
        case .knn, .linear, .logreg:
            return [(grid.kind.rawValue, settings)]
        case .fewshot:
            let shots = settings.removeValue(forKey: "shots")?.ints ?? []
            let draws = settings.removeValue(forKey: "draws")?.intValue ?? 0
            return shots.flatMap { n in
                (0..<draws).map { draw in
                    ("fewshot", settings.merging(["shots": .int(n), "draw": .int(draw), "draws": .int(draws)]) { $1 })
                }
            }
        case .segment:
            let decoders = settings.removeValue(forKey: "decoders")?.stringValues ?? []
            let width = settings.removeValue(forKey: "scratch_width")
            return decoders.map { decoder in
                var own = settings
                if decoder == "scratch", let width { own["scratch_width"] = width }
                return ("segment-\(decoder)", own)
            }
        case .finetune:
            let modes = settings.removeValue(forKey: "modes")?.stringValues ?? []
            let rates = settings.removeValue(forKey: "backbone_learning_rates")?.doubles ?? []
            let lora = ["lora_rank", "lora_alpha", "lora_dropout"].compactMap { key in settings.removeValue(forKey: key).map { (key, $0) } }
            return modes.flatMap { mode in
                rates.map { rate in
                    var own = settings
                    own["backbone_learning_rate"] = .double(rate)
                    if mode == "lora" { for (key, value) in lora { own[key] = value } }
                    return ("finetune-\(mode)", own)
                }
            }
        }
    }
}

extension ConfigurationValue {
    /// The texts of a list of texts.
    var stringValues: [String]? {
        guard case .list(let values) = self else { return nil }
        let texts = values.compactMap(\.stringValue)
        return texts.count == values.count ? texts : nil
    }
}

/// A cell whose settings do not hold what its protocol reads: a fault of the matrix, not of the experiment file.
public struct ExperimentCellError: Error, CustomStringConvertible, Sendable, Equatable {
    public let description: String

    public init(_ description: String) { self.description = description }
}
