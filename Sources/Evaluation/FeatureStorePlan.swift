import Datasets
import FileAccess
import Foundation

/// A problem with one entry of a dataset's layout: the file and what is wrong with it.
public struct LayoutProblem: Equatable, Sendable, Codable {
    /// The file the problem is about.
    public let file: String
    /// What is wrong.
    public let problem: String

    /// A problem with `file`.
    public init(file: String, problem: String) {
        self.file = file
        self.problem = problem
    }
}

/// One array a feature store keeps per item: `chunks/NNNNN/<name>.npy` holds `[rows] + itemShape`
/// float32 values, e.g. `cls` `[L, D]` (class token of the last `L` blocks), `patch_mean` `[L, D]`,
/// `patch_grid` `[H·W, D]`.
public struct FeatureSpec: Equatable, Hashable, Sendable, Codable {
    /// File stem: lowercase letters, digits and `_`.
    public let name: String
    /// The shape of one item's array.
    public let itemShape: [Int]

    /// A feature named `name` of shape `itemShape` per item.
    public init(name: String, itemShape: [Int]) {
        self.name = name
        self.itemShape = itemShape
    }

    /// Values per item (the product of `itemShape`).
    public var itemCount: Int { itemShape.reduce(1, *) }

    enum CodingKeys: String, CodingKey {
        case name
        case itemShape = "item_shape"
    }
}

/// What a feature store records of one dataset item: its id, patient, labels and official split part.
public struct FeatureStoreItem: Equatable, Sendable {
    /// The dataset item id.
    public let id: String
    /// The patient the item belongs to.
    public let patient: String
    /// Label values as `DatasetItem.labels` (NaN for unknown).
    public let labels: [Float]
    /// The dataset's official split part, if any.
    public let officialPart: SplitPart?

    /// An item from its fields.
    public init(id: String, patient: String, labels: [Float], officialPart: SplitPart?) {
        self.id = id
        self.patient = patient
        self.labels = labels
        self.officialPart = officialPart
    }

    /// The record of a catalog item.
    public init(_ item: DatasetItem) {
        self.init(id: item.id, patient: item.patient, labels: item.labels, officialPart: item.officialPart)
    }

    /// Equal fields, where a NaN label (unknown) equals a NaN label.
    public static func == (lhs: FeatureStoreItem, rhs: FeatureStoreItem) -> Bool {
        lhs.id == rhs.id && lhs.patient == rhs.patient && lhs.officialPart == rhs.officialPart
            && lhs.labels.count == rhs.labels.count
            && zip(lhs.labels, rhs.labels).allSatisfy { $0 == $1 || ($0.isNaN && $1.isNaN) }
    }
}

/// Which part of a catalog a store holds when extraction was split into `count` shards: the items at
/// catalog positions `p` with `p mod count == index`, in catalog order, so row `r` of the shard is
/// catalog position `index + r·count`. Shard `index` of `totalItems` items holds
/// `⌈(totalItems − index) / count⌉` of them (none when `index ≥ totalItems`).
public struct FeatureShard: Equatable, Hashable, Sendable, Codable, CustomStringConvertible {
    /// This shard's number, `0 ..< count`.
    public let index: Int
    /// How many shards the catalog was split into.
    public let count: Int
    /// Items in the whole catalog.
    public let totalItems: Int

    /// Shard `index` of `count` over a catalog of `totalItems` items (checked by `FeatureStorePlan`).
    public init(index: Int, count: Int, totalItems: Int) {
        self.index = index
        self.count = count
        self.totalItems = totalItems
    }

    /// Items of the catalog this shard holds (0 for a shard that is not one: `index` outside `0 ..< count`).
    public var itemCount: Int {
        guard count >= 1, (0..<count).contains(index), index < totalItems else { return 0 }
        return (totalItems - index - 1) / count + 1
    }

    /// The catalog position of the shard's item `row`.
    public func catalogPosition(ofItem row: Int) -> Int { index + row * count }

    /// `I/N`.
    public var description: String { "\(index)/\(count)" }

    enum CodingKeys: String, CodingKey {
        case index, count
        case totalItems = "total_items"
    }
}

/// Everything fixed when a feature store is started: its key, the dataset and items (in store order),
/// the features kept per item (and whether per slice too), the chunk size, the RadProbe version and, for
/// a store of one shard of a catalog, which shard. Chunk `c` holds items
/// `c·chunkSize ..< min((c+1)·chunkSize, items.count)`. Saved as `plan.json` when the store is created, so
/// that a resumed run can check it continues the same work.
public struct FeatureStorePlan: Equatable, Sendable {
    /// What decided the features.
    public let key: FeatureStoreKey
    /// The dataset name (the adapter's).
    public let dataset: String
    /// What the items' `labels` mean: the kind and the class or finding names.
    public let labelSpace: LabelSpace
    /// The items, in store order.
    public let items: [FeatureStoreItem]
    /// The arrays kept per item.
    public let features: [FeatureSpec]
    /// Items per chunk.
    public let chunkSize: Int
    /// The RadProbe version that writes the store.
    public let radProbeVersion: String
    /// The shard of the catalog the items are, or `nil` for a whole catalog.
    public let shard: FeatureShard?
    /// Whether every stored item also keeps its per-slice features (`slices/<feature>.npy`, one row per
    /// model input of the item; the item's own row is their mean), as for volumes.
    public let sliceFeatures: Bool
    /// Problems met while reading the dataset's layout (entries whose files are missing, malformed rows):
    /// those entries are not among `items`, and the store records why.
    public let layoutProblems: [LayoutProblem]

