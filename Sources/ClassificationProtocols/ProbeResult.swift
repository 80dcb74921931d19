import Datasets
import Metrics
import Foundation
import TensorCore
import TensorKernels

/// Progress of a protocol's long steps: the step's name, its unit, how many units are done, and how many
/// it has.
public typealias ProbeProgress = @Sendable (_ phase: String, _ unit: String, _ completed: Int, _ total: Int) -> Void

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

/// Rows (and patients, when known) of each part a protocol used.
public struct PartSizes: Codable, Sendable, Equatable {
    public let trainItems, validationItems, testItems: Int
    public let trainPatients, validationPatients, testPatients: Int?

    init(train: ProbePart, validation: ProbePart?, test: ProbePart) {
        func patients(_ part: ProbePart?) -> Int? { part.flatMap { $0.patientsKnown ? $0.patientCount : nil } }
        (trainItems, validationItems, testItems) = (train.count, validation?.count ?? 0, test.count)
        (trainPatients, validationPatients, testPatients) = (patients(train), patients(validation), patients(test))
    }
}

/// The outcome of one probe protocol on one dataset: its settings, the selection on validation (nil
/// when no validation rows were given and the single candidate was taken), the chosen candidate, what
/// the final model was fitted on, and the test metrics (nil for unlabelled test rows).
public struct ProbeResult: Codable, Sendable, Equatable {
    /// `knn`, `ml-knn`, `linear` or `logistic-regression`.
    public let protocolName: String
    /// The protocol's settings, as text (seeds included).
    public let configuration: [String: String]
    public let selection: SelectionRecord?
    public let chosen: String
    /// What the final model was fitted on: `train` or `train+validation`.
    public let finalFit: String
    public let sizes: PartSizes
    public let test: ClassificationMetrics?

    enum CodingKeys: String, CodingKey {
        case configuration, selection, chosen, sizes, test
        case protocolName = "protocol"
        case finalFit = "final_fit"
    }
}

/// A protocol's result and its test-set probabilities `[test rows, classes]` (softmax rows for
/// multi-class data, per-finding probabilities for multi-label data).
public struct ProbeOutcome: Sendable {
    public let result: ProbeResult
    public let testProbabilities: Tensor
}

/// The steps every protocol shares around its own fitting: score each candidate on validation (or take
/// the single candidate when there is no validation part), predict the test rows with the chosen one
/// fitted on training (+ validation when `refitsOnValidation`), and score the test rows when labelled.
struct CandidateSearch {
    let name: String
    let configuration: [String: String]
    let candidates: [String]
    let refitsOnValidation: Bool

    /// `validationScores` gets the validation part and a scorer of its probabilities, and returns one
    /// score per candidate;
    /// `predictTest` gets the chosen candidate and, when the final fit adds them to the training rows,
    /// the validation rows; it returns test probabilities.
    func run(on data: ProbeDataset, selectBy metric: SelectionMetric, bootstrap: BootstrapConfiguration,
             validationScores: (_ validation: ProbePart, _ score: (Tensor) throws -> Double) throws -> [Double],
             predictTest: (_ chosen: Int, _ addedValidation: ProbePart?) throws -> Tensor) throws -> ProbeOutcome {
        guard !candidates.isEmpty else { throw ProbeProtocolError("\(name) has no candidate to try") }
        var selection: SelectionRecord?
        var addedValidation: ProbePart?
        if let validation = data.validation {
            let labels = try validation.requireLabels("validation")
            let scores = try validationScores(validation) { try metric.score($0, labels: labels, labelSpace: data.labelSpace) }
            selection = try SelectionRecord(metric: metric, names: candidates, scores: scores)
            if refitsOnValidation { addedValidation = validation }
        } else if candidates.count > 1 {
            throw ProbeProtocolError("\(candidates.count) candidates of \(name) need validation rows to choose among them; give validation data or a single candidate")
        }
        let chosen = selection?.chosenIndex ?? 0
        let probabilities = try predictTest(chosen, addedValidation)
        let test = try data.test.labels.map {
            try ClassificationMetrics(scores: probabilities, labels: $0, patients: data.test.patientsKnown ? data.test.patients : nil,
                                      labelSpace: data.labelSpace, bootstrap: bootstrap)
        }
        let result = ProbeResult(protocolName: name, configuration: configuration, selection: selection, chosen: candidates[chosen],
                                 finalFit: addedValidation == nil ? "train" : "train+validation",
                                 sizes: PartSizes(train: data.train, validation: data.validation, test: data.test), test: test)
        return ProbeOutcome(result: result, testProbabilities: probabilities)
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
