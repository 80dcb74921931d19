import Datasets
import FileAccess
import Foundation

/// Creates a feature store folder or resumes one, one whole chunk at a time.
///
/// Layout (see docs/feature-store.md): `plan.json` (written when the store is created), `chunks/NNNNN/`
/// (`ids.json` and one `<feature>.npy` per feature), and `manifest.json` (written by `finish()`, last).
/// A chunk is written into `chunks/.partial-NNNNN-<uuid>` and renamed into place, so a killed run leaves
/// only whole chunks; a resumed run (same folder, same plan) removes stray partial folders, keeps the
/// chunks that validate and rewrites the rest, giving the same bytes as an uninterrupted run.
public final class FeatureStoreWriter {
    /// The store folder.
    public let url: URL
    /// What the store holds.
    public let plan: FeatureStorePlan
    /// Chunks whose folder exists and validates (`FeatureChunk.validate`), ascending.
    public private(set) var completedChunks: [Int]
    /// Chunk folders found on opening that did not validate, with the reason; they are rewritten.
    public private(set) var rejectedChunks: [Int: FileError]

    /// Chunks still to write, ascending.
    public var pendingChunks: [Int] {
        let done = Set(completedChunks)
        return (0..<plan.chunkCount).filter { !done.contains($0) }
    }

    /// Opens the store at `url` for `plan`: creates it when the folder is absent or empty, and resumes it
    /// when its `plan.json` records the same plan. A store of another key is refused with both keys; one
    /// with the same key but a different dataset, item list, features, chunk size or version is refused too.
    public init(at url: URL, plan: FeatureStorePlan) throws {
        self.url = url
        self.plan = plan
        let manager = FileManager.default
        let planURL = url.appendingPathComponent(FeatureStoreFiles.plan)
        if manager.fileExists(atPath: planURL.path) {
            let existing = try StoreJSON.decode(StoreDocument.self, from: planURL).plan(file: planURL.path)
            try Self.checkSameWork(existing, plan, store: url.path)
        } else {
            let entries = (try? manager.contentsOfDirectory(atPath: url.path)) ?? []
            guard entries.allSatisfy({ $0 == "chunks" || $0.hasPrefix(".") }) else {
                throw FileError(file: url.path, problem: "is not empty and holds no \(FeatureStoreFiles.plan): not a feature store; choose an empty or new folder")
            }
            try Self.createDirectory(url.appendingPathComponent("chunks"))
            try AtomicFile.write(StoreJSON.encode(StoreDocument(plan: plan), file: planURL.path), to: planURL)
        }
        try Self.createDirectory(url.appendingPathComponent("chunks"))
        try Self.removeStrayPartials(in: url)
        var completed: [Int] = []
        var rejected: [Int: FileError] = [:]
        for index in 0..<plan.chunkCount {
            let folder = url.appendingPathComponent(FeatureStorePlan.chunkFolder(index))
            guard manager.fileExists(atPath: folder.path) else { continue }
            do {
                _ = try FeatureChunk.validate(chunk: index, folder: folder, plan: plan)
                completed.append(index)
            } catch let error as FileError {
                rejected[index] = error
            }
        }
        completedChunks = completed
        rejectedChunks = rejected
    }

    /// Writes chunk `index`: `rows` and `skipped` must together cover its items exactly once (any order;
    /// they are stored in item order), each row holding every feature. Replaces an existing folder of the
    /// chunk; removes `manifest.json` first, as the store is no longer finished.
    public func write(chunk index: Int, rows: [FeatureRow], skipped: [SkippedItem] = []) throws {
        guard (0..<plan.chunkCount).contains(index) else {
            throw FileError(file: url.path, problem: "has chunks 0..<\(plan.chunkCount); chunk \(index) does not exist")
        }
        let (orderedRows, orderedSkipped) = try FeatureChunk.ordered(chunk: index, rows: rows, skipped: skipped, plan: plan, store: url.path)
        let manager = FileManager.default
        let manifest = url.appendingPathComponent(FeatureStoreFiles.manifest)
        if manager.fileExists(atPath: manifest.path) { try Self.remove(manifest) }
        let name = FeatureStorePlan.chunkFolder(index)
        let final = url.appendingPathComponent(name)
        let partial = url.appendingPathComponent("chunks/\(FeatureStoreFiles.partialPrefix)\(final.lastPathComponent)-\(UUID().uuidString)")
        try Self.createDirectory(partial)
        do {
            try FeatureChunk.write(chunk: index, rows: orderedRows, skipped: orderedSkipped, plan: plan, into: partial)
            if manager.fileExists(atPath: final.path) { try Self.remove(final) }
            guard rename(partial.path, final.path) == 0 else {
                throw FileError(file: final.path, problem: "cannot be put in place (rename failed, errno \(errno))")
            }
        } catch {
            try? manager.removeItem(at: partial)
            throw error
        }
        completedChunks = (Set(completedChunks).union([index])).sorted()
        rejectedChunks[index] = nil
    }

