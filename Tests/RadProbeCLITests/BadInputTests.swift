import Checkpoints
import Foundation
import TensorCore
import TestSupport
import XCTest

/// Bad checkpoints, inputs and options: a non-zero exit, a message on stderr naming the file (or option)
/// and the problem, and no output written.
final class BadInputTests: XCTestCase {
    func testTruncatedCheckpoints() throws {
        for name in ["model.pth", "model_legacy.pth", "model.safetensors"] {
            let original = try Data(contentsOf: Fixtures.url("dinov2/plain/\(name)"))
            let truncated = try temporaryDirectory().appendingPathComponent(name)
            try original.prefix(original.count / 2).write(to: truncated)
            try assertEmbedFails(checkpoint: truncated.path, mentioning: [truncated.path, "truncated"])
        }
    }

    func testWrongMagic() throws {
        let text = try temporaryDirectory().appendingPathComponent("x.pth")
        try Data("not a checkpoint\n".utf8).write(to: text)
        try assertEmbedFails(checkpoint: text.path, mentioning: [text.path, "is not a checkpoint RadProbe reads"])
    }

    /// The fixture's pickle calls `os.system("touch <sentinel>")` (`scripts/make_pytorch_fixtures.py`).
    func testForbiddenGlobalIsRefusedAndNeverRun() throws {
        let sentinel = "/tmp/radprobe_forbidden_global_sentinel"
        try? FileManager.default.removeItem(atPath: sentinel)
        let checkpoint = CLIFixture.path("pytorch/forbidden_global.pth")
        try assertEmbedFails(checkpoint: checkpoint, mentioning: [checkpoint, "os.system", "refusing"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: sentinel), "loading the checkpoint ran its code")
    }

    func testMissingKey() throws {
        let checkpoint = try temporaryDirectory().appendingPathComponent("missing.safetensors")
        try writeCheckpoint(from: CLIFixture.plainSafetensors, to: checkpoint) { $0["blocks.1.norm2.bias"] = nil }
        try assertEmbedFails(checkpoint: checkpoint.path, mentioning: [checkpoint.path, "missing keys (1): blocks.1.norm2.bias"])
    }

    func testWrongShape() throws {
        let checkpoint = try temporaryDirectory().appendingPathComponent("shape.safetensors")
        try writeCheckpoint(from: CLIFixture.plainSafetensors, to: checkpoint) { $0["norm.weight"] = Tensor(shape: [127], repeating: 1) }
        try assertEmbedFails(checkpoint: checkpoint.path, mentioning: [checkpoint.path, "norm.weight", "[128]", "[127]"])
    }

    func testMissingCheckpoint() throws {
        let checkpoint = try temporaryDirectory().appendingPathComponent("absent.pth").path
        try assertEmbedFails(checkpoint: checkpoint, mentioning: [checkpoint, "does not exist"])
    }

    func testInputNotAMultipleOfThePatchSize() throws {
        let input = try temporaryDirectory().appendingPathComponent("small.npy")
        try NumPyArray.write(Tensor(shape: [1, 3, 100, 100], repeating: 0.5), to: input)
        try assertEmbedFails(.tensor(input.path), mentioning: [input.path, "100×100", "not a multiple of the patch size 14"])
    }

    func testFloat64Input() throws {
        let input = try temporaryDirectory().appendingPathComponent("double.npy")
        try Self.float64NPY(shape: [1, 3, 14, 14]).write(to: input)
        try assertEmbedFails(.tensor(input.path), mentioning: [input.path, "float64", "float32 is required"])
    }

    func testTensorAndImageTogetherIsAUsageError() throws {
        let out = try temporaryDirectory().appendingPathComponent("out")
        let run = try radprobe(["embed", "--checkpoint", CLIFixture.plainPTH, "--tensor", CLIFixture.input("plain", "224"),
                                "--image", CLIFixture.path("imaging/png/grey8.png"), "--out", out.path])
        XCTAssertEqual(run.exitCode, 64, "expected the usage exit code (EX_USAGE):\n\(run)")
        assertFails(run, mentioning: ["--tensor", "--image", "Usage: radprobe embed"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.path))
    }

