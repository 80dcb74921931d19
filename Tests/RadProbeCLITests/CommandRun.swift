import Checkpoints
import Foundation
import MedicalImaging
import TensorCore
import TestSupport
import XCTest

/// The outcome of one run of the `radprobe` executable.
struct CommandRun: CustomStringConvertible {
    let exitCode: Int32
    let stdout: String
    let stderr: String

    var description: String { "exit code \(exitCode)\n--- stdout\n\(stdout)--- stderr\n\(stderr)" }
}

/// The built `radprobe` executable: `$RADPROBE_EXECUTABLE` if set, else next to the test bundle
/// (on Linux the `.xctest` binary lives in `.build/debug/` beside `radprobe`), else `<package>/.build/debug/radprobe`.
enum RadProbeExecutable {
    static let url: URL? = {
        if let explicit = ProcessInfo.processInfo.environment["RADPROBE_EXECUTABLE"] { return URL(fileURLWithPath: explicit) }
        let candidates = [
            Bundle.main.bundleURL,                                    // Linux: .build/<config>/
            Bundle.main.bundleURL.deletingLastPathComponent(),        // macOS: .build/<config>/X.xctest → .build/<config>/
            Bundle.main.executableURL?.deletingLastPathComponent(),
            Fixtures.packageRoot.appendingPathComponent(".build/debug"),
        ].compactMap { $0?.appendingPathComponent("radprobe") }
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) }
    }()
}

/// Fixture paths used by several tests.
enum CLIFixture {
    static func path(_ relative: String) -> String { Fixtures.url(relative).path }
    static let plainPTH = path("dinov2/plain/model.pth")
    static let plainSafetensors = path("dinov2/plain/model.safetensors")
    static let reg4Safetensors = path("dinov2/reg4_swiglu/model.safetensors")
    /// `dinov2/<model>/<case>/input.npy`.
    static func input(_ model: String, _ caseName: String) -> String { path("dinov2/\(model)/\(caseName)/input.npy") }
    /// A manifest dataset in `folder`: `images` 40×30 grey PNGs `i0.png`… (labels a/b, one patient each) and
    /// `broken.png`, listed but not a PNG.
    static func writeManifest(images: Int, in folder: URL) throws {
        var rows = ["path,label,patient"]
        for i in 0..<images {
            let pixels = (0..<(30 * 40)).map { Float(($0 * (i + 3)) % 251) }
            try PNGWriter.write(Image2D(width: 40, height: 30, channels: 1, pixels: pixels), to: folder.appendingPathComponent("i\(i).png"))
            rows.append("i\(i).png,\(i % 2 == 0 ? "b" : "a"),P\(i)")
        }
        rows.append("broken.png,a,P99")
        try Data("not a png".utf8).write(to: folder.appendingPathComponent("broken.png"))
        try Data(rows.joined(separator: "\n").utf8).write(to: folder.appendingPathComponent("manifest.csv"))
    }

    /// `Tests/Fixtures/cli/<relative>`.
    static func cli(_ relative: String) -> URL { Fixtures.url("cli").appendingPathComponent(relative) }
}

/// How `embed` gets its input.
enum EmbedInput {
    case tensor(String)
    case image(String, size: Int)

    var arguments: [String] {
        switch self {
        case .tensor(let path): ["--tensor", path]
        case .image(let path, let size): ["--image", path, "--size", String(size)]
        }
    }
}

