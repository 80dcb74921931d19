import FileAccess
import Foundation
import TensorCore

/// A finished feature store (its `manifest.json` exists): the plan, the chunks and the stored arrays.
/// `read(feature:)` gives `[rows] + itemShape` with the rows of all chunks in item order (skipped items
/// have no row), and the id of each row.
public struct FeatureStore: Sendable {
    /// The store folder.
    public let url: URL
    /// The content of `manifest.json`.
    public let manifest: FeatureStoreManifest

    /// The plan the store was written with.
    public var plan: FeatureStorePlan { manifest.plan }

    init(url: URL, manifest: FeatureStoreManifest) {
        self.url = url
        self.manifest = manifest
    }

    /// The finished store at `url`. Without `manifest.json` (unfinished or not a store), with an
    /// inconsistent manifest, or with a key other than `expectedKey` (when given) it is a `FileError`.
    public static func open(at url: URL, expectedKey: FeatureStoreKey? = nil) throws -> FeatureStore {
        let manifestURL = url.appendingPathComponent(FeatureStoreFiles.manifest)
        let file = manifestURL.path
        guard FileManager.default.fileExists(atPath: file) else {
            let started = FileManager.default.fileExists(atPath: url.appendingPathComponent(FeatureStoreFiles.plan).path)
            throw FileError(file: url.path, problem: started
                ? "is an unfinished feature store (no manifest.json): rerun the extraction to resume it"
                : "is not a feature store (no manifest.json)")
        }
        let document = try StoreDocument.decodeManifest(from: manifestURL)
        let plan = try document.plan(file: file)
        if let expectedKey, expectedKey.key != plan.key.key {
            throw FileError(file: url.path, problem: "holds features of key \(plan.key.key), not of the expected key \(expectedKey.key)")
        }
        guard let chunks = document.chunks, let rowIDs = document.rowIDs, let skipped = document.skipped else {
            throw FileError(file: file, problem: "lacks the chunks, row_ids or skipped field of a finished store")
        }
        guard chunks.count == plan.chunkCount else {
            throw FileError(file: file, problem: "lists \(chunks.count) chunks; \(plan.items.count) items in chunks of \(plan.chunkSize) make \(plan.chunkCount)")
        }
        for (index, chunk) in chunks.enumerated() {
            let range = plan.itemRange(ofChunk: index)
            guard chunk.index == index, chunk.folder == FeatureStorePlan.chunkFolder(index), chunk.firstItem == range.lowerBound,
                  chunk.itemCount == range.count, (0...range.count).contains(chunk.rows) else {
                throw FileError(file: file, problem: "chunk entry \(index) does not match the plan (folder, first item, item count or rows)")
            }
        }
        guard chunks.reduce(0, { $0 + $1.rows }) == rowIDs.count, rowIDs.count + skipped.count == plan.items.count else {
            throw FileError(file: file, problem: "lists \(rowIDs.count) rows and \(skipped.count) skipped items for \(plan.items.count) items")
        }
        return FeatureStore(url: url, manifest: FeatureStoreManifest(plan: plan, chunks: chunks, rowIDs: rowIDs, skipped: skipped))
    }

    /// All rows of `feature`, `[rowIDs.count] + itemShape`, chunk after chunk, with their ids
    /// (`manifest.rowIDs`). Each chunk's `ids.json` and array shape are checked against the manifest.
    public func read(feature name: String) throws -> (ids: [String], values: Tensor) {
        guard let feature = plan.features.first(where: { $0.name == name }) else {
            throw FileError(file: url.path, problem: "has no feature '\(name)' (it has \(plan.features.map(\.name).joined(separator: ", ")))")
        }
        let rowIDs = manifest.rowIDs
        let itemCount = feature.itemCount
        var start = 0
        let values = try Tensor(shape: [rowIDs.count] + feature.itemShape) { buffer in
            for chunk in manifest.chunks {
                let folder = url.appendingPathComponent(chunk.folder)
                let idsURL = folder.appendingPathComponent("ids.json")
                let ids = try StoreJSON.decode(ChunkIDs.self, from: idsURL)
                guard ids.rows == Array(rowIDs[start..<start + chunk.rows]) else {
                    throw FileError(file: idsURL.path, problem: "lists other rows than manifest.json for chunk \(chunk.index)")
                }
                let array = try FeatureChunk.readFeature(feature, rows: chunk.rows, folder: folder)
                array.withUnsafeBufferPointer { source in
                    for n in 0..<source.count { buffer[start * itemCount + n] = source[n] }
                }
                start += chunk.rows
            }
        }
        return (rowIDs, values)
    }
}

extension StoreDocument {
    /// `manifest.json` decoded.
    static func decodeManifest(from url: URL) throws -> StoreDocument {
        try StoreJSON.decode(StoreDocument.self, from: url)
    }
}
