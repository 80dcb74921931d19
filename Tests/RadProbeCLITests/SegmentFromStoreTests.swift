import Checkpoints
import Foundation
import MedicalImaging
import TensorCore
import TestSupport
import XCTest

/// `radprobe segment --features STORE`: the patch grids of a `radprobe extract --patch-tokens grid` store
/// give the same decoder and scores as the backbone run by `segment` itself (2D images and volumes),
/// and stores that do not match the run are refused.
final class SegmentFromStoreTests: XCTestCase {
    static let checkpoint = CLIFixture.path("backprop/plain/model.safetensors")

    /// `radprobe extract` of `dataset` into `store` (patch grids of the last 2 blocks at size 28 unless `extra` says otherwise).
    @discardableResult
    func extract(_ dataset: String, root: URL, store: URL, checkpoint: String = checkpoint, _ extra: [String] = []) throws -> CommandRun {
        try radprobeSucceeds(["extract", dataset, "--root", root.path, "--checkpoint", checkpoint, "--size", "28", "--layers", "2",
                              "--patch-tokens", "grid", "--chunk-size", "3", "--batch-size", "3", "--out", store.path, "--threads", "2"] + extra)
    }

    func segment(_ dataset: String, root: URL, split: URL, out: URL, _ extra: [String] = []) throws -> CommandRun {
        try radprobe(["segment", dataset, "--root", root.path, "--split", split.path, "--checkpoint", Self.checkpoint, "--size", "28",
                      "--lr-grid", "3e-3,3e-2", "--epochs", "3", "--batch-size", "4", "--loss", "dice-ce", "--seed", "4",
                      "--out", out.path, "--threads", "2"] + extra)
    }

    /// The two runs' decoders, per-case scores and validation scores agree.
    func assertSameOutcome(_ direct: URL, _ stored: URL, file: StaticString = #filePath, line: UInt = #line) throws {
        let first = try SafetensorsFile.read(contentsOf: direct.appendingPathComponent("decoder.safetensors"))
        let second = try SafetensorsFile.read(contentsOf: stored.appendingPathComponent("decoder.safetensors"))
        XCTAssertEqual(Set(first.tensors.keys), Set(second.tensors.keys), file: file, line: line)
        for (key, tensor) in first.tensors { assertClose(second.tensors[key]!, tensor, tolerance: 1e-5, key, file: file, line: line) }
        let tables = try [direct, stored].map { try String(contentsOf: $0.appendingPathComponent("cases.csv"), encoding: .utf8).split(separator: "\n") }
        XCTAssertEqual(tables[0].count, tables[1].count, file: file, line: line)
        for (a, b) in zip(tables[0], tables[1]) {
            let (left, right) = (a.split(separator: ",", omittingEmptySubsequences: false), b.split(separator: ",", omittingEmptySubsequences: false))
            XCTAssertEqual(left.count, right.count, file: file, line: line)
            for (x, y) in zip(left, right) {
                if let u = Double(x), let v = Double(y) { XCTAssertEqual(u, v, accuracy: 1e-5, "\(a) vs \(b)", file: file, line: line) } else {
                    XCTAssertEqual(x, y, file: file, line: line)
                }
            }
        }
        let summaries = try [direct, stored].map {
            try JSONSerialization.jsonObject(with: Data(contentsOf: $0.appendingPathComponent("summary.json"))) as! [String: Any]
        }
        XCTAssertEqual(summaries[0]["selected_learning_rate"] as? Double, summaries[1]["selected_learning_rate"] as? Double, file: file, line: line)
        let trials = summaries.map { ($0["learning_rates"] as! [[String: Any]]).map { $0["validation_mean_dice"] as! Double } }
        for (a, b) in zip(trials[0], trials[1]) { XCTAssertEqual(a, b, accuracy: 1e-5, file: file, line: line) }
        XCTAssertEqual(summaries[1]["feature_store"] as? String != nil, true, file: file, line: line)
    }

    func testImageRunFromStoreEqualsRunWithBackbone() throws {
        let folder = try temporaryDirectory(), root = folder.appendingPathComponent("data"), store = folder.appendingPathComponent("store")
        try SegmentationReplicas.writeMontgomery(count: 8, in: root)
        let split = try systematicSplit("montgomery", root: root)
        try extract("montgomery", root: root, store: store)
        let direct = folder.appendingPathComponent("direct"), stored = folder.appendingPathComponent("stored")
        XCTAssertEqual(try segment("montgomery", root: root, split: split, out: direct).exitCode, 0)
        let run = try segment("montgomery", root: root, split: split, out: stored, ["--features", store.path])
        XCTAssertEqual(run.exitCode, 0, "\(run)")
        try assertSameOutcome(direct, stored)
    }