extension XCTestCase {
    /// Runs `radprobe arguments…` with a fixed 80-column terminal width (stable help text) and `environment`
    /// added to this process's, and collects its output.
    func radprobe(_ arguments: [String], environment: [String: String] = [:]) throws -> CommandRun {
        guard let executable = RadProbeExecutable.url else {
            throw MissingExecutable(searched: Bundle.main.bundleURL.path)
        }
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(["COLUMNS": "80", "LINES": "25"].merging(environment) { $1 }) { $1 }
        let stdout = Pipe(), stderr = Pipe()
        process.standardOutput = stdout
        process.standardError = stderr
        try process.run()
        // Drain both pipes at once so a chatty child never blocks on a full pipe.
        let collected = CollectedData()
        let group = DispatchGroup()
        let stdoutHandle = stdout.fileHandleForReading
        DispatchQueue.global().async(group: group) { collected.data = stdoutHandle.readDataToEndOfFile() }
        let errorData = stderr.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        process.waitUntilExit()
        return CommandRun(exitCode: process.terminationStatus,
                          stdout: String(decoding: collected.data, as: UTF8.self),
                          stderr: String(decoding: errorData, as: UTF8.self))
    }

    /// Runs `radprobe` and fails (with its output) unless it exits with 0.
    @discardableResult
    func radprobeSucceeds(_ arguments: [String], environment: [String: String] = [:], file: StaticString = #filePath,
                          line: UInt = #line) throws -> CommandRun {
        let run = try radprobe(arguments, environment: environment)
        XCTAssertEqual(run.exitCode, 0, "radprobe \(arguments.joined(separator: " ")) failed:\n\(run)", file: file, line: line)
        return run
    }

    /// `radprobe embed` on two threads (the build machines are small).
    func embed(_ checkpoint: String, _ input: EmbedInput, out: URL, _ extra: String...) throws -> CommandRun {
        try radprobe(["embed", "--checkpoint", checkpoint] + input.arguments + ["--out", out.path, "--threads", "2"] + extra)
    }

    /// Fails unless `run` exited non-zero and its standard error contains every one of `mentions`.
    func assertFails(_ run: CommandRun, mentioning mentions: [String], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertNotEqual(run.exitCode, 0, "expected a failure:\n\(run)", file: file, line: line)
        for text in mentions {
            XCTAssertTrue(run.stderr.contains(text), "stderr does not mention \"\(text)\":\n\(run.stderr)", file: file, line: line)
        }
    }

    /// A fresh temporary directory removed after the test.
    func temporaryDirectory() throws -> URL { try Fixtures.temporaryDirectory(removedAfter: self) }

    /// Reads `<directory>/<name>.npy`.
    func output(_ directory: URL, _ name: String) throws -> Tensor {
        try NumPyArray.read(contentsOf: directory.appendingPathComponent("\(name).npy"))
    }

    /// Compares the `.npy` files `written` in `directory` with the fixture files of `fixtureDirectory`
    /// (`Tests/Fixtures/<fixtureDirectory>/<expected>.npy`).
    func assertOutputs(_ directory: URL, match pairs: [(written: String, expected: String)], in fixtureDirectory: String,
                       tolerance: Float, file: StaticString = #filePath, line: UInt = #line) throws {
        for (written, expected) in pairs {
            assertClose(try output(directory, written), try Fixtures.array("\(fixtureDirectory)/\(expected).npy"),
                        tolerance: tolerance, "\(written).npy vs \(fixtureDirectory)/\(expected).npy", file: file, line: line)
        }
    }

    /// Writes a copy of a safetensors checkpoint after `edit` to `url` (for malformed-checkpoint tests).
    func writeCheckpoint(from source: String, to url: URL, edit: (inout StateDict) -> Void) throws {
        var stateDict = try SafetensorsFile.read(contentsOf: URL(fileURLWithPath: source))
        edit(&stateDict)
        try SafetensorsFile.write(stateDict, to: url, metadata: stateDict.metadata)
    }
}

/// Thrown (failing the test) when no built `radprobe` can be found.
struct MissingExecutable: Error, CustomStringConvertible {
    let searched: String
    var description: String {
        "radprobe executable not found beside the test bundle (\(searched)) nor in \(Fixtures.packageRoot.path)/.build/debug; "
            + "build it with `swift build --build-tests` or set RADPROBE_EXECUTABLE"
    }
}

/// Bytes read on another thread.
private final class CollectedData: @unchecked Sendable {
    var data = Data()
}
