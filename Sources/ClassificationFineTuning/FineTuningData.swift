import Datasets
import FineTuning
import Foundation
import MedicalImaging
import TensorCore

/// A 2D classification dataset divided by a split file for fine-tuning: the train, validation and test items in
/// the split's order, what their labels mean, and their targets.
///
/// Fine-tuning takes 2D datasets (one picture per item); volume datasets and scans stored as folders of slices
/// are refused, as are segmentation datasets.
public struct FineTuningData: Sendable {
    public let dataset: String
    public let labelSpace: LabelSpace
    public let modality: PreprocessingPipeline.Modality
    public let train: [DatasetItem]
    public let validation: [DatasetItem]
    public let test: [DatasetItem]

    /// The parts of `catalog` that `split` names. Throws when the split is of another dataset, names items the
    /// catalog lacks, leaves the train or validation part empty, or the dataset is not a 2D classification
    /// dataset.
    public init(catalog: DatasetCatalog, split: DatasetSplit) throws {
        guard split.dataset == catalog.name else {
            throw FineTuningError("the split is of dataset '\(split.dataset)', not '\(catalog.name)'")
        }
        if case .segmentation = catalog.labelSpace {
            throw FineTuningError("\(catalog.name) is a segmentation dataset; fine-tuning a classifier needs class or finding labels")
        }
        let volumeItem = catalog.items.first { $0.imageFiles != [$0.url] }
        if catalog.holdsVolumes || volumeItem != nil {
            throw FineTuningError("\(catalog.name) holds volumes (3D scans\(volumeItem.map { ", e.g. \($0.id)" } ?? "")); fine-tuning takes 2D datasets (one picture per item)")
        }
        let byID = Dictionary(catalog.items.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        let missing = split.assignments.filter { byID[$0.id] == nil }
        if let first = missing.first {
            throw FineTuningError("\(missing.count) items of the split are not in the dataset (e.g. \(first.id)); is the file missing, or the split of another copy?")
        }
        func items(_ part: SplitPart) -> [DatasetItem] { split.ids(in: part).map { byID[$0]! } }
        (train, validation, test) = (items(.train), items(.validation), items(.test))
        for (name, part) in [("train", train), ("validation", validation)] where part.isEmpty {
            throw FineTuningError("the split's \(name) part is empty; fine-tuning needs train items and validation items to choose the epoch")
        }
        dataset = catalog.name
        labelSpace = catalog.labelSpace
        modality = catalog.modality
    }

    private init(_ data: FineTuningData, train: [DatasetItem], validation: [DatasetItem], test: [DatasetItem]) {
        (dataset, labelSpace, modality) = (data.dataset, data.labelSpace, data.modality)
        (self.train, self.validation, self.test) = (train, validation, test)
    }

    /// The same parts without the items whose picture cannot be decoded (each decoded once, in split order), and
    /// those items with the reason, as feature extraction skips them. Throws when the train or validation part
    /// is left empty.
    public func withoutUnreadablePictures() throws -> (data: FineTuningData, unreadable: [SkippedItem]) {
        var unreadable: [SkippedItem] = []
        func readable(_ items: [DatasetItem]) -> [DatasetItem] {
            items.filter { item in
                do {
                    _ = try TrainingImages.picture(of: item)
                    return true
                } catch {
                    unreadable.append(SkippedItem(id: item.id, error: String(describing: error)))
                    return false
                }
            }
        }
        let screened = FineTuningData(self, train: readable(train), validation: readable(validation), test: readable(test))
        for (name, part) in [("train", screened.train), ("validation", screened.validation)] where part.isEmpty {
            throw FineTuningError("no picture of the split's \(name) part can be read (e.g. \(unreadable.first.map { "\($0.id): \($0.error)" } ?? "none"))")
        }
        return (screened, unreadable)
    }

    /// Multi-class or multi-label.
    public var task: ClassificationTask {
        if case .multiClass = labelSpace { return .multiClass }
        return .multiLabel
    }

    /// The number of classes (multi-class) or findings (multi-label), `K`.
    public var classCount: Int { labelSpace.names.count }

    /// The targets of `items`: class indices, or findings `[B, K]` (NaN unknown). Throws on a label that does not
    /// fit the label space.
    public func targets(of items: [DatasetItem]) throws -> ClassificationTargets {
        switch task {
        case .multiClass:
            return .classes(try items.map { item in
                guard let value = item.labels.first, item.labels.count == 1, let index = Int(exactly: value), (0..<classCount).contains(index) else {
                    throw FineTuningError("item \(item.id) has labels \(item.labels); expected one class index in 0..<\(classCount)")
                }
                return index
            })
        case .multiLabel:
            for item in items where item.labels.count != classCount {
                throw FineTuningError("item \(item.id) has \(item.labels.count) labels; expected one per finding (\(classCount))")
            }
            return .findings(Tensor(shape: [items.count, classCount], values: items.flatMap(\.labels)))
        }
    }
}
