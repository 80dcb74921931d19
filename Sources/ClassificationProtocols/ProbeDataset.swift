import Datasets
import Evaluation
import FileAccess
import Foundation
import LinearProbes
import TensorCore

/// One part of the data as the probes see it: rows with their ids, patients and features, and their
/// labels (absent for a test set given without labels, whose predictions are still written).
public struct ProbePart: Sendable {
    /// Item ids, one per row.
    public let ids: [String]
    /// The patient of each row (each row its own patient when the patients are unknown).
    public let patients: [String]
    /// Whether `patients` are real patients (a store) or stand-ins, one per row (plain arrays).
    public let patientsKnown: Bool
    /// Class tokens `[rows, L, D]` and, when the store kept them, mean patch tokens `[rows, L, D]`.
    public let features: ProbeFeatures
    /// Label values per row, as `DatasetItem.labels` (one class index, or one 0/1/NaN per finding).
    public let labels: [[Float]]?

    /// Rows in the part.
    public var count: Int { ids.count }

    /// Distinct patients in the part.
    public var patientCount: Int { Set(patients).count }

    /// The labels, or an error naming `role` when the part has none.
    func requireLabels(_ role: String) throws -> [[Float]] {
        guard let labels else { throw ProbeProtocolError("the \(role) rows have no labels") }
        return labels
    }

    /// The rows whose id is in `kept`, in this part's order.
    public func keeping(_ kept: Set<String>) throws -> ProbePart {
        let rows = ids.indices.filter { kept.contains(ids[$0]) }
        return ProbePart(ids: rows.map { ids[$0] }, patients: rows.map { patients[$0] }, patientsKnown: patientsKnown,
                         features: try features.rows(rows), labels: labels.map { all in rows.map { all[$0] } })
    }

    /// The labels as probe targets: class indices for a multi-class space, a `[rows, findings]` matrix
    /// (NaN unknown) for a multi-label one.
    func targets(_ space: LabelSpace, role: String) throws -> ProbeTargets {
        let labels = try requireLabels(role)
        switch space {
        case .multiClass(let classes): return .multiClass(labels: labels.map { Int($0[0]) }, classes: classes.count)
        case .multiLabel, .segmentation: return .multiLabel(try labelMatrix(role))
        }
    }

    /// The multi-label values as a `[rows, findings]` matrix (1, 0 or NaN).
    func labelMatrix(_ role: String) throws -> Tensor {
        let labels = try requireLabels(role)
        return Tensor(shape: [count, labels.first?.count ?? 0], values: labels.flatMap { $0 })
    }
}

/// A feature store's rows divided by a split file into train, validation and test parts, with the
/// labels checked against the store's label space.
///
/// Every row of the store must be listed by the split (a split of the same catalog, `DatasetSplit.verify`);
/// split items without a row were skipped during extraction and are named in `missingRows`.
public struct ProbeDataset: Sendable {
    /// The store's dataset name.
    public let dataset: String
    /// What the labels mean.
    public let labelSpace: LabelSpace
    /// The training part.
    public let train: ProbePart
    /// The validation part that chooses among candidates; without one, a protocol takes one candidate.
    public let validation: ProbePart?
    /// The part predicted (and scored, when it has labels).
    public let test: ProbePart
    /// Split items that have no row in the store (unreadable during extraction), by part.
    public let missingRows: [SplitPart: [String]]

    /// A dataset of the given parts.
    init(dataset: String, labelSpace: LabelSpace, train: ProbePart, validation: ProbePart?, test: ProbePart,
         missingRows: [SplitPart: [String]]) {
        self.dataset = dataset
        self.labelSpace = labelSpace
        self.train = train
        self.validation = validation
        self.test = test
        self.missingRows = missingRows
    }

    /// The same dataset with `train` as its training part (a few-shot subset, or labels resolved).
    public func replacing(train: ProbePart) -> ProbeDataset {
        ProbeDataset(dataset: dataset, labelSpace: labelSpace, train: train, validation: validation, test: test, missingRows: missingRows)
    }

