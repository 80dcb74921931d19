import Datasets
import Evaluation
import Foundation
import TestSupport
import XCTest

/// Shard stores written from synthetic features: the shard recorded in the plan, the merged store equal
/// byte for byte to one written in a single run, and every refusal of shards that do not belong together.
final class FeatureStoreMergeTests: XCTestCase {
    /// The seven-item catalog of `FeatureStoreTests.plan()` in chunks of `chunkSize`.
    static func wholePlan(chunkSize: Int = 3) throws -> FeatureStorePlan {
        try FeatureStoreTests.plan(chunkSize: chunkSize)
    }

    /// Shard `index` of `count` of `whole`'s catalog: its items at positions `p ≡ index (mod count)`.
    static func shardPlan(_ index: Int, of count: Int, whole: FeatureStorePlan, chunkSize: Int = 2, dataset: String? = nil,
                          key: FeatureStoreKey? = nil, features: [FeatureSpec]? = nil, labelSpace: LabelSpace? = nil,
                          totalItems: Int? = nil, sliceFeatures: Bool? = nil) throws -> FeatureStorePlan {
        let items = whole.items.enumerated().filter { $0.offset % count == index }.map(\.element)
        return try FeatureStorePlan(key: key ?? whole.key, dataset: dataset ?? whole.dataset, labelSpace: labelSpace ?? whole.labelSpace,
                                    items: items, features: features ?? whole.features, chunkSize: chunkSize,
                                    radProbeVersion: whole.radProbeVersion,
                                    shard: FeatureShard(index: index, count: count, totalItems: totalItems ?? whole.items.count),
                                    sliceFeatures: sliceFeatures ?? whole.sliceFeatures)
    }

    /// Writes a finished store of `plan` whose rows are the features of each item's catalog position
    /// (`FeatureStoreTests.values`), skipping the positions in `skipping` with the error "unreadable: p".
    @discardableResult
    static func write(_ plan: FeatureStorePlan, at url: URL, skipping: Set<Int> = []) throws -> FeatureStore {
        let writer = try FeatureStoreWriter(at: url, plan: plan)
        let position = { (item: Int) in plan.shard?.catalogPosition(ofItem: item) ?? item }
        for chunk in 0..<plan.chunkCount {
            let range = plan.itemRange(ofChunk: chunk)
            let rows = range.filter { !skipping.contains(position($0)) }.map { item in
                SliceFeatureTests.row(plan, item: item, position: position(item))
            }
            let skipped = range.filter { skipping.contains(position($0)) }.map {
                SkippedItem(id: plan.items[$0].id, error: "unreadable: \(position($0))")
            }
            try writer.write(chunk: chunk, rows: rows, skipped: skipped)
        }
        return try writer.finish()
    }

    /// The three shard stores of the whole plan (chunks of `chunkSize`), item 4 skipped, under `root`.
    static func writeShards(of whole: FeatureStorePlan, under root: URL, chunkSize: Int = 2) throws -> [URL] {
        try (0..<3).map { index in
            let url = root.appendingPathComponent("shard\(index)")
            try write(shardPlan(index, of: 3, whole: whole, chunkSize: chunkSize), at: url, skipping: [4])
            return url
        }
    }

