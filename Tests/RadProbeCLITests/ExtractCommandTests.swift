import Checkpoints
import Evaluation
import Foundation
import MedicalImaging
import TensorCore
import TestSupport
import XCTest

/// `radprobe extract` on a manifest replica with the tiny DINOv2 fixture model.
final class ExtractCommandTests: XCTestCase {
    func extract(_ folder: URL, store: URL) throws -> CommandRun {
        try radprobe(["extract", "manifest", "--root", folder.path, "--checkpoint", CLIFixture.plainPTH, "--size", "28",
                      "--layers", "2", "--chunk-size", "2", "--batch-size", "3", "--out", store.path, "--threads", "2"])
    }

    /// Each stored CLS row equals what `embed` gives for that image; the unreadable image is skipped and
    /// recorded; a second run finds every chunk done and changes no byte.
    func testStoreMatchesEmbedAndResumes() throws {
        let folder = try temporaryDirectory(), store = folder.appendingPathComponent("store")
        try CLIFixture.writeManifest(images: 5, in: folder)
        let run = try extract(folder, store: store)
        XCTAssertEqual(run.exitCode, 0, "\(run)")
        XCTAssertTrue(run.stdout.contains("skipped: broken.png:"), run.stdout)
        let opened = try FeatureStore.open(at: store)
        let (ids, cls) = try opened.read(feature: "cls")
        XCTAssertEqual(ids, (0..<5).map { "i\($0).png" })
        XCTAssertEqual(cls.shape, [5, 2, 128])
        for row in [0, 3] {
            let out = try temporaryDirectory()
            XCTAssertEqual(try embed(CLIFixture.plainPTH, .image(folder.appendingPathComponent("i\(row).png").path, size: 28), out: out,
                                     "--layers", "2").exitCode, 0)
            let expected = try output(out, "layers_cls").reshaped([2, 128])
            assertClose(cls.slice(outer: row..<row + 1).reshaped([2, 128]), expected, tolerance: 1e-5, "item \(row)")
        }
        let before = try Self.snapshot(store)
        let again = try extract(folder, store: store)
        XCTAssertEqual(again.exitCode, 0, "\(again)")
        XCTAssertTrue(again.stdout.contains("resuming"), again.stdout)
        XCTAssertEqual(try Self.snapshot(store), before)
    }

    /// Every file of a folder tree (path relative to `folder`) and its bytes.
    static func snapshot(_ folder: URL) throws -> [String: Data] {
        var files: [String: Data] = [:]
        let enumerator = FileManager.default.enumerator(at: folder, includingPropertiesForKeys: [.isRegularFileKey])
        while let url = enumerator?.nextObject() as? URL {
            if (try url.resourceValues(forKeys: [.isRegularFileKey])).isRegularFile == true {
                files[String(url.path.dropFirst(folder.path.count))] = try Data(contentsOf: url)
            }
        }
        return files
    }
}
