import Datasets
import FileAccess
import Foundation
import TensorCore

extension FeatureStore {
    /// Merges the finished stores of the `N` shards of one catalog into one store at `destination`.
    ///
    /// Every shard must record a `FeatureShard` with the same count `N` and total, and the same key,
    /// dataset, label names, features and RadProbe version; each index `0 ..< N` must appear exactly once.
    /// Catalog position `p` is item `p / N` of shard `p mod N`; the merged plan lists the items in that
    /// order with no shard, and its chunks (of `chunkSize`, or the shards' common chunk size) are written
    /// with `FeatureStoreWriter`, skipped items carried over with their errors. So the merged store is,
    /// byte for byte, the store one run over the whole catalog writes with the same chunk size, when the
    /// features are equal; an interrupted merge resumes like any store. A refusal is a `FileError` naming
    /// the two stores that disagree (or the missing shard).
    @discardableResult
    public static func merge(shards urls: [URL], into destination: URL, chunkSize: Int? = nil) throws -> FeatureStore {
        guard let firstURL = urls.first else {
            throw FileError(file: destination.path, problem: "cannot be merged from no shard stores")
        }
        let stores = try urls.map { try FeatureStore.open(at: $0) }
        let shards = try stores.map { store -> FeatureShard in
            guard let shard = store.plan.shard else {
                throw FileError(file: store.url.path, problem: "holds a whole catalog, not a shard (its plan records no shard)")
            }
            return shard
        }
        let reference = stores[0], first = shards[0]
        for (store, shard) in zip(stores, shards).dropFirst() {
            try checkMergeable(store, shard, with: reference, first)
        }
        var byIndex: [FeatureStore?] = Array(repeating: nil, count: first.count)
        for (store, shard) in zip(stores, shards) {
            if let earlier = byIndex[shard.index] {
                throw FileError(file: store.url.path, problem: "is shard \(shard), like \(earlier.url.path): each shard must be given once")
            }
            byIndex[shard.index] = store
        }
        if let missing = byIndex.firstIndex(where: { $0 == nil }) {
            throw FileError(file: firstURL.path, problem: "is shard \(first), but shard \(missing)/\(first.count) is not among the \(urls.count) stores given")
        }
        let ordered = byIndex.compactMap { $0 }
        let size = try chunkSize ?? commonChunkSize(ordered)
        let plan = try FeatureStorePlan(
            key: reference.plan.key, dataset: reference.plan.dataset, labelSpace: reference.plan.labelSpace,
            items: (0..<first.totalItems).map { ordered[$0 % first.count].plan.items[$0 / first.count] },
            features: reference.plan.features, chunkSize: size, radProbeVersion: reference.plan.radProbeVersion,
            sliceFeatures: reference.plan.sliceFeatures, layoutProblems: reference.plan.layoutProblems, label: destination.path)
        let writer = try FeatureStoreWriter(at: destination, plan: plan)
        var readers = ordered.map(ShardChunkReader.init)
        for chunk in writer.pendingChunks {
            var rows: [FeatureRow] = [], skipped: [SkippedItem] = []
            for position in plan.itemRange(ofChunk: chunk) {
                switch try readers[position % first.count].item(position / first.count) {
                case .row(let row): rows.append(row)
                case .skipped(let item): skipped.append(item)
                }
            }
            try writer.write(chunk: chunk, rows: rows, skipped: skipped)
        }
        return try writer.finish()
    }

    /// Refuses to merge `store` with `reference` unless they are shards of the same extraction.
    static func checkMergeable(_ store: FeatureStore, _ shard: FeatureShard, with reference: FeatureStore, _ first: FeatureShard) throws {
        let (plan, other) = (store.plan, reference.plan)
        let difference = [plan.key.key != other.key.key ? "key \(plan.key.key) vs \(other.key.key)" : nil].compactMap { $0 }
            + plan.sharedFieldDifferences(from: other) + [
                shard.count != first.count ? "shard count \(shard.count) vs \(first.count)" : nil,
                shard.totalItems != first.totalItems ? "catalog total \(shard.totalItems) vs \(first.totalItems) items" : nil,
            ].compactMap { $0 }
        guard difference.isEmpty else {
            throw FileError(file: store.url.path, problem: "cannot be merged with \(reference.url.path): they differ in \(difference.joined(separator: "; ")); merge only the shards of one extraction")
        }
    }