    /// Checks every chunk (each item in exactly one chunk, as a row or skipped), writes `manifest.json`
    /// atomically and returns the finished store. Missing or invalid chunks are a `FileError` listing them.
    @discardableResult
    public func finish() throws -> FeatureStore {
        var chunks: [FeatureStoreChunk] = []
        var rowIDs: [String] = []
        var skipped: [SkippedItem] = []
        var unfinished: [String] = []
        for index in 0..<plan.chunkCount {
            let name = FeatureStorePlan.chunkFolder(index)
            do {
                let ids = try FeatureChunk.validate(chunk: index, folder: url.appendingPathComponent(name), plan: plan)
                let range = plan.itemRange(ofChunk: index)
                chunks.append(FeatureStoreChunk(index: index, folder: name, firstItem: range.lowerBound, itemCount: range.count, rows: ids.rows.count))
                rowIDs += ids.rows
                skipped += ids.skipped
            } catch let error as FileError {
                unfinished.append(FileManager.default.fileExists(atPath: url.appendingPathComponent(name).path) ? "\(index) (\(error.problem))" : "\(index)")
            }
        }
        guard unfinished.isEmpty else {
            throw FileError(file: url.path, problem: "cannot be finished: chunk(s) \(unfinished.joined(separator: ", ")) missing or invalid; write them first")
        }
        let stored = rowIDs + skipped.map(\.id)
        guard stored.count == plan.items.count, Set(stored) == Set(plan.items.map(\.id)) else {
            throw FileError(file: url.path, problem: "chunks hold \(stored.count) items, the plan \(plan.items.count)")
        }
        let manifestURL = url.appendingPathComponent(FeatureStoreFiles.manifest)
        let document = StoreDocument(plan: plan, chunks: chunks, rowIDs: rowIDs, skipped: skipped)
        try AtomicFile.write(StoreJSON.encode(document, file: manifestURL.path), to: manifestURL)
        return FeatureStore(url: url, manifest: FeatureStoreManifest(plan: plan, chunks: chunks, rowIDs: rowIDs, skipped: skipped))
    }

    /// Refuses to resume `existing` with `requested` unless they are the same work.
    static func checkSameWork(_ existing: FeatureStorePlan, _ requested: FeatureStorePlan, store: String) throws {
        guard existing.key.key == requested.key.key else {
            throw FileError(file: store, problem: "holds features of key \(existing.key.key), not of the requested key \(requested.key.key); features of different keys are never mixed: use another folder")
        }
        let differences = existing.sharedFieldDifferences(from: requested) + [
            existing.items != requested.items ? "item list (\(existing.items.count) vs \(requested.items.count) items, or different ids, patients, labels or parts)" : nil,
            existing.chunkSize != requested.chunkSize ? "chunk size \(existing.chunkSize) vs \(requested.chunkSize)" : nil,
            existing.shard != requested.shard ? "shard \(existing.shard?.description ?? "none") vs \(requested.shard?.description ?? "none")" : nil,
        ].compactMap { $0 }
        guard differences.isEmpty else {
            throw FileError(file: store, problem: "was started with key \(existing.key.key) but another plan: differs in \(differences.joined(separator: "; ")); use another folder")
        }
    }

    /// Removes leftovers of interrupted writes: `chunks/.partial-*` folders and `.*.partial` files.
    static func removeStrayPartials(in store: URL) throws {
        let manager = FileManager.default
        let chunks = store.appendingPathComponent("chunks")
        for name in (try? manager.contentsOfDirectory(atPath: chunks.path)) ?? [] where name.hasPrefix(FeatureStoreFiles.partialPrefix) {
            try remove(chunks.appendingPathComponent(name))
        }
        for name in (try? manager.contentsOfDirectory(atPath: store.path)) ?? [] where name.hasPrefix(".") && name.hasSuffix(".partial") {
            try remove(store.appendingPathComponent(name))
        }
    }

    static func createDirectory(_ url: URL) throws {
        do { try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true) } catch {
            throw FileError(file: url.path, problem: "cannot be created (\(error.localizedDescription))")
        }
    }

    static func remove(_ url: URL) throws {
        do { try FileManager.default.removeItem(at: url) } catch {
            throw FileError(file: url.path, problem: "cannot be removed (\(error.localizedDescription))")
        }
    }
}

/// File names inside a store folder.
enum FeatureStoreFiles {
    static let plan = "plan.json"
    static let manifest = "manifest.json"
    static let partialPrefix = ".partial-"
}
