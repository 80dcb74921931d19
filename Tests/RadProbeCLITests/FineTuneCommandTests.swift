import Checkpoints
import Foundation
import MedicalImaging
import TensorCore
import TestSupport
import XCTest

/// `radprobe finetune` end to end on a toy dataset with the tiny official-code model (patch 7, inputs 28×28):
/// a resumed run ends with the same bits as an uninterrupted one, the best checkpoint reads as a plain backbone,
/// a non-finite loss stops the run keeping the last good files, and bad input fails clearly.
final class FineTuneCommandTests: XCTestCase {
    static let checkpoint = CLIFixture.path("backprop/plain/model.safetensors")

    /// A manifest of 16 noisy 28×28 images whose top or bottom half is brighter (classes top/bottom, one patient
    /// each) and a stratified split of it; returns the folder and the split file.
    func toyDataset() throws -> (folder: URL, split: String) {
        let folder = try temporaryDirectory()
        var rows = ["path,label,patient"]
        for index in 0..<16 {
            let top = index % 2 == 0
            let pixels = (0..<28 * 28).map { Float(($0 * 7 + index * 13) % 61) + (($0 < 14 * 28) == top ? 100 : 0) }
            try PNGWriter.write(Image2D(width: 28, height: 28, channels: 1, pixels: pixels), to: folder.appendingPathComponent("i\(index).png"))
            rows.append("i\(index).png,\(top ? "top" : "bottom"),P\(index)")
        }
        try Data(rows.joined(separator: "\n").utf8).write(to: folder.appendingPathComponent("manifest.csv"))
        let split = folder.appendingPathComponent("split.csv").path
        try radprobeSucceeds(["datasets", "split", "manifest", "--root", folder.path, "--out", split, "--method", "stratified",
                              "--seed", "1", "--validation", "0.25", "--test", "0.25"])
        return (folder, split)
    }

    /// `radprobe finetune manifest …` with the tiny model, LoRA (with dropout) and augmentation, on 2 threads.
    func fineTune(_ dataset: (folder: URL, split: String), out: URL, _ extra: [String] = []) throws -> CommandRun {
        try radprobe(["finetune", "manifest", "--root", dataset.folder.path, "--split", dataset.split, "--checkpoint", Self.checkpoint,
                      "--mode", "lora", "--lora-rank", "4", "--lora-alpha", "8", "--size", "28", "--epochs", "2", "--batch-size", "4",
                      "--head-lr", "1e-2", "--backbone-lr", "1e-3", "--seed", "3", "--bootstrap", "20", "--out", out.path,
                      "--threads", "2"] + extra)
    }

