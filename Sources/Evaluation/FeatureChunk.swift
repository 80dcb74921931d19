import Checkpoints
import FileAccess
import Foundation
import TensorCore

/// One item's arrays, by feature name, each `FeatureSpec.itemCount` values in row-major order.
public struct FeatureRow: Sendable {
    /// The item id.
    public let id: String
    /// Feature name → values.
    public let features: [String: [Float]]

    /// A row for item `id`.
    public init(id: String, features: [String: [Float]]) {
        self.id = id
        self.features = features
    }
}

/// `chunks/NNNNN/ids.json`: the chunk number, the ids of its rows (the `.npy` files' rows, in item
/// order) and its skipped items with their errors (in item order).
struct ChunkIDs: Codable, Equatable {
    var chunk: Int
    var rows: [String]
    var skipped: [SkippedItem]
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
        }
        func place(_ id: String) -> Int { position[id, default: range.count] }
        return (rows.sorted { place($0.id) < place($1.id) }, skipped.sorted { place($0.id) < place($1.id) })
    }

    /// Writes the chunk's files into `folder` (which exists and is empty); `rows` and `skipped` in item order.
    static func write(chunk index: Int, rows: [FeatureRow], skipped: [SkippedItem], plan: FeatureStorePlan, into folder: URL) throws {
        for feature in plan.features {
            let tensor = Tensor(shape: [rows.count] + feature.itemShape) { buffer in
                for (r, row) in rows.enumerated() {
                    for (n, value) in (row.features[feature.name] ?? []).enumerated() { buffer[r * feature.itemCount + n] = value }
                }
            }
            try writeFile(NumPyArray.encode(tensor), to: folder.appendingPathComponent("\(feature.name).npy"))
        }
        let ids = ChunkIDs(chunk: index, rows: rows.map(\.id), skipped: skipped)
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
        return ids
    }

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

    static func writeFile(_ data: Data, to url: URL) throws {
        do { try data.write(to: url) } catch {
            throw FileError(file: url.path, problem: "cannot be written (\(error.localizedDescription))")
        }
    }
}
