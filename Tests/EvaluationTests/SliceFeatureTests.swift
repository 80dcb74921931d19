import Checkpoints
import Datasets
import Evaluation
import Foundation
import TensorCore
import TestSupport
import XCTest

/// Stores that keep per-slice features beside each item's row: layout, reads, refusals, resume and merge.
final class SliceFeatureTests: XCTestCase {
    /// Item at catalog position `p` has `p % 3 + 1` slices.
    static func sliceCount(position: Int) -> Int { position % 3 + 1 }

    /// The row of `plan`'s item `item` (catalog position `position`): `FeatureStoreTests.values` of the
    /// position and, when the plan keeps slices, slice `s` holding the values of position `100 + 10·p + s`.
    static func row(_ plan: FeatureStorePlan, item: Int, position: Int) -> FeatureRow {
        let features = Dictionary(uniqueKeysWithValues: plan.features.map {
            ($0.name, FeatureStoreTests.values(item: position, feature: $0.name))
        })
        guard plan.sliceFeatures else { return FeatureRow(id: plan.items[item].id, features: features) }
        let count = sliceCount(position: position)
        let slices = Dictionary(uniqueKeysWithValues: plan.features.map { feature in
            (feature.name, (0..<count).flatMap { FeatureStoreTests.values(item: 100 + 10 * position + $0, feature: feature.name) })
        })
        return FeatureRow(id: plan.items[item].id, features: features, slices: slices, sliceCount: count)
    }

    func testSlicesAreStoredPerChunkAndReadInItemOrder() throws {
        let url = try Fixtures.temporaryDirectory(removedAfter: self).appendingPathComponent("store")
        let plan = try FeatureStoreTests.plan(sliceFeatures: true)
        let store = try FeatureStoreMergeTests.write(plan, at: url, skipping: [4])

        let (ids, counts, values) = try store.readSlices(feature: "patch_mean")
        let kept = [0, 1, 2, 3, 5, 6]
        XCTAssertEqual(ids, kept.map { plan.items[$0].id })
        XCTAssertEqual(counts, kept.map { Self.sliceCount(position: $0) })
        XCTAssertEqual(values.shape, [counts.reduce(0, +), 2, 3])
        XCTAssertEqual(values.scalars, kept.flatMap { p in
            (0..<Self.sliceCount(position: p)).flatMap { FeatureStoreTests.values(item: 100 + 10 * p + $0, feature: "patch_mean") }
        })
        XCTAssertEqual(try store.read(feature: "cls").values.scalars, kept.flatMap { FeatureStoreTests.values(item: $0, feature: "cls") })

        let chunk1 = url.appendingPathComponent("chunks/00001")
        let ids1 = try JSONSerialization.jsonObject(with: Data(contentsOf: chunk1.appendingPathComponent("ids.json"))) as? [String: Any]
        XCTAssertEqual(ids1?["slice_counts"] as? [Int], [1, 3])
        XCTAssertEqual(try NumPyArray.read(contentsOf: chunk1.appendingPathComponent("slices/cls.npy")).shape, [4, 2, 3])
        let manifest = try JSONSerialization.jsonObject(with: Data(contentsOf: url.appendingPathComponent("manifest.json"))) as? [String: Any]
        XCTAssertEqual(manifest?["slice_features"] as? Bool, true)
        XCTAssertTrue(try FeatureStore.open(at: url).plan.sliceFeatures)
    }

    func testStoreWithoutSlicesHasNoSliceFieldsAndRefusesSliceReads() throws {
        let url = try Fixtures.temporaryDirectory(removedAfter: self).appendingPathComponent("store")
        let store = try FeatureStoreMergeTests.write(FeatureStoreTests.plan(), at: url)
        let manifest = try String(contentsOf: url.appendingPathComponent("manifest.json"), encoding: .utf8)
        XCTAssertFalse(manifest.contains("slice"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: url.appendingPathComponent("chunks/00000/slices").path))
        XCTAssertThrowsError(try store.readSlices(feature: "cls")) { error in
            XCTAssertTrue("\(error)".contains("keeps no per-slice features"), "\(error)")
        }
    }