    /// A plan; duplicate or empty ids, feature names other than `[a-z0-9_]+` or repeated, empty or
    /// non-positive shapes, infinite labels, a chunk size below 1, or a shard whose index is outside
    /// `0 ..< count` or whose item count does not match `items` are a `FileError` naming `label`.
    public init(key: FeatureStoreKey, dataset: String, labelSpace: LabelSpace, items: [FeatureStoreItem],
                features: [FeatureSpec], chunkSize: Int, radProbeVersion: String, shard: FeatureShard? = nil,
                sliceFeatures: Bool = false, layoutProblems: [LayoutProblem] = [], label: String = "feature store plan") throws {
        func refuse(_ problem: String) -> FileError { FileError(file: label, problem: problem) }
        guard chunkSize >= 1 else { throw refuse("chunk size must be at least 1 (got \(chunkSize))") }
        if let shard {
            guard shard.count >= 1, (0..<shard.count).contains(shard.index), shard.totalItems >= 0 else {
                throw refuse("shard \(shard.description) of \(shard.totalItems) items is not a shard: it needs 0 ≤ index < count")
            }
            guard shard.itemCount == items.count else {
                throw refuse("shard \(shard.description) of \(shard.totalItems) items holds \(shard.itemCount) items, but the plan lists \(items.count)")
            }
        }
        guard !features.isEmpty else { throw refuse("lists no features") }
        let nameCharacters = Set("abcdefghijklmnopqrstuvwxyz0123456789_")
        var names = Set<String>()
        for feature in features {
            guard !feature.name.isEmpty, feature.name.allSatisfy(nameCharacters.contains) else {
                throw refuse("feature name '\(feature.name)' is not lowercase letters, digits and _")
            }
            guard names.insert(feature.name).inserted else { throw refuse("lists feature '\(feature.name)' twice") }
            guard !feature.itemShape.isEmpty, feature.itemShape.allSatisfy({ $0 >= 1 }) else {
                throw refuse("feature '\(feature.name)' has shape \(feature.itemShape); every extent must be at least 1")
            }
            var count = 1
            for extent in feature.itemShape {
                let (product, overflow) = count.multipliedReportingOverflow(by: extent)
                guard !overflow, product <= Int(Int32.max) else { throw refuse("feature '\(feature.name)' shape \(feature.itemShape) is too large") }
                count = product
            }
        }
        var ids = Set<String>()
        for item in items {
            guard !item.id.isEmpty else { throw refuse("holds an item with an empty id") }
            guard ids.insert(item.id).inserted else { throw refuse("lists item '\(item.id)' twice") }
            guard !item.labels.contains(where: \.isInfinite) else { throw refuse("item '\(item.id)' has an infinite label") }
        }
        self.key = key
        self.dataset = dataset
        self.labelSpace = labelSpace
        self.items = items
        self.features = features
        self.chunkSize = chunkSize
        self.radProbeVersion = radProbeVersion
        self.shard = shard
        self.sliceFeatures = sliceFeatures
        self.layoutProblems = layoutProblems
    }

    /// How this plan's dataset, label names, features and RadProbe version differ from `other`'s, one
    /// phrase per difference (empty when they agree): what a resumed run and a merged shard must share.
    func sharedFieldDifferences(from other: FeatureStorePlan) -> [String] {
        [
            dataset != other.dataset ? "dataset '\(dataset)' vs '\(other.dataset)'" : nil,
            labelSpace != other.labelSpace ? "labels (\(labelSpace.kind.rawValue) \(labelSpace.names) vs \(other.labelSpace.kind.rawValue) \(other.labelSpace.names))" : nil,
            features != other.features ? "features" : nil,
            sliceFeatures != other.sliceFeatures ? "per-slice features \(sliceFeatures ? "kept" : "not kept") vs \(other.sliceFeatures ? "kept" : "not kept")" : nil,
            radProbeVersion != other.radProbeVersion ? "RadProbe version \(radProbeVersion) vs \(other.radProbeVersion)" : nil,
        ].compactMap { $0 }
    }

    /// Number of chunks (`⌈items / chunkSize⌉`).
    public var chunkCount: Int { (items.count + chunkSize - 1) / chunkSize }

    /// The item positions of chunk `index`.
    public func itemRange(ofChunk index: Int) -> Range<Int> {
        index * chunkSize ..< min((index + 1) * chunkSize, items.count)
    }

    /// Folder of chunk `index` relative to the store: `chunks/NNNNN` (five digits, more when needed).
    public static func chunkFolder(_ index: Int) -> String {
        let digits = String(index)
        return "chunks/" + String(repeating: "0", count: max(0, 5 - digits.count)) + digits
    }
}
