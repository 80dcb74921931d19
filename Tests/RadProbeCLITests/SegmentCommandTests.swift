import Checkpoints
import Foundation
import MedicalImaging
import TestSupport
import XCTest

/// `radprobe segment` on tiny Montgomery and MSD replicas written by the test, with the tiny ViT.
final class SegmentCommandTests: XCTestCase {
    func testMontgomeryRunWritesEveryOutput() throws {
        let folder = try temporaryDirectory(), data = folder.appendingPathComponent("data"), out = folder.appendingPathComponent("out")
        try SegmentationReplicas.writeMontgomery(count: 8, in: data)
        let split = try systematicSplit("montgomery", root: data)
        let run = try radprobeSucceeds(["segment", "--dataset", "montgomery", "--root", data.path, "--split", split.path,
                                        "--checkpoint", CLIFixture.path("backprop/plain/model.safetensors"), "--decoder", "linear",
                                        "--size", "28", "--lr-grid", "1e-3,3e-2", "--epochs", "3", "--batch-size", "4",
                                        "--loss", "dice-ce", "--seed", "2", "--out", out.path, "--threads", "2"])
        XCTAssertTrue(run.stdout.contains("selected lr"), run.stdout)
        let summary = try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("summary.json"))) as! [String: Any]
        let configuration = summary["configuration"] as! [String: Any]
        XCTAssertEqual(configuration["decoder"] as? String, "linear")
        XCTAssertEqual(configuration["lr_grid"] as? [Double], [1e-3, 3e-2])
        XCTAssertEqual(configuration["loss"] as? String, "dice-ce")
        XCTAssertEqual((summary["dataset"] as! [String: Any])["classes"] as? [String], ["background", "lung"])
        XCTAssertEqual((summary["split"] as! [String: Any])["sha256"] as? String, try SHA256.hex(contentsOf: split))
        XCTAssertEqual((summary["checkpoint"] as! [String: Any])["sha256"] as? String,
                       try SHA256.hex(contentsOf: Fixtures.url("backprop/plain/model.safetensors")))
        XCTAssertEqual((summary["learning_rates"] as! [[String: Any]]).count, 2)
        XCTAssertNotNil(summary["selected_learning_rate"] as? Double)
        let test = summary["test"] as! [String: Any]
        XCTAssertEqual(test["cases"] as? Int, 2)
        XCTAssertNotNil(summary["timings_seconds"] as? [String: Double])

        let table = try String(contentsOf: out.appendingPathComponent("cases.csv"), encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(table[0], "case,mean_dice,mean_jaccard,score,mean_hd95_mm,dice_lung,jaccard_lung,hd95_mm_lung")
        XCTAssertEqual(table.count, 3)
        let decoder = try SafetensorsFile.read(contentsOf: out.appendingPathComponent("decoder.safetensors"))
        XCTAssertEqual(Set(decoder.tensors.keys), ["head.weight", "head.bias"])
        XCTAssertEqual(decoder.tensors["head.weight"]?.shape, [2, 64, 1, 1])
        for row in table.dropFirst() {
            let id = String(row.split(separator: ",")[0])
            let overlay = try PNGReader.read(contentsOf: out.appendingPathComponent("predictions/\(id).png"))
            XCTAssertEqual([overlay.channels, overlay.width, overlay.height], [3, 28, 28])
        }
    }

    func segmentSpleen(root: URL, split: URL, out: URL) throws -> CommandRun {
        try radprobe(["segment", "msd-spleen", "--root", root.path, "--split", split.path,
                      "--checkpoint", CLIFixture.path("backprop/plain/model.safetensors"), "--size", "14",
                      "--lr-grid", "1e-2", "--epochs", "2", "--out", out.path, "--threads", "2"])
    }

    /// Volumes: the predicted label map of each test case is written as NIfTI on the source's grid and affine.
    func testVolumeRunWritesLabelMapsOnTheSourceGrid() throws {
        let folder = try temporaryDirectory(), root = folder.appendingPathComponent("msd"), out = folder.appendingPathComponent("out")
        try SegmentationReplicas.writeSpleen(in: root)
        let split = try systematicSplit("msd-spleen", root: root)
        let run = try segmentSpleen(root: root, split: split, out: out)
        XCTAssertEqual(run.exitCode, 0, "\(run)")
        let table = try String(contentsOf: out.appendingPathComponent("cases.csv"), encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(table.count, 2)
        let id = String(table[1].split(separator: ",")[0])
        guard case .volume(let prediction) = try MedicalImageFile.read(contentsOf: out.appendingPathComponent("predictions/\(id).nii.gz")).content else {
            return XCTFail("the prediction is not a volume")
        }
        XCTAssertEqual(prediction.size, SegmentationReplicas.spleenSize)
        XCTAssertEqual(prediction.affine, SegmentationReplicas.spleenAffine)
        XCTAssertTrue(prediction.voxels.allSatisfy { $0 == 0 || $0 == 1 })
    }

    func testMaskWithLabelOutsideTheClassesFails() throws {
        let folder = try temporaryDirectory(), root = folder.appendingPathComponent("msd")
        try SegmentationReplicas.writeSpleen(in: root, badCase: 2)
        let split = try systematicSplit("msd-spleen", root: root)
        let run = try segmentSpleen(root: root, split: split, out: folder.appendingPathComponent("out"))
        assertFails(run, mentioning: ["spleen_2.nii.gz", "label 5", "0…1"])
    }

    /// `--decoder scratch`: a U-Net trained on the images without a backbone; its state dict and the summary say so.
    func testScratchUNetTrainsWithoutABackbone() throws {
        let folder = try temporaryDirectory(), data = folder.appendingPathComponent("data"), out = folder.appendingPathComponent("out")
        try SegmentationReplicas.writeMontgomery(count: 8, in: data)
        let split = try systematicSplit("montgomery", root: data)
        let run = try radprobeSucceeds(["segment", "montgomery", "--root", data.path, "--split", split.path, "--decoder", "scratch",
                                        "--scratch-width", "2", "--size", "32", "--lr-grid", "1e-2", "--epochs", "2", "--batch-size", "4",
                                        "--out", out.path, "--threads", "2"])
        XCTAssertTrue(run.stdout.contains("test cases      2"), run.stdout)
        let summary = try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("summary.json"))) as! [String: Any]
        let configuration = summary["configuration"] as! [String: Any]
        XCTAssertEqual(configuration["decoder"] as? String, "scratch")
        XCTAssertEqual(configuration["scratch_width"] as? Int, 2)
        XCTAssertTrue(summary["checkpoint"] is NSNull)
        let decoder = try SafetensorsFile.read(contentsOf: out.appendingPathComponent("decoder.safetensors"))
        XCTAssertEqual(decoder.tensors["encoders.0.0.conv.weight"]?.shape, [2, 3, 3, 3])
        XCTAssertEqual(decoder.tensors["encoders.4.1.conv.weight"]?.shape, [32, 32, 3, 3])
        XCTAssertEqual(decoder.tensors["head.weight"]?.shape, [2, 2, 1, 1])
    }

    func testScratchUNetOptionsAreChecked() throws {
        let folder = try temporaryDirectory(), data = folder.appendingPathComponent("data")
        try SegmentationReplicas.writeMontgomery(count: 4, in: data)
        let split = try systematicSplit("montgomery", root: data)
        let base = ["segment", "montgomery", "--root", data.path, "--split", split.path, "--out", folder.appendingPathComponent("out").path]
        assertFails(try radprobe(base + ["--decoder", "scratch", "--size", "30"]), mentioning: ["multiple of 16"])
        assertFails(try radprobe(base + ["--decoder", "scratch", "--size", "32", "--checkpoint", CLIFixture.path("backprop/plain/model.safetensors")]),
                    mentioning: ["drop --checkpoint"])
        assertFails(try radprobe(base + ["--decoder", "unet", "--size", "28"]), mentioning: ["--checkpoint"])
    }
}
