import Datasets
import FileAccess
import Foundation

/// One finished chunk as `manifest.json` lists it: `folder` holds `rows` rows for the items
/// `firstItem ..< firstItem + itemCount` that were not skipped.
public struct FeatureStoreChunk: Equatable, Sendable, Codable {
    /// The chunk number.
    public let index: Int
    /// The folder relative to the store, `chunks/NNNNN`.
    public let folder: String
    /// Position of the chunk's first item in the store's item list.
    public let firstItem: Int
    /// Items the chunk covers (rows plus skipped).
    public let itemCount: Int
    /// Rows in each of its `.npy` files.
    public let rows: Int

    enum CodingKeys: String, CodingKey {
        case index, folder, rows
        case firstItem = "first_item"
        case itemCount = "item_count"
    }
}

/// The content of a finished store's `manifest.json`: the plan, then the chunks in order, the ids of
/// all rows (the chunks' rows concatenated, in item order) and the skipped items.
public struct FeatureStoreManifest: Equatable, Sendable {
    /// Format name written in every manifest.
    public static let formatName = "radprobe-feature-store"

    /// What the store was started with.
    public let plan: FeatureStorePlan
    /// The chunks, by index.
    public let chunks: [FeatureStoreChunk]
    /// Ids of the stored rows, in item order: row `r` of `read(feature:)` is item `rowIDs[r]`.
    public let rowIDs: [String]
    /// Items without rows, in item order.
    public let skipped: [SkippedItem]
}

/// The JSON of `plan.json` (no chunk fields) and `manifest.json` (all fields); `shard` is written only
/// for a store of one shard, so a whole-catalog store has no such field, `slice_features` only when true and `layout_problems` only when
/// there are some. Labels are
/// per-item lists with NaN written as `null`; official parts are `train`/`validation`/`test` or `null`.
struct StoreDocument: Codable, Equatable {
    struct KeyFields: Codable, Equatable {
        var formatVersion: Int
        var checkpointSHA256: String
        var preprocessing: String
        var inputSize: Int
        var lastBlocks: Int
        var normed: Bool
        var patchTokens: FeatureStoreKey.PatchTokens

        enum CodingKeys: String, CodingKey {
            case preprocessing, normed
            case formatVersion = "format_version"
            case checkpointSHA256 = "checkpoint_sha256"
            case inputSize = "input_size"
            case lastBlocks = "last_blocks"
            case patchTokens = "patch_tokens"
        }
    }

    var format: String
    var formatVersion: Int
    var radProbeVersion: String
    var key: String
    var keyText: String
    var keyFields: KeyFields
    var dataset: String
    var labelNames: [String]
    /// `multi_class`, `multi_label` or `segmentation`; inferred from the labels when absent (stores
    /// written before the field existed).
    var labelSpace: LabelSpace.Kind?
    var chunkSize: Int
    var ids: [String]
    var patients: [String]
    var labels: [[Double?]]
    var officialParts: [String?]
    var features: [FeatureSpec]
    var shard: FeatureShard?
    /// `true` when items keep per-slice features; absent (not `false`) otherwise.
    var sliceFeatures: Bool?
    /// The layout's problems; absent when there are none.
    var layoutProblems: [LayoutProblem]?
    var chunks: [FeatureStoreChunk]?
    var rowIDs: [String]?
    var skipped: [SkippedItem]?

    enum CodingKeys: String, CodingKey {
        case format, key, dataset, ids, patients, labels, features, shard, chunks, skipped
        case formatVersion = "format_version"
        case radProbeVersion = "radprobe_version"
        case keyText = "key_text"
        case keyFields = "key_fields"
        case labelNames = "label_names"
        case labelSpace = "label_space"
        case chunkSize = "chunk_size"
        case officialParts = "official_parts"
        case rowIDs = "row_ids"
        case sliceFeatures = "slice_features"
        case layoutProblems = "layout_problems"
    }