    func testShardIsRecordedInPlanAndManifest() throws {
        let root = try Fixtures.temporaryDirectory(removedAfter: self)
        let plan = try Self.shardPlan(1, of: 3, whole: Self.wholePlan())
        XCTAssertEqual(plan.items.map(\.id), ["images/1.png", "images/4.png"])
        let store = try Self.write(plan, at: root.appendingPathComponent("shard"))
        XCTAssertEqual(try FeatureStore.open(at: store.url).plan.shard, FeatureShard(index: 1, count: 3, totalItems: 7))
        for file in ["plan.json", "manifest.json"] {
            let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: store.url.appendingPathComponent(file))) as? [String: Any])
            XCTAssertEqual(json["shard"] as? [String: Int], ["index": 1, "count": 3, "total_items": 7], file)
        }
        let whole = try Self.write(Self.wholePlan(), at: root.appendingPathComponent("whole"))
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: whole.url.appendingPathComponent("manifest.json"))) as? [String: Any])
        XCTAssertNil(json["shard"], "a whole-catalog store has no shard field")
        XCTAssertNotEqual(plan, try Self.shardPlan(1, of: 3, whole: Self.wholePlan(), totalItems: 6), "the shard is part of plan equality")
    }

    func testShardPlanMustHoldItsShareOfTheCatalog() throws {
        let whole = try Self.wholePlan()
        XCTAssertThrowsError(try FeatureStorePlan(key: whole.key, dataset: "synthetic", labelSpace: whole.labelSpace,
                                                  items: Array(whole.items.prefix(2)), features: whole.features, chunkSize: 2,
                                                  radProbeVersion: "0.1.0", shard: FeatureShard(index: 0, count: 3, totalItems: 7))) { error in
            XCTAssertTrue("\(error)".contains("shard 0/3 of 7 items holds 3 items, but the plan lists 2"), "\(error)")
        }
        XCTAssertThrowsError(try FeatureStorePlan(key: whole.key, dataset: "synthetic", labelSpace: whole.labelSpace,
                                                  items: [], features: whole.features, chunkSize: 2,
                                                  radProbeVersion: "0.1.0", shard: FeatureShard(index: 3, count: 3, totalItems: 7))) { error in
            XCTAssertTrue("\(error)".contains("needs 0 ≤ index < count"), "\(error)")
        }
    }

    func testResumingWithAnotherShardIsRefused() throws {
        let folder = try Fixtures.temporaryDirectory(removedAfter: self).appendingPathComponent("store")
        let whole = try Self.wholePlan()
        _ = try FeatureStoreWriter(at: folder, plan: Self.shardPlan(0, of: 3, whole: whole))
        XCTAssertThrowsError(try FeatureStoreWriter(at: folder, plan: Self.shardPlan(0, of: 2, whole: whole))) { error in
            XCTAssertTrue("\(error)".contains("another plan"), "\(error)")
        }
    }

    /// Shards in chunks of 2 merged into chunks of 3 (given, or taken from shards in chunks of 3), passed
    /// in any order: every file equals the single run's, the skipped item carried over with its error.
    func testMergedShardsEqualSingleRunByteForByte() throws {
        let root = try Fixtures.temporaryDirectory(removedAfter: self)
        let whole = try Self.wholePlan()
        try Self.write(whole, at: root.appendingPathComponent("single"), skipping: [4])
        let expected = try FeatureStoreTests.files(under: root.appendingPathComponent("single"))
        XCTAssertEqual(expected.keys.filter { $0.hasSuffix(".npy") }.count, 6)

        let shards = try Self.writeShards(of: whole, under: root.appendingPathComponent("by2"))
        let merged = try FeatureStore.merge(shards: [shards[2], shards[0], shards[1]], into: root.appendingPathComponent("merged"), chunkSize: 3)
        XCTAssertEqual(try FeatureStoreTests.files(under: merged.url), expected)
        XCTAssertEqual(merged.manifest.skipped, [SkippedItem(id: "images/4.png", error: "unreadable: 4")])
        XCTAssertNil(merged.plan.shard)

        let sameChunks = try Self.writeShards(of: whole, under: root.appendingPathComponent("by3"), chunkSize: 3)
        let mergedAgain = try FeatureStore.merge(shards: sameChunks, into: root.appendingPathComponent("merged3"), chunkSize: nil)
        XCTAssertEqual(try FeatureStoreTests.files(under: mergedAgain.url), expected)
    }

    /// Merged into chunks of 4 (neither the shards' 2 nor the single run's 3): the items and features
    /// are still in catalog order, the skipped item without a row.
    func testMergeIntoOtherChunkSizeKeepsCatalogOrder() throws {
        let root = try Fixtures.temporaryDirectory(removedAfter: self)
        let whole = try Self.wholePlan()
        let shards = try Self.writeShards(of: whole, under: root)
        let merged = try FeatureStore.merge(shards: shards, into: root.appendingPathComponent("merged"), chunkSize: 4)
        XCTAssertEqual(merged.plan.items, whole.items)
        XCTAssertEqual(merged.manifest.chunks.map(\.rows), [4, 2])
        let (ids, values) = try merged.read(feature: "patch_mean")
        let kept = [0, 1, 2, 3, 5, 6]
        XCTAssertEqual(ids, kept.map { whole.items[$0].id })
        XCTAssertEqual(values.scalars, kept.flatMap { FeatureStoreTests.values(item: $0, feature: "patch_mean") })
    }

    /// Asserts that merging `shards` fails with a message containing each of `mentions`.
    func assertMergeRefused(_ shards: [URL], chunkSize: Int? = nil, mentioning mentions: [String],
                            file: StaticString = #filePath, line: UInt = #line) throws {
        let destination = try Fixtures.temporaryDirectory(removedAfter: self).appendingPathComponent("merged")
        XCTAssertThrowsError(try FeatureStore.merge(shards: shards, into: destination, chunkSize: chunkSize), file: file, line: line) { error in
            let text = "\(error)"
            for mention in mentions { XCTAssertTrue(text.contains(mention), "'\(mention)' not in: \(text)", file: file, line: line) }
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: destination.appendingPathComponent("manifest.json").path), file: file, line: line)
    }

    func testShardsOfDifferentExtractionsAreRefusedNamingBothStores() throws {
        let root = try Fixtures.temporaryDirectory(removedAfter: self)
        let whole = try Self.wholePlan()
        let shards = try Self.writeShards(of: whole, under: root)
        func variant(_ name: String, _ plan: FeatureStorePlan) throws -> URL {
            try Self.write(plan, at: root.appendingPathComponent(name)).url
        }
        let cases: [(URL, String)] = [
            (try variant("key", Self.shardPlan(1, of: 3, whole: whole, key: FeatureStoreKeyTests.key(normed: false))), "key "),
            (try variant("dataset", Self.shardPlan(1, of: 3, whole: whole, dataset: "other")), "dataset 'other' vs 'synthetic'"),
            (try variant("features", Self.shardPlan(1, of: 3, whole: whole, features: [FeatureSpec(name: "cls", itemShape: [2, 3])])), "features"),
            (try variant("labels", Self.shardPlan(1, of: 3, whole: whole, labelSpace: .multiLabel(findings: ["a", "c"]))), "labels (multi_label"),
            (try variant("total", Self.shardPlan(1, of: 3, whole: whole, totalItems: 6)), "catalog total 6 vs 7 items"),
        ]
        for (url, difference) in cases {
            try assertMergeRefused([shards[0], url, shards[2]], mentioning: [url.path, shards[0].path, difference])
        }
        let halves = try (0..<2).map { try variant("half\($0)", Self.shardPlan($0, of: 2, whole: whole)) }
        try assertMergeRefused([shards[0], halves[1], shards[2]], mentioning: [halves[1].path, shards[0].path, "shard count 2 vs 3"])
    }

    func testMissingRepeatedAndWholeStoresAreRefused() throws {
        let root = try Fixtures.temporaryDirectory(removedAfter: self)
        let whole = try Self.wholePlan()
        let shards = try Self.writeShards(of: whole, under: root)
        let copy = root.appendingPathComponent("copy-of-1")
        try FileManager.default.copyItem(at: shards[1], to: copy)
        try assertMergeRefused([shards[0], shards[1], copy], mentioning: [copy.path, shards[1].path, "is shard 1/3", "given once"])
        try assertMergeRefused([shards[0], shards[2]], mentioning: [shards[0].path, "shard 1/3 is not among the 2 stores given"])
        let single = try Self.write(whole, at: root.appendingPathComponent("single")).url
        try assertMergeRefused([shards[0], single], mentioning: [single.path, "not a shard"])
        try assertMergeRefused([], mentioning: ["no shard stores"])
        let unfinished = root.appendingPathComponent("unfinished")
        _ = try FeatureStoreWriter(at: unfinished, plan: Self.shardPlan(1, of: 3, whole: whole))
        try assertMergeRefused([shards[0], unfinished, shards[2]], mentioning: [unfinished.path, "unfinished feature store"])
    }

    func testDifferentChunkSizesNeedAnExplicitOne() throws {
        let root = try Fixtures.temporaryDirectory(removedAfter: self)
        let whole = try Self.wholePlan()
        var shards = try Self.writeShards(of: whole, under: root)
        let other = root.appendingPathComponent("shard1-by3")
        try Self.write(Self.shardPlan(1, of: 3, whole: whole, chunkSize: 3), at: other, skipping: [4])
        shards[1] = other
        try assertMergeRefused(shards, mentioning: [other.path, shards[0].path, "give the merged store's chunk size"])
        let merged = try FeatureStore.merge(shards: shards, into: root.appendingPathComponent("merged"), chunkSize: 3)
        XCTAssertEqual(try FeatureStoreTests.files(under: merged.url),
                       try FeatureStoreTests.files(under: Self.write(whole, at: root.appendingPathComponent("single"), skipping: [4]).url))
    }

    func testDamagedShardChunkIsRefused() throws {
        let root = try Fixtures.temporaryDirectory(removedAfter: self)
        let shards = try Self.writeShards(of: Self.wholePlan(), under: root)
        let npy = shards[2].appendingPathComponent("chunks/00000/cls.npy")
        let bytes = try Data(contentsOf: npy)
        try bytes.prefix(bytes.count - 4).write(to: npy)
        try assertMergeRefused(shards, mentioning: [npy.path])
    }
}
