import Foundation
import TensorCore
import TestSupport
import XCTest

/// `radprobe embed` on the tiny DINOv2 parity fixtures (`Tests/Fixtures/dinov2`).
final class EmbedCommandTests: XCTestCase {
    func testTensorWithLayersMatchesFixtures() throws {
        let out = try temporaryDirectory().appendingPathComponent("out")
        let run = try embed(CLIFixture.plainPTH, .tensor(CLIFixture.input("plain", "224")), out: out, "--layers", "2")
        XCTAssertEqual(run.exitCode, 0, "\(run)")
        try assertOutputs(out, match: [("cls", "cls"), ("patch", "patch"), ("layers_cls", "layers_last2_cls"), ("layers_patch", "layers_last2_patch")],
                          in: "dinov2/plain/224", tolerance: 1e-5)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.appendingPathComponent("registers.npy").path))
        for text in ["ViT-128d/14", "[2, 3, 224, 224]", "[2, 128]", "[2, 256, 128]", out.path] {
            XCTAssertTrue(run.stdout.contains(text), "stdout does not mention \(text):\n\(run.stdout)")
        }
    }

    /// `--no-norm` leaves cls/patch alone and writes the raw block outputs (the last block's equals the fixture's block 2).
    func testNoNormWritesRawLayerOutputs() throws {
        let out = try temporaryDirectory()
        XCTAssertEqual(try embed(CLIFixture.plainPTH, .tensor(CLIFixture.input("plain", "224")), out: out, "--layers", "2", "--no-norm").exitCode, 0)
        try assertOutputs(out, match: [("cls", "cls")], in: "dinov2/plain/224", tolerance: 1e-5)
        for kind in ["cls", "patch"] {
            let raw = try output(out, "layers_\(kind)")
            let normed = try Fixtures.array("dinov2/plain/224/layers_last2_\(kind).npy")
            XCTAssertEqual(raw.shape, normed.shape)
            XCTAssertGreaterThan(TensorComparison(raw, normed, tolerance: 0).maxAbsoluteDifference, 0.01, "--no-norm did not change layers_\(kind)")
            assertClose(raw.slice(outer: 1..<2), try Fixtures.array("dinov2/plain/224/layers_0_2_nonorm_\(kind).npy").slice(outer: 1..<2),
                        tolerance: 1e-5, "layers_\(kind) last block without norm")
        }
    }

    func testRegistersAreWritten() throws {
        let out = try temporaryDirectory()
        let run = try embed(CLIFixture.reg4Safetensors, .tensor(CLIFixture.input("reg4_swiglu", "nonsquare")), out: out)
        XCTAssertEqual(run.exitCode, 0, "\(run)")
        try assertOutputs(out, match: [("cls", "cls"), ("patch", "patch"), ("registers", "registers")], in: "dinov2/reg4_swiglu/nonsquare", tolerance: 1e-4)
        XCTAssertEqual(try output(out, "registers").shape, [1, 4, 128])
        for text in ["ViT-128d/14", "[1, 3, 182, 266]", "[1, 247, 128]"] {
            XCTAssertTrue(run.stdout.contains(text), "stdout does not mention \(text):\n\(run.stdout)")
        }
    }

    func testGreyPNGImage() throws {
        let out = try temporaryDirectory().appendingPathComponent("out")
        let run = try embed(CLIFixture.plainPTH, .image(CLIFixture.path("imaging/png/grey8.png"), size: 70), out: out)
        XCTAssertEqual(run.exitCode, 0, "\(run)")
        XCTAssertEqual(try output(out, "cls").shape, [1, 128])
        XCTAssertEqual(try output(out, "patch").shape, [1, 25, 128])
    }

    func testImageSizeNotAMultipleOfThePatchSize() throws {
        let out = try temporaryDirectory().appendingPathComponent("out")
        let run = try embed(CLIFixture.plainPTH, .image(CLIFixture.path("imaging/png/grey8.png"), size: 100), out: out)
        assertFails(run, mentioning: ["--size 100", "not a multiple of the patch size 14"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.path), "a failed embed created \(out.path)")
    }

    /// A second run into the same folder removes the optional outputs it does not produce itself.
    func testReusedOutputFolderHoldsOnlyTheLatestRun() throws {
        let out = try temporaryDirectory()
        XCTAssertEqual(try embed(CLIFixture.reg4Safetensors, .tensor(CLIFixture.input("reg4_swiglu", "nonsquare")), out: out, "--layers", "1").exitCode, 0)
        XCTAssertEqual(try embed(CLIFixture.plainPTH, .tensor(CLIFixture.input("plain", "nonsquare")), out: out).exitCode, 0)
        let files = try FileManager.default.contentsOfDirectory(atPath: out.path).sorted()
        XCTAssertEqual(files, ["cls.npy", "embedding.json", "patch.npy"])
        try assertOutputs(out, match: [("cls", "cls"), ("patch", "patch")], in: "dinov2/plain/nonsquare", tolerance: 1e-4)
    }
}
