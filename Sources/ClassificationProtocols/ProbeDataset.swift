import Datasets
import Evaluation
import FileAccess
import Foundation
import LinearProbes
import TensorCore

/// One part of a split as the probes see it: the store rows of its items, in store order.
public struct ProbePart: Sendable {
    /// Item ids, one per row.
    public let ids: [String]
    /// The patient of each row.
    public let patients: [String]
    /// Class tokens `[rows, L, D]` and, when the store kept them, mean patch tokens `[rows, L, D]`.
    public let features: ProbeFeatures
    /// Label values per row, as `DatasetItem.labels` (one class index, or one 0/1/NaN per finding).
    public let labels: [[Float]]

    /// Rows in the part.
    public var count: Int { ids.count }

    /// Distinct patients in the part.
    public var patientCount: Int { Set(patients).count }

    /// The rows whose id is in `kept`, in this part's order.
    public func keeping(_ kept: Set<String>) throws -> ProbePart {
        let rows = ids.indices.filter { kept.contains(ids[$0]) }
        return ProbePart(ids: rows.map { ids[$0] }, patients: rows.map { patients[$0] }, features: try features.rows(rows),
                         labels: rows.map { labels[$0] })
    }

    /// This part's rows followed by `other`'s.
    public func appending(_ other: ProbePart) throws -> ProbePart {
        ProbePart(ids: ids + other.ids, patients: patients + other.patients, features: try features.appending(other.features),
                  labels: labels + other.labels)
    }

    /// The labels as probe targets: class indices for a multi-class space, a `[rows, findings]` matrix
    /// (NaN unknown) for a multi-label one.
    public func targets(_ space: LabelSpace) -> ProbeTargets {
        switch space {
        case .multiClass(let classes): .multiClass(labels: labels.map { Int($0[0]) }, classes: classes.count)
        case .multiLabel, .segmentation: .multiLabel(labelMatrix)
        }
    }

    /// The multi-label values as a `[rows, findings]` matrix (1, 0 or NaN).
    public var labelMatrix: Tensor { Tensor(shape: [count, labels.first?.count ?? 0], values: labels.flatMap { $0 }) }
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
    /// The three parts.
    public let train: ProbePart
    public let validation: ProbePart
    public let test: ProbePart
    /// Split items that have no row in the store (unreadable during extraction), by part.
    public let missingRows: [SplitPart: [String]]

    /// A dataset of the given parts.
    init(dataset: String, labelSpace: LabelSpace, train: ProbePart, validation: ProbePart, test: ProbePart,
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
            let items = rows.map { itemOfID[rowIDs[$0]]! }
            for item in items { try Self.checkLabels(item, space: plan.labelSpace, store: store.url.path) }
            return ProbePart(ids: items.map(\.id), patients: items.map(\.patient), features: try all.rows(rows),
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
        switch space {
        case .multiClass(let classes):
            guard item.labels.count == 1, let value = item.labels.first, value.isFinite, value == value.rounded(),
                  (0..<classes.count).contains(Int(value)) else {
                throw FileError(file: store, problem: "item '\(item.id)' has labels \(item.labels); a multi-class item needs one class index in 0..<\(classes.count)")
            }
        case .multiLabel(let findings), .segmentation(let findings):
            guard item.labels.count == findings.count, item.labels.allSatisfy({ $0.isNaN || $0 == 0 || $0 == 1 }) else {
                throw FileError(file: store, problem: "item '\(item.id)' has labels \(item.labels); a multi-label item needs one 0, 1 or unknown value per finding (\(findings.count))")
            }
        }
    }
}
