import Datasets
import Foundation
import TensorCore
import TensorKernels

/// A probe protocol's misuse (a setting the data cannot take), with the reason.
public struct ProbeProtocolError: Error, CustomStringConvertible, Equatable {
    public let description: String

    init(_ description: String) { self.description = description }
}

/// One candidate of a protocol's search (a k, a head, a regularisation strength) with its validation
/// score (nil where the metric is undefined on the validation set).
public struct ValidationCandidate: Codable, Sendable, Equatable {
    public let name: String
    public let score: Double?
}

/// How a protocol chose among its candidates: the metric, every candidate's validation score in search
/// order, and the chosen one (the best score; the first in search order on ties).
public struct SelectionRecord: Codable, Sendable, Equatable {
    public let metric: SelectionMetric
    public let candidates: [ValidationCandidate]
    public let chosen: String

    /// The record of `names` scored `scores`; throws when no candidate has a defined score.
    init(metric: SelectionMetric, names: [String], scores: [Double]) throws {
        guard let best = scores.indices.filter({ !scores[$0].isNaN }).max(by: { scores[$0] < scores[$1] || (scores[$0] == scores[$1] && $0 > $1) }) else {
            throw ProbeProtocolError("the validation \(metric.rawValue) is undefined for every candidate (a class with a single label value everywhere?)")
        }
        self.metric = metric
        candidates = zip(names, scores).map { ValidationCandidate(name: $0, score: $1.isNaN ? nil : $1) }
        chosen = names[best]
    }

    /// Position of the chosen candidate.
    var chosenIndex: Int { candidates.firstIndex { $0.name == chosen }! }
}

/// Rows and patients of each part a protocol used.
public struct PartSizes: Codable, Sendable, Equatable {
    public let trainItems, trainPatients, validationItems, validationPatients, testItems, testPatients: Int

    init(train: ProbePart, validation: ProbePart, test: ProbePart) {
        (trainItems, trainPatients) = (train.count, train.patientCount)
        (validationItems, validationPatients) = (validation.count, validation.patientCount)
        (testItems, testPatients) = (test.count, test.patientCount)
    }
}

/// The outcome of one probe protocol on one dataset: its settings, the selection on validation, what
/// was trained on for the test predictions, and the test metrics.
public struct ProbeResult: Codable, Sendable, Equatable {
    /// `knn`, `ml-knn`, `linear` or `logistic-regression`.
    public let protocolName: String
    /// The protocol's settings, as text (seeds included).
    public let configuration: [String: String]
    public let selection: SelectionRecord
    /// What the final model was fitted on: `train` or `train+validation`.
    public let finalFit: String
    public let sizes: PartSizes
    public let test: ClassificationMetrics

    enum CodingKeys: String, CodingKey {
        case configuration, selection, sizes, test
        case protocolName = "protocol"
        case finalFit = "final_fit"
    }
}

/// Class scores from a head's logits `[rows, classes]`: softmax rows for multi-class data (so that
/// one-vs-rest AUROC ranks probabilities, as scikit-learn requires), sigmoid for multi-label data.
func probabilities(fromLogits logits: Tensor, labelSpace: LabelSpace) -> Tensor {
    var result = logits
    let (rows, columns) = (logits.shape[0], logits.shape[1])
    result.withUnsafeMutableBufferPointer { values in
        if case .multiClass = labelSpace {
            RowKernels.softmaxInPlace(values.baseAddress!, rows: rows, width: columns)
        } else {
            for index in values.indices { values[index] = 1 / (1 + exp(-values[index])) }
        }
    }
    return result
}

/// Text of a number for a configuration record (shortest round-trip form).
func recordText(_ value: Double) -> String { "\(value)" }