    init(plan: FeatureStorePlan, chunks: [FeatureStoreChunk]? = nil, rowIDs: [String]? = nil, skipped: [SkippedItem]? = nil) {
        let key = plan.key
        format = FeatureStoreManifest.formatName
        formatVersion = key.formatVersion
        radProbeVersion = plan.radProbeVersion
        self.key = key.key
        keyText = key.canonicalText
        keyFields = KeyFields(formatVersion: key.formatVersion, checkpointSHA256: key.checkpointSHA256,
                              preprocessing: key.preprocessing, inputSize: key.inputSize, lastBlocks: key.lastBlocks,
                              normed: key.normed, patchTokens: key.patchTokens)
        dataset = plan.dataset
        labelNames = plan.labelSpace.names
        labelSpace = plan.labelSpace.kind
        chunkSize = plan.chunkSize
        ids = plan.items.map(\.id)
        patients = plan.items.map(\.patient)
        labels = plan.items.map { $0.labels.map { $0.isNaN ? nil : Double($0) } }
        officialParts = plan.items.map { $0.officialPart?.rawValue }
        features = plan.features
        shard = plan.shard
        sliceFeatures = plan.sliceFeatures ? true : nil
        layoutProblems = plan.layoutProblems.isEmpty ? nil : plan.layoutProblems
        self.chunks = chunks
        self.rowIDs = rowIDs
        self.skipped = skipped
    }

    /// The plan the document records; inconsistent fields are a `FileError` naming `file`.
    func plan(file: String) throws -> FeatureStorePlan {
        guard format == FeatureStoreManifest.formatName else {
            throw FileError(file: file, problem: "is not a RadProbe feature store file (format '\(format)', expected '\(FeatureStoreManifest.formatName)')")
        }
        guard formatVersion == FeatureStoreKey.currentFormatVersion else {
            throw FileError(file: file, problem: "has feature store format version \(formatVersion); this RadProbe reads version \(FeatureStoreKey.currentFormatVersion)")
        }
        let fields = keyFields
        let key = try FeatureStoreKey(checkpointSHA256: fields.checkpointSHA256, preprocessing: fields.preprocessing,
                                      inputSize: fields.inputSize, lastBlocks: fields.lastBlocks, normed: fields.normed,
                                      patchTokens: fields.patchTokens, formatVersion: fields.formatVersion, checkpointLabel: file)
        guard key.key == self.key else {
            throw FileError(file: file, problem: "records key \(self.key), but its key fields give \(key.key)")
        }
        let count = ids.count
        guard patients.count == count, labels.count == count, officialParts.count == count else {
            throw FileError(file: file, problem: "lists \(count) ids but \(patients.count) patients, \(labels.count) label lists and \(officialParts.count) official parts")
        }
        var items: [FeatureStoreItem] = []
        items.reserveCapacity(count)
        for n in 0..<count {
            var part: SplitPart?
            if let name = officialParts[n] {
                guard let parsed = SplitPart(rawValue: name) else {
                    throw FileError(file: file, problem: "item '\(ids[n])' has unknown official part '\(name)'")
                }
                part = parsed
            }
            items.append(FeatureStoreItem(id: ids[n], patient: patients[n], labels: labels[n].map { $0.map(Float.init) ?? .nan },
                                          officialPart: part))
        }
        let kind = labelSpace ?? (items.allSatisfy { $0.labels.isEmpty } ? .segmentation
            : items.allSatisfy { $0.labels.count == 1 } && labelNames.count > 1 ? .multiClass : .multiLabel)
        return try FeatureStorePlan(key: key, dataset: dataset, labelSpace: LabelSpace(kind: kind, names: labelNames), items: items, features: features,
                                    chunkSize: chunkSize, radProbeVersion: radProbeVersion, shard: shard,
                                    sliceFeatures: sliceFeatures ?? false, layoutProblems: layoutProblems ?? [], label: file)
    }
}

/// JSON reading and writing with stable bytes: sorted keys, pretty-printed, slashes unescaped.
enum StoreJSON {
    static func encode<Value: Encodable>(_ value: Value, file: String) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        do { return try encoder.encode(value) + Data("\n".utf8) } catch {
            throw FileError(file: file, problem: "cannot be encoded as JSON (\(error))")
        }
    }

    static func decode<Value: Decodable>(_ type: Value.Type, from url: URL) throws -> Value {
        let data = try FileBytes.read(contentsOf: url)
        do { return try JSONDecoder().decode(type, from: data) } catch {
            throw FileError(file: url.path, problem: "is not a valid \(url.lastPathComponent) (\(describe(error)))")
        }
    }

    /// A decoding error in a few words: which field, what was wrong.
    static func describe(_ error: Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, _): "missing field '\(key.stringValue)'"
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context),
             DecodingError.dataCorrupted(let context):
            "at '\(context.codingPath.map(\.stringValue).joined(separator: "."))': \(context.debugDescription)"
        default: "\(error)"
        }
    }
}
