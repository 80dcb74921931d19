import Evaluation
import Foundation
import MedicalImaging
import TensorCore
import TestSupport
import XCTest

/// `radprobe extract --shard I/N` in three processes, then `radprobe extract merge`, against one run over
/// the whole manifest replica (seven tiny images and an unreadable one) with the tiny DINOv2 fixture model.
final class ExtractMergeTests: XCTestCase {
    /// A manifest of `images` small grey PNGs of distinct content (`i<n>.png`, labels a/b, one patient each)
    /// and a last entry `broken.png` that is not a PNG.
    func manifest(images: Int, in folder: URL) throws {
        var rows = ["path,label,patient"]
        for i in 0..<images {
            let pixels = (0..<(30 * 40)).map { Float(($0 * (i + 3) + 7 * i) % 251) }
            try PNGWriter.write(Image2D(width: 40, height: 30, channels: 1, pixels: pixels), to: folder.appendingPathComponent("i\(i).png"))
            rows.append("i\(i).png,\(i % 3 == 0 ? "b" : "a"),P\(i)")
        }
        rows.append("broken.png,a,P99")
        try Data("not a png".utf8).write(to: folder.appendingPathComponent("broken.png"))
        try Data(rows.joined(separator: "\n").utf8).write(to: folder.appendingPathComponent("manifest.csv"))
    }

    /// Path relative to `folder` → bytes, for every file under it.
    func files(under folder: URL) throws -> [String: Data] {
        var result: [String: Data] = [:]
        guard let enumerator = FileManager.default.enumerator(atPath: folder.path) else { return result }
        for case let relative as String in enumerator {
            var isDirectory: ObjCBool = false
            let url = folder.appendingPathComponent(relative)
            if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), !isDirectory.boolValue {
                result[relative] = try Data(contentsOf: url)
            }
        }
        return result
    }

    func extract(_ folder: URL, store: URL, _ extra: [String] = []) throws -> CommandRun {
        try radprobe(["extract"] + extra + ["manifest", "--root", folder.path, "--checkpoint", CLIFixture.plainPTH, "--size", "28",
                                            "--layers", "2", "--chunk-size", "2", "--batch-size", "3", "--out", store.path, "--threads", "1"])
    }

    /// The merged store lists the same items, labels, rows and skipped item as the single run, its JSON
    /// files are byte-identical, and its features agree to 1e-6. The `.npy` bytes may differ: a run
    /// batches the images of one chunk together, and a shard's chunks group other images than the single
    /// run's, so the matrix products are blocked differently and round differently in the last bits.
    func testMergedShardsMatchSingleRun() throws {
        let folder = try temporaryDirectory()
        try manifest(images: 7, in: folder)
        let single = folder.appendingPathComponent("single")
        let singleRun = try extract(folder, store: single)
        XCTAssertEqual(singleRun.exitCode, 0, "\(singleRun)")

        let shards = (0..<3).map { folder.appendingPathComponent("shard\($0)") }
        for (index, shard) in shards.enumerated() {
            // Both spellings: `extract NAME …` runs the default subcommand `run`.
            let run = try extract(folder, store: shard, (index == 1 ? ["run"] : []) + ["--shard", "\(index)/3"])
            XCTAssertEqual(run.exitCode, 0, "\(run)")
        }
        XCTAssertEqual(try FeatureStore.open(at: shards[1]).plan.shard, FeatureShard(index: 1, count: 3, totalItems: 8))

        let merged = folder.appendingPathComponent("merged")
        let merge = try radprobe(["extract", "merge", shards[2].path, shards[0].path, shards[1].path, "--out", merged.path])
        XCTAssertEqual(merge.exitCode, 0, "\(merge)")
        XCTAssertTrue(merge.stdout.contains("8 items from 3 shards, 1 skipped"), merge.stdout)

        let expected = try FeatureStore.open(at: single), actual = try FeatureStore.open(at: merged)
        XCTAssertEqual(actual.plan, expected.plan, "same key, items (ids, patients, labels, parts), features, chunk size")
        XCTAssertEqual(actual.manifest.rowIDs, expected.manifest.rowIDs)
        XCTAssertEqual(actual.manifest.skipped.map(\.id), ["broken.png"])
        XCTAssertEqual(actual.manifest.skipped, expected.manifest.skipped)
        let singleFiles = try files(under: single), mergedFiles = try files(under: merged)
        XCTAssertEqual(Set(mergedFiles.keys), Set(singleFiles.keys))
        for (name, bytes) in singleFiles where name.hasSuffix(".json") {
            XCTAssertEqual(mergedFiles[name], bytes, name)
        }
        for feature in ["cls", "patch_mean"] {
            let (expectedIDs, expectedValues) = try expected.read(feature: feature)
            let (ids, values) = try actual.read(feature: feature)
            XCTAssertEqual(ids, expectedIDs)
            assertClose(values, expectedValues, tolerance: 1e-6, feature)
        }
    }

    func testMergeWithAMissingShardFailsNamingIt() throws {
        let folder = try temporaryDirectory()
        try manifest(images: 3, in: folder)
        let shards = (0..<2).map { folder.appendingPathComponent("shard\($0)") }
        for (index, shard) in shards.enumerated() {
            XCTAssertEqual(try extract(folder, store: shard, ["--shard", "\(index)/3"]).exitCode, 0)
        }
        let merged = folder.appendingPathComponent("merged")
        assertFails(try radprobe(["extract", "merge", shards[0].path, shards[1].path, "--out", merged.path]),
                    mentioning: [shards[0].path, "shard 2/3 is not among the 2 stores given"])
        assertFails(try radprobe(["extract", "merge", shards[0].path, folder.path, "--out", merged.path]),
                    mentioning: [folder.path, "not a feature store"])
    }
}
