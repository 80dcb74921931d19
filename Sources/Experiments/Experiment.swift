import Foundation

/// An experiment file's content: where results go, the models, datasets, input sizes, protocols with
/// their grids, and seeds. Paths are absolute (resolved against the file's folder). Read with
/// `Experiment.read(contentsOf:vocabulary:)`; expanded into cells by `ExperimentMatrix`.
public struct Experiment: Sendable, Equatable {
    /// A backbone: its name in results, its checkpoint file and/or the preset it must fit (`radprobe models
    /// list`; it fixes the family where the keys do not, e.g. MAE or MSN; without a checkpoint, the preset's
    /// file in the download cache is used), the protocols that run on it and the input sizes it takes (the
    /// experiment's when nil: SAM's encoder, say, takes 1024 only).
    public struct Model: Sendable, Equatable {
        public let name: String
        public let checkpoint: URL?
        public let preset: String?
        public let protocols: [ExperimentProtocol]?
        public let sizes: [Int]?
    }

    /// How a dataset's split is obtained: a split file, or written by a `radprobe datasets split` method.
    public enum Split: Sendable, Equatable {
        case file(URL)
        case method(name: String, seed: UInt64, validation: Double, test: Double)
    }

    /// A dataset: its registry name, the label its results carry (the registry name unless given), its folder,
    /// its split, the protocols that run on it (all of the experiment's when nil), and the reading options it takes
    /// (`uncertain` for CheXpert, `modality` for a manifest).
    public struct Dataset: Sendable, Equatable {
        public let name: String
        public let label: String?
        public let root: URL
        public let split: Split
        public let protocols: [ExperimentProtocol]?
        public let uncertain: String?
        public let modality: String?

        /// What results, cells, feature stores and splits call the dataset: its label, else its registry name.
        public var key: String { label ?? name }
    }

    /// A protocol and its settings (every key of its schema, defaults filled in).
    public struct ProtocolGrid: Sendable, Equatable {
        public let kind: ExperimentProtocol
        public let settings: [String: ConfigurationValue]
    }

    /// The experiment file.
    public let file: URL
    /// The folder of `results.sqlite`, feature stores and artifacts.
    public let output: URL
    public let models: [Model]
    public let datasets: [Dataset]
    public let sizes: [Int]
    /// In the order of `ExperimentProtocol.allCases`.
    public let protocols: [ProtocolGrid]
    public let seeds: [Int]
    /// Bootstrap resamples of the classification metrics' intervals.
    public let bootstrap: Int

    /// The database of the experiment's results.
    public var databaseURL: URL { output.appendingPathComponent("results.sqlite") }
}

/// The names an experiment file may use that are defined elsewhere: dataset registry names, split
/// methods, CheXpert's uncertain-label policies and manifest modalities.
public struct ExperimentVocabulary: Sendable {
    public let datasets: [String]
    public let splitMethods: [String]
    public let uncertainPolicies: [String]
    public let modalities: [String]
    public let presets: [String]

    public init(datasets: [String], splitMethods: [String], uncertainPolicies: [String], modalities: [String], presets: [String] = []) {
        self.datasets = datasets
        self.splitMethods = splitMethods
        self.uncertainPolicies = uncertainPolicies
        self.modalities = modalities
        self.presets = presets
    }
}