    func testOutputPathIsAFile() throws {
        let out = try temporaryDirectory().appendingPathComponent("features")
        try Data("keep me".utf8).write(to: out)
        assertFails(try embed(CLIFixture.plainPTH, .tensor(CLIFixture.input("plain", "nonsquare")), out: out), mentioning: [out.path, "--out must be a directory"])
        XCTAssertEqual(try Data(contentsOf: out), Data("keep me".utf8))
    }

    /// A failed embed into a folder that holds earlier results leaves them byte-identical (and no staging files).
    func testFailedEmbedKeepsEarlierOutputs() throws {
        let directory = try temporaryDirectory()
        let out = directory.appendingPathComponent("out")
        let bad = directory.appendingPathComponent("small.npy")
        try NumPyArray.write(Tensor(shape: [1, 3, 100, 100], repeating: 0.5), to: bad)
        try assertOverwriteFails(out, breaking: {}, with: CLIFixture.plainPTH, .tensor(bad.path), mentioning: [bad.path])
    }

    /// Even when writing fails after the model ran (here: a directory where `patch.npy` goes), nothing is replaced.
    func testFailedWriteKeepsEarlierOutputs() throws {
        let out = try temporaryDirectory().appendingPathComponent("out")
        let patch = out.appendingPathComponent("patch.npy")
        try assertOverwriteFails(out, breaking: {
            try FileManager.default.removeItem(at: patch)
            try FileManager.default.createDirectory(at: patch, withIntermediateDirectories: false)
        }, with: CLIFixture.reg4Safetensors, .tensor(CLIFixture.input("reg4_swiglu", "nonsquare")), mentioning: [patch.path, "is a directory"])
    }

    // MARK: - Helpers

    /// Runs `embed` into a fresh output folder; it must fail with `mentions` on stderr and not create the folder.
    func assertEmbedFails(checkpoint: String = CLIFixture.plainPTH, _ input: EmbedInput = .tensor(CLIFixture.input("plain", "nonsquare")),
                          mentioning mentions: [String], file: StaticString = #filePath, line: UInt = #line) throws {
        let out = try temporaryDirectory().appendingPathComponent("out")
        assertFails(try embed(checkpoint, input, out: out), mentioning: mentions, file: file, line: line)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.path), "a failed embed created \(out.path)", file: file, line: line)
    }

    /// Embeds the plain `nonsquare` case into `out`, runs `breaking`, then a second embed that must fail
    /// with `mentions`; `cls.npy` stays byte-identical and no other file appears.
    func assertOverwriteFails(_ out: URL, breaking: () throws -> Void, with checkpoint: String, _ input: EmbedInput,
                              mentioning mentions: [String], file: StaticString = #filePath, line: UInt = #line) throws {
        let first = try embed(CLIFixture.plainPTH, .tensor(CLIFixture.input("plain", "nonsquare")), out: out)
        XCTAssertEqual(first.exitCode, 0, "\(first)", file: file, line: line)
        let cls = out.appendingPathComponent("cls.npy")
        let before = try Data(contentsOf: cls)
        try breaking()
        let listing = try FileManager.default.contentsOfDirectory(atPath: out.path).sorted()
        assertFails(try embed(checkpoint, input, out: out), mentioning: mentions, file: file, line: line)
        XCTAssertEqual(try Data(contentsOf: cls), before, "cls.npy changed although embed failed", file: file, line: line)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: out.path).sorted(), listing, file: file, line: line)
    }

    /// A version 1.0 `.npy` file of little-endian float64 zeros.
    static func float64NPY(shape: [Int]) -> Data {
        var header = "{'descr': '<f8', 'fortran_order': False, 'shape': (\(shape.map(String.init).joined(separator: ", ")),), }"
        header += String(repeating: " ", count: (64 - (10 + header.utf8.count + 1) % 64) % 64) + "\n"
        var data = Data([0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(header.utf8.count & 0xFF), UInt8(header.utf8.count >> 8)])
        data.append(contentsOf: Array(header.utf8))
        data.append(Data(count: shape.reduce(1, *) * 8))
        return data
    }
}
