import Datasets
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
    /// Per chunk, the position of its first row in `manifest.rowIDs`.
    let firstRows: [Int]

    /// The plan the store was written with.
    public var plan: FeatureStorePlan { manifest.plan }

    init(url: URL, manifest: FeatureStoreManifest) {
        self.url = url
        self.manifest = manifest
        var next = 0
        firstRows = manifest.chunks.map { chunk in
            defer { next += chunk.rows }
            return next
        }
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
        let feature = try spec(of: name)
        let arrays = try manifest.chunks.map { chunk -> Tensor in
            let folder = url.appendingPathComponent(chunk.folder)
            _ = try chunkIDs(chunk)
            return try FeatureChunk.readFeature(feature, rows: chunk.rows, folder: folder)
        }
        return (manifest.rowIDs, Tensor.concatenate(arrays, shape: feature.itemShape))
    }

    /// The per-slice rows of `feature`, `[total slices] + itemShape`, item after item in `ids` order
    /// (the ids of `read(feature:)`), with each item's number of slices: item `i`'s slices are the rows
    /// `sliceCounts[0..<i].sum ..< sliceCounts[0...i].sum`. A store without per-slice features is a `FileError`.
    public func readSlices(feature name: String) throws -> (ids: [String], sliceCounts: [Int], values: Tensor) {
        let feature = try spec(of: name)
        guard plan.sliceFeatures else {
            throw FileError(file: url.path, problem: "keeps no per-slice features (extract with --slice-features)")
        }
        var counts: [Int] = []
        let arrays = try manifest.chunks.map { chunk -> Tensor in
            let idsURL = url.appendingPathComponent(chunk.folder).appendingPathComponent("ids.json")
            let ids = try chunkIDs(chunk)
            let rows = try FeatureChunk.sliceRowCount(ids, plan: plan, file: idsURL.path) ?? 0
            counts += ids.sliceCounts ?? []
            let folder = url.appendingPathComponent(chunk.folder).appendingPathComponent(FeatureChunk.sliceFolder)
            return try FeatureChunk.readFeature(feature, rows: rows, folder: folder)
        }
        return (manifest.rowIDs, counts, Tensor.concatenate(arrays, shape: feature.itemShape))
    }

    /// The spec of feature `name`, or a `FileError` listing the store's features.
    func spec(of name: String) throws -> FeatureSpec {
        guard let feature = plan.features.first(where: { $0.name == name }) else {
            throw FileError(file: url.path, problem: "has no feature '\(name)' (it has \(plan.features.map(\.name).joined(separator: ", ")))")
        }
        return feature
    }

    /// Chunk `chunk`'s `ids.json`, checked against the manifest's rows of that chunk.
    func chunkIDs(_ chunk: FeatureStoreChunk) throws -> ChunkIDs {
        let idsURL = url.appendingPathComponent(chunk.folder).appendingPathComponent("ids.json")
        let ids = try StoreJSON.decode(ChunkIDs.self, from: idsURL)
        let start = firstRows[chunk.index]
        guard ids.chunk == chunk.index, ids.rows.elementsEqual(manifest.rowIDs[start ..< start + chunk.rows]) else {
            throw FileError(file: idsURL.path, problem: "lists other rows than manifest.json for chunk \(chunk.index)")
        }
        return ids
    }
}

extension Tensor {
    /// `parts` (each `[rows] + itemShape`) stacked along the first axis into `[Σ rows] + itemShape`,
    /// also when there are none.
    static func concatenate(_ parts: [Tensor], shape itemShape: [Int]) -> Tensor {
        parts.isEmpty ? Tensor(shape: [0] + itemShape) : concatenate(parts)
    }
}

extension StoreDocument {
    /// `manifest.json` decoded.
    static func decodeManifest(from url: URL) throws -> StoreDocument {
        try StoreJSON.decode(StoreDocument.self, from: url)
    }
}

extension FeatureStore {
    /// The store's items as a dataset catalog (each item's `url` is the store folder): what a split file
    /// is checked against (`DatasetSplit.verify(against:file:)`) and few-shot subsets are drawn from.
    public var catalog: DatasetCatalog {
        DatasetCatalog(name: plan.dataset, modality: .other, labelSpace: plan.labelSpace, items: plan.items.map {
            DatasetItem(id: $0.id, url: url, labels: $0.labels, patient: $0.patient, officialPart: $0.officialPart)
        })
    }
}
