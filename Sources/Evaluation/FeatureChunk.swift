import Checkpoints
import Datasets
import FileAccess
import Foundation
import TensorCore

/// One item's arrays, by feature name, each `FeatureSpec.itemCount` values in row-major order; for a
/// store that keeps per-slice features, also the arrays of each of the item's `sliceCount` slices,
/// slice after slice (`sliceCount · itemCount` values per feature).
public struct FeatureRow: Sendable {
    /// The item id.
    public let id: String
    /// Feature name → values.
    public let features: [String: [Float]]
    /// Feature name → the values of every slice, in slice order (empty when slices are not kept).
    public let slices: [String: [Float]]
    /// Number of slices in `slices`.
    public let sliceCount: Int

    /// A row for item `id`, with its per-slice arrays when the store keeps them.
    public init(id: String, features: [String: [Float]], slices: [String: [Float]] = [:], sliceCount: Int = 0) {
        self.id = id
        self.features = features
        self.slices = slices
        self.sliceCount = sliceCount
    }
}

/// `chunks/NNNNN/ids.json`: the chunk number, the ids of its rows (the `.npy` files' rows, in item
/// order), its skipped items with their errors (in item order) and, when the store keeps per-slice
/// features, each row's number of slices (`slice_counts`, the rows of `slices/<feature>.npy` in order).
struct ChunkIDs: Codable, Equatable {
    var chunk: Int
    var rows: [String]
    var skipped: [SkippedItem]
    var sliceCounts: [Int]?

    enum CodingKeys: String, CodingKey {
        case chunk, rows, skipped
        case sliceCounts = "slice_counts"
    }
}

/// Writing and checking one chunk folder: `ids.json` plus `<feature>.npy` of shape `[rows] + itemShape`.
enum FeatureChunk {
    /// Checks that `rows` and `skipped` cover the items of chunk `index` exactly once and every row holds
    /// every feature with the right number of values; returns them in item order.
    static func ordered(chunk index: Int, rows: [FeatureRow], skipped: [SkippedItem], plan: FeatureStorePlan,
                        store: String) throws -> (rows: [FeatureRow], skipped: [SkippedItem]) {
        let range = plan.itemRange(ofChunk: index)
        let position = Dictionary(uniqueKeysWithValues: plan.items[range].enumerated().map { ($1.id, $0) })
        var seen = Set<String>()
        for id in rows.map(\.id) + skipped.map(\.id) {
            guard position[id] != nil else {
                throw FileError(file: store, problem: "chunk \(index) was given item '\(id)', which is not among its items")
            }
            guard seen.insert(id).inserted else {
                throw FileError(file: store, problem: "chunk \(index) was given item '\(id)' twice")
            }
        }
        if seen.count != range.count {
            let missing = plan.items[range].map(\.id).filter { !seen.contains($0) }
            throw FileError(file: store, problem: "chunk \(index) lacks \(missing.count) of its items, e.g. '\(missing[0])'")
        }
        for row in rows {
            for feature in plan.features {
                guard let values = row.features[feature.name] else {
                    throw FileError(file: store, problem: "item '\(row.id)' lacks feature '\(feature.name)'")
                }
                guard values.count == feature.itemCount else {
                    throw FileError(file: store, problem: "item '\(row.id)' has \(values.count) values of '\(feature.name)'; shape \(feature.itemShape) needs \(feature.itemCount)")
                }
            }
            if let extra = row.features.keys.sorted().first(where: { name in !plan.features.contains { $0.name == name } }) {
                throw FileError(file: store, problem: "item '\(row.id)' has feature '\(extra)', which the store does not keep")
            }
            try checkSlices(of: row, plan: plan, store: store)
        }
        func place(_ id: String) -> Int { position[id, default: range.count] }
        return (rows.sorted { place($0.id) < place($1.id) }, skipped.sorted { place($0.id) < place($1.id) })
    }

    /// Checks a row's slices: at least one slice with every feature's values when the store keeps them,
    /// none otherwise.
    static func checkSlices(of row: FeatureRow, plan: FeatureStorePlan, store: String) throws {
        guard plan.sliceFeatures else {
            guard row.sliceCount == 0, row.slices.isEmpty else {
                throw FileError(file: store, problem: "item '\(row.id)' has per-slice features, which the store does not keep")
            }
            return
        }
        guard row.sliceCount >= 1 else {
            throw FileError(file: store, problem: "item '\(row.id)' has no slices; the store keeps per-slice features")
        }
        for feature in plan.features where row.slices[feature.name]?.count != row.sliceCount * feature.itemCount {
            throw FileError(file: store, problem: "item '\(row.id)' has \(row.slices[feature.name]?.count ?? 0) per-slice values of '\(feature.name)'; \(row.sliceCount) slices of shape \(feature.itemShape) need \(row.sliceCount * feature.itemCount)")
        }
    }