    func testVolumeRunFromStoreEqualsRunWithBackbone() throws {
        let folder = try temporaryDirectory(), root = folder.appendingPathComponent("msd"), store = folder.appendingPathComponent("store")
        try SegmentationReplicas.writeSpleen(in: root)
        let split = try systematicSplit("msd-spleen", root: root)
        try extract("msd-spleen", root: root, store: store)
        let direct = folder.appendingPathComponent("direct"), stored = folder.appendingPathComponent("stored")
        XCTAssertEqual(try segment("msd-spleen", root: root, split: split, out: direct).exitCode, 0)
        let run = try segment("msd-spleen", root: root, split: split, out: stored, ["--features", store.path])
        XCTAssertEqual(run.exitCode, 0, "\(run)")
        try assertSameOutcome(direct, stored)
        let predictions = try FileManager.default.contentsOfDirectory(atPath: stored.appendingPathComponent("predictions").path)
        XCTAssertEqual(predictions.count, 1)
        XCTAssertTrue(predictions[0].hasSuffix(".nii.gz"), predictions[0])
    }

    /// Stores of another checkpoint, size (and so preprocessing), dataset, without grids or with too few
    /// blocks, and `--augment`, are refused with the store named and the difference given.
    func testMismatchedStoresAreRefused() throws {
        let folder = try temporaryDirectory(), root = folder.appendingPathComponent("data"), out = folder.appendingPathComponent("out")
        try SegmentationReplicas.writeMontgomery(count: 4, in: root)
        let split = try systematicSplit("montgomery", root: root)
        func store(_ name: String, checkpoint: String = Self.checkpoint, _ extra: [String]) throws -> URL {
            let url = folder.appendingPathComponent(name)
            try extract("montgomery", root: root, store: url, checkpoint: checkpoint, extra)
            return url
        }
        let refusals: [(store: URL, extra: [String], mentions: [String])] = [
            (try store("other-checkpoint", checkpoint: CLIFixture.plainSafetensors, []), [],
             ["checkpoint SHA-256 \(try SHA256.hex(contentsOf: URL(fileURLWithPath: CLIFixture.plainSafetensors)))"]),
            (try store("other-size", ["--size", "14"]), [], ["input size 14 vs 28", "preprocessing"]),
            (try store("no-grids", ["--patch-tokens", "mean"]), [], ["no patch grids (patch_tokens=mean"]),
            (try store("one-block", ["--layers", "1"]), ["--decoder", "unet"], ["the grids of the last 1 block, but the decoder reads the last 5"]),
        ]
        for (store, extra, mentions) in refusals {
            let run = try segment("montgomery", root: root, split: split, out: out, ["--features", store.path] + extra)
            assertFails(run, mentioning: [store.path, "cannot stand in for the backbone"] + mentions)
        }
        let spleen = folder.appendingPathComponent("msd")
        try SegmentationReplicas.writeSpleen(in: spleen)
        let spleenSplit = try systematicSplit("msd-spleen", root: spleen)
        let otherDataset = try segment("msd-spleen", root: spleen, split: spleenSplit, out: out,
                                       ["--features", folder.appendingPathComponent("one-block").path])
        assertFails(otherDataset, mentioning: ["dataset 'montgomery' vs 'msd-spleen'", "no per-slice features"])
        let augmented = try segment("montgomery", root: root, split: split, out: out, ["--features", folder.appendingPathComponent("one-block").path, "--augment"])
        assertFails(augmented, mentioning: ["--features cannot be combined with --augment"])
    }

    /// Items of the split that extraction skipped are named, with the extraction's error.
    func testItemsMissingFromTheStoreAreNamed() throws {
        let folder = try temporaryDirectory(), root = folder.appendingPathComponent("data"), store = folder.appendingPathComponent("store")
        try SegmentationReplicas.writeMontgomery(count: 4, in: root)
        let split = try systematicSplit("montgomery", root: root)
        let image = root.appendingPathComponent("CXR_png/MCUCXR_2002_1.png"), saved = try Data(contentsOf: image)
        try Data("not a png".utf8).write(to: image)
        let extraction = try extract("montgomery", root: root, store: store)
        XCTAssertTrue(extraction.stdout.contains("skipped: MCUCXR_2002_1"), extraction.stdout)
        try saved.write(to: image)
        let run = try segment("montgomery", root: root, split: split, out: folder.appendingPathComponent("out"), ["--features", store.path])
        assertFails(run, mentioning: [store.path, "no grids of 1 item", "MCUCXR_2002_1 (skipped at extraction:"])
    }
}