    /// The parts of `store` by `split` (read from `splitFile`, named in errors). Throws a `FileError`
    /// for a split of another catalog, a segmentation store, a multi-class label that is not one class
    /// index, or an empty part.
    public init(store: FeatureStore, split: DatasetSplit, splitFile: String) throws {
        try split.verify(against: store.catalog, file: splitFile)
        let plan = store.plan
        if case .segmentation = plan.labelSpace {
            throw FileError(file: store.url.path, problem: "holds a segmentation dataset, which has no classification labels")
        }
        let (rowIDs, classTokens) = try store.read(feature: "cls")
        let patchMeans = plan.features.contains { $0.name == "patch_mean" } ? try store.read(feature: "patch_mean").values : nil
        let all = try ProbeFeatures(classTokens: classTokens, patchMeans: patchMeans)
        let itemOfID = Dictionary(uniqueKeysWithValues: plan.items.map { ($0.id, $0) })
        let partOfID = split.partsByID()
        var rowsOfPart: [SplitPart: [Int]] = [:]
        for (row, id) in rowIDs.enumerated() {
            guard let part = partOfID[id] else { throw FileError(file: splitFile, problem: "does not list item '\(id)' of the store") }
            rowsOfPart[part, default: []].append(row)
        }
        func part(_ name: SplitPart) throws -> ProbePart {
            let rows = rowsOfPart[name] ?? []
            guard !rows.isEmpty else {
                throw FileError(file: splitFile, problem: "leaves the \(name.rawValue) part without any row of the store")
            }
            let items = try rows.map { row in
                guard let item = itemOfID[rowIDs[row]] else {
                    throw FileError(file: store.url.path, problem: "lists row '\(rowIDs[row])', which is not among its items")
                }
                return item
            }
            for item in items { try Self.checkLabels(item, space: plan.labelSpace, store: store.url.path) }
            return ProbePart(ids: items.map(\.id), patients: items.map(\.patient), patientsKnown: true, features: try all.rows(rows),
                             labels: items.map(\.labels))
        }
        let stored = Set(rowIDs)
        self.init(dataset: plan.dataset, labelSpace: plan.labelSpace, train: try part(.train), validation: try part(.validation),
                  test: try part(.test),
                  missingRows: Dictionary(grouping: split.assignments.filter { !stored.contains($0.id) }, by: \.part).mapValues { $0.map(\.id) })
    }

    /// A multi-class item holds one integral class index in range; a multi-label item one finite 0/1 or
    /// NaN value per finding.
    static func checkLabels(_ item: FeatureStoreItem, space: LabelSpace, store: String) throws {
        if let problem = labelProblem(item.labels, space: space) {
            throw FileError(file: store, problem: "item '\(item.id)' has labels \(item.labels); \(problem)")
        }
    }

    /// What is wrong with `labels` for `space`, or nil.
    static func labelProblem(_ labels: [Float], space: LabelSpace) -> String? {
        switch space {
        case .multiClass(let classes):
            guard labels.count == 1, let value = labels.first, value.isFinite, value == value.rounded(),
                  (0..<classes.count).contains(Int(value)) else {
                return "a multi-class item needs one class index in 0..<\(classes.count)"
            }
        case .multiLabel(let findings), .segmentation(let findings):
            guard labels.count == findings.count, labels.allSatisfy({ $0.isNaN || $0 == 0 || $0 == 1 }) else {
                return "a multi-label item needs one 0, 1 or unknown (NaN) value per finding (\(findings.count))"
            }
        }
        return nil
    }

    /// One part given as plain arrays, for `ProbeDataset(arrays:)`: features `[rows, D]` (or `[rows, L, D]`
    /// class tokens), labels `[rows]` class indices or `[rows, findings]` 0/1/NaN (nil: unlabelled), and
    /// the files they came from (named in errors).
    public struct ArrayPart: Sendable {
        public let features: Tensor
        public let labels: Tensor?
        public let featureFile: String
        public let labelFile: String?