    /// The chunk size all `stores` share; different sizes need an explicit one.
    static func commonChunkSize(_ stores: [FeatureStore]) throws -> Int {
        let first = stores[0]
        if let other = stores.first(where: { $0.plan.chunkSize != first.plan.chunkSize }) {
            throw FileError(file: other.url.path, problem: "has chunks of \(other.plan.chunkSize) items, \(first.url.path) of \(first.plan.chunkSize): give the merged store's chunk size")
        }
        return first.plan.chunkSize
    }
}

/// Reads one shard store's items in ascending order, keeping one chunk (its ids and arrays) in memory.
struct ShardChunkReader {
    /// An item as a shard holds it.
    enum Item {
        case row(FeatureRow)
        case skipped(SkippedItem)
    }

    /// One chunk in memory: where each row id lies, the skipped items, the arrays in plan order and, when
    /// the store keeps slices, the per-slice arrays with each row's first slice row and slice count.
    struct LoadedChunk {
        let index: Int
        let rowOfID: [String: Int]
        let skippedByID: [String: SkippedItem]
        let arrays: [Tensor]
        let sliceArrays: [Tensor]
        let sliceStarts: [Int]
        let sliceCounts: [Int]
    }

    let store: FeatureStore
    var loaded: LoadedChunk?

    init(_ store: FeatureStore) {
        self.store = store
    }

    /// The shard's item at position `item`: its row of every feature (and its slices), or the skipped entry.
    mutating func item(_ item: Int) throws -> Item {
        let plan = store.plan
        let chunk: LoadedChunk
        if let loaded, loaded.index == item / plan.chunkSize { chunk = loaded } else {
            chunk = try load(chunk: item / plan.chunkSize)
            loaded = chunk
        }
        let id = plan.items[item].id
        if let skipped = chunk.skippedByID[id] { return .skipped(skipped) }
        guard let row = chunk.rowOfID[id] else {
            throw FileError(file: store.url.appendingPathComponent(FeatureStorePlan.chunkFolder(chunk.index)).path,
                            problem: "lists item '\(id)' neither among its rows nor its skipped items")
        }
        var features: [String: [Float]] = [:], slices: [String: [Float]] = [:]
        let sliceCount = plan.sliceFeatures ? chunk.sliceCounts[row] : 0
        for (n, feature) in plan.features.enumerated() {
            let count = feature.itemCount
            features[feature.name] = chunk.arrays[n].withUnsafeBufferPointer { Array($0[row * count ..< (row + 1) * count]) }
            if plan.sliceFeatures {
                let first = chunk.sliceStarts[row] * count
                slices[feature.name] = chunk.sliceArrays[n].withUnsafeBufferPointer { Array($0[first ..< first + sliceCount * count]) }
            }
        }
        return .row(FeatureRow(id: id, features: features, slices: slices, sliceCount: sliceCount))
    }

    /// Chunk `index`'s ids, checked against the manifest, and its arrays, checked in shape.
    func load(chunk index: Int) throws -> LoadedChunk {
        let entry = store.manifest.chunks[index]
        let folder = store.url.appendingPathComponent(entry.folder)
        let idsURL = folder.appendingPathComponent("ids.json")
        let ids = try store.chunkIDs(entry)
        guard ids.rows.count + ids.skipped.count == entry.itemCount else {
            throw FileError(file: idsURL.path, problem: "lists other skipped items than manifest.json for chunk \(index)")
        }
        let sliceRows = try FeatureChunk.sliceRowCount(ids, plan: store.plan, file: idsURL.path)
        let counts = ids.sliceCounts ?? []
        var starts: [Int] = [], start = 0
        for count in counts { starts.append(start); start += count }
        // A repeated or foreign id leaves one of the chunk's items unlisted, which `item(_:)` reports.
        return LoadedChunk(
            index: index, rowOfID: Dictionary(ids.rows.enumerated().map { ($1, $0) }) { first, _ in first },
            skippedByID: Dictionary(ids.skipped.map { ($0.id, $0) }) { first, _ in first },
            arrays: try store.plan.features.map { try FeatureChunk.readFeature($0, rows: entry.rows, folder: folder) },
            sliceArrays: try sliceRows.map { rows in
                try store.plan.features.map {
                    try FeatureChunk.readFeature($0, rows: rows, folder: folder.appendingPathComponent(FeatureChunk.sliceFolder))
                }
            } ?? [],
            sliceStarts: starts, sliceCounts: counts)
    }
}
