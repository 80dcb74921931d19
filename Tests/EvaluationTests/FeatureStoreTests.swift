import Checkpoints
import Datasets
import Evaluation
import Foundation
import TensorCore
import TestSupport
import XCTest

/// Feature stores written from synthetic features: round trip, manifest, resume after a crash, corrupt
/// chunks, key refusal, skipped items and the `.npy` files' headers.
final class FeatureStoreTests: XCTestCase {
    /// Seven items in chunks of three (3, 3, 1); one unknown (NaN) label, mixed official parts.
    static func plan(key: FeatureStoreKey? = nil, chunkSize: Int = 3, sliceFeatures: Bool = false) throws -> FeatureStorePlan {
        let parts: [SplitPart?] = [.train, .train, .validation, .test, nil, .train, .test]
        let items = (0..<7).map { n in
            FeatureStoreItem(id: "images/\(n).png", patient: "p\(n / 2)", labels: [Float(n % 2), n == 3 ? .nan : 1],
                             officialPart: parts[n])
        }
        return try FeatureStorePlan(key: key ?? FeatureStoreKeyTests.key(), dataset: "synthetic", labelSpace: .multiLabel(findings: ["a", "b"]),
                                    items: items, features: [FeatureSpec(name: "cls", itemShape: [2, 3]),
                                                             FeatureSpec(name: "patch_mean", itemShape: [2, 3])],
                                    chunkSize: chunkSize, radProbeVersion: "0.1.0", sliceFeatures: sliceFeatures)
    }

    /// Distinct, exactly representable values for item `item` and feature `feature`.
    static func values(item: Int, feature: String) -> [Float] {
        (0..<6).map { Float(item * 100 + $0) / 8 + (feature == "cls" ? 0 : 1000) }
    }

    static func row(_ plan: FeatureStorePlan, item: Int) -> FeatureRow {
        FeatureRow(id: plan.items[item].id, features: ["cls": values(item: item, feature: "cls"),
                                                       "patch_mean": values(item: item, feature: "patch_mean")])
    }

    /// Writes chunk `index` with every item as a row except those in `skipping` (skipped with an error).
    static func writeChunk(_ index: Int, to writer: FeatureStoreWriter, skipping: Set<Int> = []) throws {
        let range = writer.plan.itemRange(ofChunk: index)
        try writer.write(chunk: index, rows: range.filter { !skipping.contains($0) }.reversed().map { row(writer.plan, item: $0) },
                         skipped: range.filter(skipping.contains).map { SkippedItem(id: writer.plan.items[$0].id, error: "unreadable: \($0)") })
    }

    @discardableResult
    static func writeWhole(at url: URL, plan: FeatureStorePlan, skipping: Set<Int> = []) throws -> FeatureStore {
        let writer = try FeatureStoreWriter(at: url, plan: plan)
        for index in 0..<plan.chunkCount { try writeChunk(index, to: writer, skipping: skipping) }
        return try writer.finish()
    }

    /// Relative path → bytes of every file under `url` (hidden ones included).
    static func files(under url: URL) throws -> [String: Data] {
        var result: [String: Data] = [:]
        let root = url.standardizedFileURL.path
        guard let enumerator = FileManager.default.enumerator(atPath: root) else { return result }
        for case let relative as String in enumerator {
            var isDirectory: ObjCBool = false
            let path = root + "/" + relative
            if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue {
                result[relative] = try Data(contentsOf: URL(fileURLWithPath: path))
            }
        }
        return result
    }

    func testRoundTripGivesExactFeaturesInItemOrder() throws {
        let folder = try Fixtures.temporaryDirectory(removedAfter: self).appendingPathComponent("store")
        let plan = try Self.plan()
        try Self.writeWhole(at: folder, plan: plan)
        let store = try FeatureStore.open(at: folder, expectedKey: plan.key)
        XCTAssertEqual(store.plan, plan, "the plan read back equals the one written (NaN labels included)")
        XCTAssertTrue(store.plan.items[3].labels[1].isNaN)
        for name in ["cls", "patch_mean"] {
            let (ids, values) = try store.read(feature: name)
            XCTAssertEqual(ids, plan.items.map(\.id))
            XCTAssertEqual(values.shape, [7, 2, 3])
            XCTAssertEqual(values.scalars, (0..<7).flatMap { Self.values(item: $0, feature: name) })
        }
        XCTAssertThrowsError(try store.read(feature: "patch_grid")) { error in
            XCTAssertTrue("\(error)".contains("has no feature 'patch_grid'"), "\(error)")
        }
    }