        public init(features: Tensor, labels: Tensor?, featureFile: String, labelFile: String?) {
            self.features = features
            self.labels = labels
            self.featureFile = featureFile
            self.labelFile = labelFile
        }
    }

    /// A dataset of plain arrays (no patients: each row its own, so intervals resample rows). Labels of
    /// rank 1 are class indices (`C` = the largest index + 1 over all parts), of rank 2 multi-label
    /// values; classes are named by their index. Throws a `FileError` naming the file for features that
    /// are not `[rows, D]` / `[rows, L, D]`, widths that differ, label counts that differ from the rows,
    /// and labels that are not class indices or 0/1/NaN.
    public init(arrays train: ArrayPart, validation: ArrayPart?, test: ArrayPart) throws {
        let labelled = [train, validation, test].compactMap { $0 }.filter { $0.labels != nil }
        guard let trainLabels = train.labels else { throw FileError(file: train.featureFile, problem: "needs its labels") }
        let multiLabel = trainLabels.rank == 2
        for part in labelled {
            guard let labels = part.labels, labels.rank == trainLabels.rank, !multiLabel || labels.shape[1] == trainLabels.shape[1] else {
                throw FileError(file: part.labelFile ?? part.featureFile, problem: "has labels of shape \(part.labels?.shape ?? []); the training labels are \(trainLabels.shape) (class indices [rows] or findings [rows, C])")
            }
        }
        let classCount = multiLabel ? trainLabels.shape[1]
            : Int(labelled.flatMap { $0.labels!.scalars }.filter(\.isFinite).max() ?? 0) + 1
        let names = (0..<classCount).map(String.init)
        let space: LabelSpace = multiLabel ? .multiLabel(findings: names) : .multiClass(classes: names)
        func part(_ array: ArrayPart, name: String) throws -> ProbePart {
            let shape = array.features.shape
            guard shape.count == 2 || shape.count == 3, shape.allSatisfy({ $0 > 0 }) else {
                throw FileError(file: array.featureFile, problem: "has shape \(shape); features must be [rows, D] (or [rows, blocks, D]) with no empty extent")
            }
            guard shape.last == train.features.shape.last, shape.count == train.features.shape.count else {
                throw FileError(file: array.featureFile, problem: "has shape \(shape), the training features \(train.features.shape): widths must agree")
            }
            let rows = shape[0]
            var labels: [[Float]]?
            if let tensor = array.labels {
                let file = array.labelFile ?? array.featureFile
                guard tensor.shape.first == rows else {
                    throw FileError(file: file, problem: "has \(tensor.shape.first ?? 0) label rows for \(rows) feature rows in \(array.featureFile)")
                }
                let width = tensor.count / max(rows, 1)
                labels = (0..<rows).map { Array(tensor.scalars[$0 * width ..< ($0 + 1) * width]) }
                for (row, values) in labels!.enumerated() {
                    if let problem = Self.labelProblem(values, space: space) {
                        throw FileError(file: file, problem: "row \(row) holds \(values); \(problem)")
                    }
                }
            }
            let tokens = shape.count == 3 ? array.features : array.features.reshaped([rows, 1, shape[1]])
            let features: ProbeFeatures
            do { features = try ProbeFeatures(classTokens: tokens, patchMeans: nil) } catch {
                throw FileError(file: array.featureFile, problem: "\(error)")
            }
            let ids = (0..<rows).map { "\(name)\($0)" }
            return ProbePart(ids: ids, patients: ids, patientsKnown: false, features: features, labels: labels)
        }
        self.init(dataset: "arrays", labelSpace: space, train: try part(train, name: "train"),
                  validation: try validation.map { try part($0, name: "validation") }, test: try part(test, name: "test"), missingRows: [:])
    }
}
