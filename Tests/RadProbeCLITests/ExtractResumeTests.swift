import Foundation
import TestSupport
import XCTest

/// `radprobe extract` killed with SIGKILL in the middle resumes to the same store as an uninterrupted run.
final class ExtractResumeTests: XCTestCase {
    func arguments(_ folder: URL, store: URL) -> [String] {
        ["extract", "manifest", "--root", folder.path, "--checkpoint", CLIFixture.plainPTH, "--size", "56", "--layers", "2",
         "--chunk-size", "1", "--batch-size", "1", "--out", store.path, "--threads", "1"]
    }

    func testKilledRunResumesToIdenticalBytes() throws {
        let folder = try temporaryDirectory()
        try CLIFixture.writeManifest(images: 60, in: folder)
        let whole = folder.appendingPathComponent("whole"), resumed = folder.appendingPathComponent("resumed")
        try radprobeSucceeds(arguments(folder, store: whole))

        let executable = try XCTUnwrap(RadProbeExecutable.url)
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments(folder, store: resumed)
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        // Kill it once a few chunks are on disk and before it finishes.
        let chunks = resumed.appendingPathComponent("chunks")
        let deadline = Date().addingTimeInterval(60)
        while process.isRunning && Date() < deadline {
            let written = (try? FileManager.default.contentsOfDirectory(atPath: chunks.path))?.filter { !$0.hasPrefix(".") }.count ?? 0
            if written >= 3 { break }
            usleep(500)
        }
        XCTAssertTrue(process.isRunning, "the run finished before it could be killed; the test needs a slower run")
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationReason, .uncaughtSignal)
        XCTAssertFalse(FileManager.default.fileExists(atPath: resumed.appendingPathComponent("manifest.json").path),
                       "a killed run must not leave a finished manifest")

        let again = try radprobeSucceeds(arguments(folder, store: resumed))
        XCTAssertTrue(again.stdout.contains("resuming"), again.stdout)
        let expected = try ExtractCommandTests.snapshot(whole), actual = try ExtractCommandTests.snapshot(resumed)
        XCTAssertEqual(actual.keys.sorted(), expected.keys.sorted())
        for (path, bytes) in expected { XCTAssertEqual(actual[path], bytes, "\(path) differs after the resumed run") }
    }
}