    /// Writes the chunk's files into `folder` (which exists and is empty); `rows` and `skipped` in item order.
    static func write(chunk index: Int, rows: [FeatureRow], skipped: [SkippedItem], plan: FeatureStorePlan, into folder: URL) throws {
        for feature in plan.features {
            try writeArray(rows.map { $0.features[feature.name] ?? [] }, shape: [rows.count] + feature.itemShape,
                           to: folder.appendingPathComponent("\(feature.name).npy"))
        }
        if plan.sliceFeatures {
            let slices = folder.appendingPathComponent(sliceFolder)
            try FeatureStoreWriter.createDirectory(slices)
            let count = rows.reduce(0) { $0 + $1.sliceCount }
            for feature in plan.features {
                try writeArray(rows.map { $0.slices[feature.name] ?? [] }, shape: [count] + feature.itemShape,
                               to: slices.appendingPathComponent("\(feature.name).npy"))
            }
        }
        let ids = ChunkIDs(chunk: index, rows: rows.map(\.id), skipped: skipped, sliceCounts: plan.sliceFeatures ? rows.map(\.sliceCount) : nil)
        let idsURL = folder.appendingPathComponent("ids.json")
        try writeFile(StoreJSON.encode(ids, file: idsURL.path), to: idsURL)
    }

    /// The ids of the chunk in `folder` after checking it: `ids.json` names chunk `index` and covers its
    /// items exactly once in item order, and every feature's `.npy` is whole float32 of shape
    /// `[rows] + itemShape`. Anything else is a `FileError` naming the offending file.
    static func validate(chunk index: Int, folder: URL, plan: FeatureStorePlan) throws -> ChunkIDs {
        let idsURL = folder.appendingPathComponent("ids.json")
        let ids = try StoreJSON.decode(ChunkIDs.self, from: idsURL)
        guard ids.chunk == index else {
            throw FileError(file: idsURL.path, problem: "names chunk \(ids.chunk), but lies in the folder of chunk \(index)")
        }
        let expected = plan.items[plan.itemRange(ofChunk: index)].map(\.id)
        var rows = ids.rows[...], skipped = ids.skipped[...]
        for id in expected {
            if rows.first == id { rows.removeFirst() } else if skipped.first?.id == id { skipped.removeFirst() } else {
                throw FileError(file: idsURL.path, problem: "does not list item '\(id)' in item order among its rows or skipped items")
            }
        }
        guard rows.isEmpty, skipped.isEmpty else {
            throw FileError(file: idsURL.path, problem: "lists ids that are not the chunk's items, e.g. '\(rows.first ?? skipped.first!.id)'")
        }
        for feature in plan.features {
            _ = try readFeature(feature, rows: ids.rows.count, folder: folder)
        }
        if let slices = try sliceRowCount(ids, plan: plan, file: idsURL.path) {
            for feature in plan.features {
                _ = try readFeature(feature, rows: slices, folder: folder.appendingPathComponent(sliceFolder))
            }
        }
        return ids
    }

    /// The number of slice rows `ids` lists (`nil` for a store without per-slice features), checked: one
    /// count of at least 1 per row when the plan keeps slices, no counts otherwise.
    static func sliceRowCount(_ ids: ChunkIDs, plan: FeatureStorePlan, file: String) throws -> Int? {
        guard plan.sliceFeatures else {
            guard ids.sliceCounts == nil else { throw FileError(file: file, problem: "lists slice counts, but the store keeps no per-slice features") }
            return nil
        }
        guard let counts = ids.sliceCounts, counts.count == ids.rows.count, counts.allSatisfy({ $0 >= 1 }) else {
            throw FileError(file: file, problem: "needs slice_counts with one count of at least 1 per row (\(ids.rows.count) rows), as the store keeps per-slice features")
        }
        return counts.reduce(0, +)
    }

    /// The folder of a chunk's per-slice arrays.
    static let sliceFolder = "slices"

    /// The `[rows] + itemShape` array of `feature` in `folder`, checked.
    static func readFeature(_ feature: FeatureSpec, rows: Int, folder: URL) throws -> Tensor {
        let url = folder.appendingPathComponent("\(feature.name).npy")
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw FileError(file: url.path, problem: "is missing")
        }
        let tensor = try NumPyArray.read(contentsOf: url, requireFloat32: true)
        guard tensor.shape == [rows] + feature.itemShape else {
            throw FileError(file: url.path, problem: "has shape \(tensor.shape); the chunk needs \([rows] + feature.itemShape)")
        }
        return tensor
    }

    /// Writes `rows` (each the same number of values, in order) as a float32 `.npy` of `shape`.
    static func writeArray(_ rows: [[Float]], shape: [Int], to url: URL) throws {
        let tensor = Tensor(shape: shape) { buffer in
            var offset = 0
            for row in rows {
                for value in row { buffer[offset] = value; offset += 1 }
            }
        }
        try writeFile(NumPyArray.encode(tensor), to: url)
    }

    static func writeFile(_ data: Data, to url: URL) throws {
        do { try data.write(to: url) } catch {
            throw FileError(file: url.path, problem: "cannot be written (\(error.localizedDescription))")
        }
    }
}