    func testRowsWithoutTheSlicesThePlanAsksForAreRefused() throws {
        let root = try Fixtures.temporaryDirectory(removedAfter: self)
        let withSlices = try FeatureStoreWriter(at: root.appendingPathComponent("a"), plan: FeatureStoreTests.plan(sliceFeatures: true))
        let plainRows = (0..<3).map { Self.row(try! FeatureStoreTests.plan(), item: $0, position: $0) }
        XCTAssertThrowsError(try withSlices.write(chunk: 0, rows: plainRows)) { error in
            XCTAssertTrue("\(error)".contains("item 'images/0.png' has no slices"), "\(error)")
        }
        var short = Self.row(withSlices.plan, item: 1, position: 1)
        short = FeatureRow(id: short.id, features: short.features, slices: short.slices, sliceCount: 3)
        XCTAssertThrowsError(try withSlices.write(chunk: 0, rows: [Self.row(withSlices.plan, item: 0, position: 0), short,
                                                                   Self.row(withSlices.plan, item: 2, position: 2)])) { error in
            XCTAssertTrue("\(error)".contains("3 slices of shape [2, 3] need 18"), "\(error)")
        }
        let without = try FeatureStoreWriter(at: root.appendingPathComponent("b"), plan: FeatureStoreTests.plan())
        XCTAssertThrowsError(try without.write(chunk: 0, rows: (0..<3).map { Self.row(withSlices.plan, item: $0, position: $0) })) { error in
            XCTAssertTrue("\(error)".contains("has per-slice features, which the store does not keep"), "\(error)")
        }
    }

    func testResumingWithAnotherSliceSettingIsRefused() throws {
        let url = try Fixtures.temporaryDirectory(removedAfter: self).appendingPathComponent("store")
        let writer = try FeatureStoreWriter(at: url, plan: FeatureStoreTests.plan(sliceFeatures: true))
        try writer.write(chunk: 0, rows: (0..<3).map { Self.row(writer.plan, item: $0, position: $0) })
        XCTAssertThrowsError(try FeatureStoreWriter(at: url, plan: FeatureStoreTests.plan())) { error in
            XCTAssertTrue("\(error)".contains("per-slice features kept vs not kept"), "\(error)")
        }
    }

    func testMissingSliceArrayMakesTheChunkUnfinished() throws {
        let url = try Fixtures.temporaryDirectory(removedAfter: self).appendingPathComponent("store")
        let plan = try FeatureStoreTests.plan(sliceFeatures: true)
        try FeatureStoreMergeTests.write(plan, at: url)
        try FileManager.default.removeItem(at: url.appendingPathComponent("chunks/00002/slices/cls.npy"))
        let resumed = try FeatureStoreWriter(at: url, plan: plan)
        XCTAssertEqual(resumed.completedChunks, [0, 1])
        XCTAssertTrue(resumed.rejectedChunks[2].map { "\($0)".contains("slices/cls.npy: is missing") } ?? false,
                      "\(String(describing: resumed.rejectedChunks[2]))")
    }

    func testMergedSliceShardsEqualSingleRunByteForByte() throws {
        let root = try Fixtures.temporaryDirectory(removedAfter: self)
        let whole = try FeatureStoreTests.plan(sliceFeatures: true)
        try FeatureStoreMergeTests.write(whole, at: root.appendingPathComponent("single"), skipping: [4])
        let shards = try FeatureStoreMergeTests.writeShards(of: whole, under: root.appendingPathComponent("shards"))
        let merged = try FeatureStore.merge(shards: shards, into: root.appendingPathComponent("merged"), chunkSize: 3)
        XCTAssertEqual(try FeatureStoreTests.files(under: merged.url), try FeatureStoreTests.files(under: root.appendingPathComponent("single")))
        XCTAssertTrue(merged.plan.sliceFeatures)

        let plainShard = root.appendingPathComponent("plain0")
        try FeatureStoreMergeTests.write(FeatureStoreMergeTests.shardPlan(0, of: 3, whole: whole, sliceFeatures: false), at: plainShard)
        XCTAssertThrowsError(try FeatureStore.merge(shards: [plainShard, shards[1], shards[2]], into: root.appendingPathComponent("m2"))) { error in
            XCTAssertTrue("\(error)".contains("per-slice features kept vs not kept"), "\(error)")
        }
    }
}
