import Foundation

/// An experiment file's content: where results go, the models, datasets, input sizes, protocols with
/// their grids, and seeds. Paths are absolute (resolved against the file's folder). Read with
/// `Experiment.read(contentsOf:vocabulary:)`; expanded into cells by `ExperimentMatrix`.
public struct Experiment: Sendable, Equatable {
    /// A backbone: its name in results and its checkpoint file.
    public struct Model: Sendable, Equatable {
        public let name: String
        public let checkpoint: URL
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

    public init(datasets: [String], splitMethods: [String], uncertainPolicies: [String], modalities: [String]) {
        self.datasets = datasets
        self.splitMethods = splitMethods
        self.uncertainPolicies = uncertainPolicies
        self.modalities = modalities
    }
}