    func testManifestIsPlainJSON() throws {
        let folder = try Fixtures.temporaryDirectory(removedAfter: self).appendingPathComponent("store")
        let plan = try Self.plan()
        try Self.writeWhole(at: folder, plan: plan, skipping: [4])
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent("manifest.json"))) as? [String: Any])
        XCTAssertEqual(json["format"] as? String, "radprobe-feature-store")
        XCTAssertEqual(json["format_version"] as? Int, 1)
        XCTAssertEqual(json["radprobe_version"] as? String, "0.1.0")
        XCTAssertEqual(json["key"] as? String, plan.key.key)
        XCTAssertEqual(json["key_text"] as? String, plan.key.canonicalText)
        let fields = try XCTUnwrap(json["key_fields"] as? [String: Any])
        XCTAssertEqual(fields["checkpoint_sha256"] as? String, plan.key.checkpointSHA256)
        XCTAssertEqual(fields["last_blocks"] as? Int, 4)
        XCTAssertEqual(fields["patch_tokens"] as? String, "mean")
        XCTAssertEqual(json["dataset"] as? String, "synthetic")
        XCTAssertEqual(json["ids"] as? [String], plan.items.map(\.id))
        XCTAssertEqual(json["patients"] as? [String], ["p0", "p0", "p1", "p1", "p2", "p2", "p3"])
        let labels = try XCTUnwrap(json["labels"] as? [[Any]])
        XCTAssertTrue(labels[3][1] is NSNull, "a NaN label is written as null")
        XCTAssertEqual((labels[3][0] as? NSNumber)?.doubleValue, 1)
        let parts = try XCTUnwrap(json["official_parts"] as? [Any])
        XCTAssertEqual(parts[2] as? String, "validation")
        XCTAssertTrue(parts[4] is NSNull)
        let chunks = try XCTUnwrap(json["chunks"] as? [[String: Any]])
        XCTAssertEqual(chunks.map { $0["folder"] as? String }, ["chunks/00000", "chunks/00001", "chunks/00002"])
        XCTAssertEqual(chunks.map { $0["rows"] as? Int }, [3, 2, 1])
        XCTAssertEqual(json["row_ids"] as? [String], plan.items.map(\.id).filter { $0 != "images/4.png" })
        let features = try XCTUnwrap(json["features"] as? [[String: Any]])
        XCTAssertEqual(features.map { $0["name"] as? String }, ["cls", "patch_mean"])
        XCTAssertEqual(features.map { $0["item_shape"] as? [Int] }, [[2, 3], [2, 3]])
        XCTAssertEqual((json["skipped"] as? [[String: String]])?.first, ["id": "images/4.png", "error": "unreadable: 4"])
        XCTAssertEqual(json["label_space"] as? String, "multi_label")
        XCTAssertEqual(json["label_names"] as? [String], ["a", "b"])
    }

    /// A manifest without `label_space` (written before the field existed) gets the kind its labels imply.
    func testLabelSpaceIsInferredWhenAbsent() throws {
        let folder = try Fixtures.temporaryDirectory(removedAfter: self).appendingPathComponent("store")
        try Self.writeWhole(at: folder, plan: Self.plan())
        let manifest = folder.appendingPathComponent("manifest.json")
        var json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: manifest)) as? [String: Any])
        json["label_space"] = nil
        try JSONSerialization.data(withJSONObject: json).write(to: manifest)
        XCTAssertEqual(try FeatureStore.open(at: folder).plan.labelSpace, .multiLabel(findings: ["a", "b"]))
        json["labels"] = (0..<7).map { [$0 % 3] }
        json["label_names"] = ["x", "y", "z"]
        try JSONSerialization.data(withJSONObject: json).write(to: manifest)
        XCTAssertEqual(try FeatureStore.open(at: folder).plan.labelSpace, .multiClass(classes: ["x", "y", "z"]))
    }

    func testResumedStoreEqualsUninterruptedStoreByteForByte() throws {
        let root = try Fixtures.temporaryDirectory(removedAfter: self)
        let plan = try Self.plan()
        let reference = root.appendingPathComponent("whole")
        try Self.writeWhole(at: reference, plan: plan, skipping: [4])

        let resumed = root.appendingPathComponent("resumed")
        do {
            let writer = try FeatureStoreWriter(at: resumed, plan: plan)
            try Self.writeChunk(0, to: writer)
            try Self.writeChunk(1, to: writer, skipping: [4])
        }  // the "crash": the writer is dropped, leaving what a killed run between chunks and mid-chunk leaves
        let stray = resumed.appendingPathComponent("chunks/.partial-00002-killed")
        try FileManager.default.createDirectory(at: stray, withIntermediateDirectories: true)
        try Data([0x93, 0x4E]).write(to: stray.appendingPathComponent("cls.npy"))
        try Data("{".utf8).write(to: resumed.appendingPathComponent(".manifest.json.killed.partial"))
        XCTAssertThrowsError(try FeatureStore.open(at: resumed)) { error in
            XCTAssertTrue("\(error)".contains("unfinished feature store"), "\(error)")
        }

        let writer = try FeatureStoreWriter(at: resumed, plan: plan)
        XCTAssertEqual(writer.completedChunks, [0, 1])
        XCTAssertEqual(writer.pendingChunks, [2])
        XCTAssertFalse(FileManager.default.fileExists(atPath: stray.path), "stray partial chunk folders are removed")
        try Self.writeChunk(2, to: writer)
        try writer.finish()

        let expected = try Self.files(under: reference)
        XCTAssertEqual(Set(expected.keys), Set(["plan.json", "manifest.json"]).union(
            (0..<3).flatMap { index in ["ids.json", "cls.npy", "patch_mean.npy"].map { String(format: "chunks/%05d/", index) + $0 } }))
        XCTAssertEqual(try Self.files(under: resumed), expected)
    }

    func testCorruptChunkIsNotCompletedAndIsRewritten() throws {
        let root = try Fixtures.temporaryDirectory(removedAfter: self)
        let plan = try Self.plan()
        let reference = root.appendingPathComponent("reference")
        try Self.writeWhole(at: reference, plan: plan)
        let damaged = root.appendingPathComponent("damaged")
        try Self.writeWhole(at: damaged, plan: plan)
        let npy = damaged.appendingPathComponent("chunks/00001/cls.npy")
        let bytes = try Data(contentsOf: npy)
        try bytes.prefix(bytes.count - 5).write(to: npy)

        let writer = try FeatureStoreWriter(at: damaged, plan: plan)
        XCTAssertEqual(writer.completedChunks, [0, 2])
        XCTAssertEqual(writer.pendingChunks, [1])
        XCTAssertTrue(writer.rejectedChunks[1]?.problem.contains("truncated") ?? false, "\(writer.rejectedChunks)")
        XCTAssertThrowsError(try writer.finish()) { error in
            XCTAssertTrue("\(error)".contains("cannot be finished: chunk(s) 1 ("), "\(error)")
        }
        try Self.writeChunk(1, to: writer)
        try writer.finish()
        XCTAssertEqual(try Self.files(under: damaged), try Self.files(under: reference))
    }

    func testAnotherKeyIsRefusedNamingBothKeys() throws {
        let folder = try Fixtures.temporaryDirectory(removedAfter: self).appendingPathComponent("store")
        let plan = try Self.plan()
        let writer = try FeatureStoreWriter(at: folder, plan: plan)
        try Self.writeChunk(0, to: writer)
        let other = try Self.plan(key: FeatureStoreKeyTests.key(normed: false))
        XCTAssertThrowsError(try FeatureStoreWriter(at: folder, plan: other)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.hasPrefix(folder.path + ": "), text)
            XCTAssertTrue(text.contains(plan.key.key) && text.contains(other.key.key), text)
        }
        XCTAssertThrowsError(try FeatureStoreWriter(at: folder, plan: Self.plan(chunkSize: 2))) { error in
            XCTAssertTrue("\(error)".contains("chunk size 3 vs 2"), "\(error)")
        }
        try Self.writeChunk(1, to: writer)
        try Self.writeChunk(2, to: writer)
        try writer.finish()
        XCTAssertThrowsError(try FeatureStore.open(at: folder, expectedKey: other.key)) { error in
            XCTAssertTrue("\(error)".contains(other.key.key), "\(error)")
        }
    }

    func testSkippedItemsAreRecordedAndAbsentFromReads() throws {
        let folder = try Fixtures.temporaryDirectory(removedAfter: self).appendingPathComponent("store")
        let plan = try Self.plan()
        let store = try Self.writeWhole(at: folder, plan: plan, skipping: [0, 4, 6])
        XCTAssertEqual(store.manifest.skipped.map(\.id), ["images/0.png", "images/4.png", "images/6.png"])
        XCTAssertEqual(store.manifest.skipped.map(\.error), ["unreadable: 0", "unreadable: 4", "unreadable: 6"])
        let reopened = try FeatureStore.open(at: folder)
        let (ids, values) = try reopened.read(feature: "cls")
        let kept = [1, 2, 3, 5]
        XCTAssertEqual(ids, kept.map { plan.items[$0].id })
        XCTAssertEqual(values.shape, [4, 2, 3])
        XCTAssertEqual(values.scalars, kept.flatMap { Self.values(item: $0, feature: "cls") })
        let lastChunk = try JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent("chunks/00002/ids.json"))) as? [String: Any]
        XCTAssertEqual(lastChunk?["rows"] as? [String], [])
        XCTAssertEqual(try NumPyArray.read(contentsOf: folder.appendingPathComponent("chunks/00002/cls.npy")).shape, [0, 2, 3])
    }

    func testChunkFilesAreStandardNumPyArrays() throws {
        let folder = try Fixtures.temporaryDirectory(removedAfter: self).appendingPathComponent("store")
        let plan = try Self.plan()
        try Self.writeWhole(at: folder, plan: plan)
        for index in 0..<plan.chunkCount {
            let range = plan.itemRange(ofChunk: index)
            for feature in ["cls", "patch_mean"] {
                let url = folder.appendingPathComponent(String(format: "chunks/%05d/%@.npy", index, feature))
                let bytes = try Data(contentsOf: url)
                XCTAssertEqual(Array(bytes.prefix(8)), [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0], "magic and version 1.0")
                let header = String(decoding: bytes[10..<(10 + Int(bytes[8]) + Int(bytes[9]) << 8)], as: UTF8.self)
                XCTAssertTrue(header.hasPrefix("{'descr': '<f4', 'fortran_order': False, 'shape': (\(range.count), 2, 3), }"), header)
                let array = try NumPyArray.read(contentsOf: url, requireFloat32: true)
                XCTAssertEqual(array.shape, [range.count, 2, 3])
                XCTAssertEqual(array.scalars, range.flatMap { Self.values(item: $0, feature: feature) })
            }
        }
    }

    func testBadChunksAndUnfinishedStoresAreRefused() throws {
        let folder = try Fixtures.temporaryDirectory(removedAfter: self).appendingPathComponent("store")
        let plan = try Self.plan()
        let writer = try FeatureStoreWriter(at: folder, plan: plan)
        XCTAssertThrowsError(try writer.write(chunk: 3, rows: [])) { XCTAssertTrue("\($0)".contains("chunk 3 does not exist"), "\($0)") }
        XCTAssertThrowsError(try writer.write(chunk: 0, rows: [Self.row(plan, item: 0), Self.row(plan, item: 1)])) {
            XCTAssertTrue("\($0)".contains("lacks 1 of its items, e.g. 'images/2.png'"), "\($0)")
        }
        XCTAssertThrowsError(try writer.write(chunk: 0, rows: (0..<3).map { Self.row(plan, item: $0) } + [Self.row(plan, item: 3)])) {
            XCTAssertTrue("\($0)".contains("'images/3.png', which is not among its items"), "\($0)")
        }
        let short = FeatureRow(id: plan.items[2].id, features: ["cls": [1, 2], "patch_mean": Self.values(item: 2, feature: "patch_mean")])
        XCTAssertThrowsError(try writer.write(chunk: 0, rows: [Self.row(plan, item: 0), Self.row(plan, item: 1), short])) {
            XCTAssertTrue("\($0)".contains("has 2 values of 'cls'; shape [2, 3] needs 6"), "\($0)")
        }
        XCTAssertEqual(writer.completedChunks, [])
        XCTAssertThrowsError(try writer.finish()) { XCTAssertTrue("\($0)".contains("chunk(s) 0, 1, 2 missing"), "\($0)") }
        let notAStore = try Fixtures.temporaryDirectory(removedAfter: self)
        try Data("x".utf8).write(to: notAStore.appendingPathComponent("notes.txt"))
        XCTAssertThrowsError(try FeatureStoreWriter(at: notAStore, plan: plan)) { XCTAssertTrue("\($0)".contains("not a feature store"), "\($0)") }
        XCTAssertThrowsError(try FeatureStore.open(at: notAStore)) { XCTAssertTrue("\($0)".contains("not a feature store"), "\($0)") }
    }
}
