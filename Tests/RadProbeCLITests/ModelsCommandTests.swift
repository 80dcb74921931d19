import Checkpoints
import Foundation
import TestSupport
import XCTest

/// `radprobe models inspect` and `radprobe models convert`.
final class ModelsCommandTests: XCTestCase {
    func testInspectPlain() throws {
        try assertInspect(CLIFixture.plainPTH, mentions: ["0 register tokens", "MLP (hidden 512, GELU)"], parameters: 674_816)
    }

    func testInspectRegistersSwiGLU() throws {
        try assertInspect(CLIFixture.reg4Safetensors, mentions: ["4 register tokens", "SwiGLU (hidden 344)"], parameters: 678_928)
    }

    func testConvertLegacyPyTorch() throws {
        try assertConvertReproducesFixtures("dinov2/plain/model_legacy.pth", model: "plain", case: "nonsquare")
    }

    func testConvertHuggingFaceNames() throws {
        try assertConvertReproducesFixtures("dinov2/reg4_swiglu/model_hf.safetensors", model: "reg4_swiglu", case: "224")
    }

    func assertInspect(_ checkpoint: String, mentions: [String], parameters: Int, file: StaticString = #filePath, line: UInt = #line) throws {
        let run = try radprobeSucceeds(["models", "inspect", checkpoint], file: file, line: line)
        for text in ["width 128", "depth 3", "heads 2", checkpoint] + mentions {
            XCTAssertTrue(run.stdout.contains(text), "inspect does not mention \(text):\n\(run.stdout)", file: file, line: line)
        }
        // The count is printed with grouping separators (674,816); compare digits so the locale does not matter.
        let countLine = run.stdout.split(separator: "\n").first { $0.hasPrefix("parameters") }
        let printed = countLine?.split(separator: " ").dropFirst().first.map { Int($0.filter(\.isNumber)) }
        XCTAssertEqual(printed, parameters, "parameter count in:\n\(run.stdout)", file: file, line: line)
    }

    /// Converts `source` to safetensors, checks the official key names, then embeds the case with the converted file.
    func assertConvertReproducesFixtures(_ source: String, model: String, case caseName: String,
                                         file: StaticString = #filePath, line: UInt = #line) throws {
        let directory = try temporaryDirectory()
        let converted = directory.appendingPathComponent("out.safetensors")
        let run = try radprobeSucceeds(["models", "convert", CLIFixture.path(source), "--out", converted.path], file: file, line: line)
        XCTAssertTrue(run.stdout.contains(converted.path), run.stdout, file: file, line: line)

        let keys = try SafetensorsFile.read(contentsOf: converted).sortedKeys
        for key in ["blocks.0.attn.qkv.weight", "blocks.2.mlp." + (model == "plain" ? "fc1.weight" : "w12.weight"), "cls_token", "pos_embed", "norm.weight"] {
            XCTAssertTrue(keys.contains(key), "converted file lacks \(key): \(keys)", file: file, line: line)
        }
        let foreign = keys.filter { $0.hasPrefix("encoder.") || $0.hasPrefix("embeddings.") || $0.contains("attention.attention") }
        XCTAssertEqual(foreign, [], "converted file keeps non-official names", file: file, line: line)

        let out = directory.appendingPathComponent("features")
        let embedded = try embed(converted.path, .tensor(CLIFixture.input(model, caseName)), out: out, "--layers", "2")
        XCTAssertEqual(embedded.exitCode, 0, "\(embedded)", file: file, line: line)
        try assertOutputs(out, match: [("cls", "cls"), ("patch", "patch"), ("layers_cls", "layers_last2_cls"), ("layers_patch", "layers_last2_patch")],
                          in: "dinov2/\(model)/\(caseName)", tolerance: 1e-4, file: file, line: line)
    }
}
