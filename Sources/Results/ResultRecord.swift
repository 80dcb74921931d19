import Foundation

/// One evaluation of the matrix — a model, a dataset, a protocol and its configuration — as stored in the
/// results database: its metrics (summary and per class, with confidence intervals where there are some), its
/// training curves and its timings. A failed evaluation carries its error and no metrics.
public struct ResultRecord: Sendable, Equatable {
    /// The configuration that produced it (its hash decides whether it is already in the database).
    public var configuration: CanonicalConfiguration
    public var model: String
    public var dataset: String
    /// `knn`, `linear`, `logreg`, `fewshot`, `finetune`, `segment`, …
    public var protocolName: String
    public var seed: Int?
    /// Nil when the evaluation succeeded; otherwise what went wrong.
    public var error: String?
    public var metrics: [MetricValue]
    public var curves: [CurvePoint]
    public var timings: [PhaseTiming]
    public var artifacts: [Artifact]

    public init(configuration: CanonicalConfiguration, model: String, dataset: String, protocolName: String, seed: Int? = nil,
                error: String? = nil, metrics: [MetricValue] = [], curves: [CurvePoint] = [], timings: [PhaseTiming] = [],
                artifacts: [Artifact] = []) {
        self.configuration = configuration
        self.model = model
        self.dataset = dataset
        self.protocolName = protocolName
        self.seed = seed
        self.error = error
        self.metrics = metrics
        self.curves = curves
        self.timings = timings
        self.artifacts = artifacts
    }

    /// Whether the evaluation succeeded.
    public var succeeded: Bool { error == nil }
}

/// A metric of a result: a summary (`className` nil, e.g. macro AUROC) or one class's value, with its
/// confidence interval when one was computed. A value that is undefined (a class absent from the test set) is nil.
public struct MetricValue: Sendable, Equatable {
    public var name: String
    public var className: String?
    public var value: Double?
    public var lower: Double?
    public var upper: Double?

    public init(name: String, className: String? = nil, value: Double?, lower: Double? = nil, upper: Double? = nil) {
        self.name = name
        self.className = className
        self.value = value
        self.lower = lower
        self.upper = upper
    }
}

/// One point of a training curve: `name` (e.g. `train_loss`, `val_auroc`) at `epoch`.
public struct CurvePoint: Sendable, Equatable {
    public var name: String
    public var epoch: Int
    public var value: Double

    public init(name: String, epoch: Int, value: Double) {
        self.name = name
        self.epoch = epoch
        self.value = value
    }
}

/// Seconds spent in one phase of an evaluation (`features`, `train`, `test`, …).
public struct PhaseTiming: Sendable, Equatable {
    public var phase: String
    public var seconds: Double

    public init(phase: String, seconds: Double) {
        self.phase = phase
        self.seconds = seconds
    }
}

/// A file a result produced, e.g. a segmentation overlay (`kind` `overlay`), with its path relative to the
/// database's folder.
public struct Artifact: Sendable, Equatable {
    public var kind: String
    public var path: String

    public init(kind: String, path: String) {
        self.kind = kind
        self.path = path
    }
}