    /// `finetune.json` without its `timings` (the one part that varies between identical runs).
    func reportWithoutTimings(_ folder: URL) throws -> NSDictionary {
        var report = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent("finetune.json"))) as? [String: Any])
        XCTAssertNotNil(report.removeValue(forKey: "timings"))
        return report as NSDictionary
    }

    /// 2 epochs in one go, and 1 epoch (`--stop-after 1`) then the same command again: the same best and state
    /// files, test probabilities and report, bit for bit (both on 2 threads).
    func testResumedRunEqualsUninterruptedRun() throws {
        let dataset = try toyDataset()
        let whole = dataset.folder.appendingPathComponent("whole"), parts = dataset.folder.appendingPathComponent("parts")
        let wholeRun = try fineTune(dataset, out: whole)
        XCTAssertEqual(wholeRun.exitCode, 0, "\(wholeRun)")
        let first = try fineTune(dataset, out: parts, ["--stop-after", "1"])
        XCTAssertEqual(first.exitCode, 0, "\(first)")
        XCTAssertTrue(first.stdout.contains("stopped after epoch 1 of 2"), first.stdout)
        XCTAssertFalse(FileManager.default.fileExists(atPath: parts.appendingPathComponent("finetune.json").path))
        let second = try fineTune(dataset, out: parts)
        XCTAssertEqual(second.exitCode, 0, "\(second)")
        XCTAssertTrue(second.stderr.contains("resuming after epoch 1 of 2"), second.stderr)
        for name in ["best.safetensors", "state.safetensors", "test_probabilities.npy"] {
            XCTAssertEqual(try Data(contentsOf: whole.appendingPathComponent(name)), try Data(contentsOf: parts.appendingPathComponent(name)), name)
        }
        XCTAssertEqual(try reportWithoutTimings(whole), try reportWithoutTimings(parts))
        let report = try reportWithoutTimings(whole)
        XCTAssertEqual((report["curves"] as? [Any])?.count, 2)
        XCTAssertNotNil((report["test"] as? [String: Any])?["auroc_macro"])
        XCTAssertEqual((report["parameters"] as? [String: Any])?["trainable"] as? Int, 2 * 64 + 2 + 2 * 4 * ((64 + 192) + (64 + 128) + (128 + 64)))
        XCTAssertEqual((report["split_sha256"] as? String)?.count, 64)
    }

    /// `best.safetensors` is a plain DINOv2 checkpoint (LoRA merged) that `embed` reads, plus the head.
    func testBestCheckpointIsReadByEmbed() throws {
        let dataset = try toyDataset()
        let out = dataset.folder.appendingPathComponent("out")
        let run = try fineTune(dataset, out: out, ["--epochs", "1", "--warmup-epochs", "0"])
        XCTAssertEqual(run.exitCode, 0, "\(run)")
        let best = out.appendingPathComponent("best.safetensors")
        let tensors = try SafetensorsFile.read(contentsOf: best)
        XCTAssertEqual(tensors["head.weight"]?.shape, [2, 64])
        XCTAssertFalse(tensors.tensors.keys.contains { $0.contains("lora") })
        XCTAssertNotEqual(tensors["blocks.0.attn.qkv.weight"]?.scalars,
                          try SafetensorsFile.read(contentsOf: URL(fileURLWithPath: Self.checkpoint))["blocks.0.attn.qkv.weight"]?.scalars,
                          "the adapters are merged into the weights")
        let embedded = dataset.folder.appendingPathComponent("embedded")
        let embed = try self.embed(best.path, .image(dataset.folder.appendingPathComponent("i0.png").path, size: 28), out: embedded)
        XCTAssertEqual(embed.exitCode, 0, "\(embed)")
    }

    /// A NaN put into the saved head makes the loss NaN on the first step of epoch 2: the run fails naming the
    /// epoch and step and leaves the last good best and state files as they were.
    func testNonFiniteLossStopsKeepingTheLastGoodFiles() throws {
        let dataset = try toyDataset()
        let out = dataset.folder.appendingPathComponent("out")
        XCTAssertEqual(try fineTune(dataset, out: out, ["--stop-after", "1"]).exitCode, 0)
        let state = out.appendingPathComponent("state.safetensors"), best = out.appendingPathComponent("best.safetensors")
        try writeCheckpoint(from: state.path, to: state) { $0["parameter.head.weight"] = Tensor(shape: [2, 64], repeating: .nan) }
        let before = (try Data(contentsOf: state), try Data(contentsOf: best))
        assertFails(try fineTune(dataset, out: out), mentioning: ["epoch 2, step 1", "the loss became nan", "last good epoch (1)"])
        XCTAssertEqual(try Data(contentsOf: state), before.0)
        XCTAssertEqual(try Data(contentsOf: best), before.1)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.appendingPathComponent("finetune.json").path))
    }

    /// A picture that cannot be decoded is left out, as extraction skips it, and named on the output and in
    /// finetune.json.
    func testUnreadablePictureIsLeftOutAndRecorded() throws {
        let dataset = try toyDataset()
        try Data("not a png".utf8).write(to: dataset.folder.appendingPathComponent("i5.png"))
        let out = dataset.folder.appendingPathComponent("out")
        let run = try fineTune(dataset, out: out)
        XCTAssertEqual(run.exitCode, 0, "\(run)")
        XCTAssertTrue(run.stdout.contains("skipped: i5.png:") && run.stdout.contains("1 unreadable left out"), run.stdout)
        let report = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("finetune.json"))) as? [String: Any])
        let skipped = try XCTUnwrap(report["skipped"] as? [[String: String]])
        XCTAssertEqual(skipped.map { $0["id"] }, ["i5.png"])
        XCTAssertTrue(skipped[0]["error"]?.contains("i5.png") == true, "\(skipped)")
        XCTAssertEqual((report["sizes"] as? [String: Int])?.values.reduce(0, +), 15)
    }

    func testBadInputFailsClearly() throws {
        let dataset = try toyDataset()
        let out = dataset.folder.appendingPathComponent("out")
        assertFails(try fineTune(dataset, out: out, ["--lora-targets", "qkv,attention"]),
                    mentioning: ["'attention' matches none", "blocks.0.attn.qkv.weight"])
        assertFails(try fineTune(dataset, out: out, ["--head-lr", "0"]), mentioning: ["head learning rate must be finite and > 0"])
        let missing = dataset.folder.appendingPathComponent("no-split.csv").path
        assertFails(try radprobe(["finetune", "manifest", "--root", dataset.folder.path, "--split", missing, "--checkpoint", Self.checkpoint,
                                  "--mode", "full", "--size", "28", "--out", out.path]), mentioning: [missing])
        assertFails(try fineTune(dataset, out: out, ["--size", "30"]), mentioning: ["not a multiple of the patch size 7"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.appendingPathComponent("state.safetensors").path))
    }
}
