import Checkpoints
import Evaluation
import Foundation
import MedicalImaging
import TensorCore
import TestSupport
import XCTest

/// `radprobe extract` on a manifest replica with the tiny DINOv2 fixture model.
final class ExtractCommandTests: XCTestCase {
    func manifest(images: Int, in folder: URL) throws {
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

    func extract(_ folder: URL, store: URL) throws -> CommandRun {
        try radprobe(["extract", "manifest", "--root", folder.path, "--checkpoint", CLIFixture.plainPTH, "--size", "28",
                      "--layers", "2", "--chunk-size", "2", "--batch-size", "3", "--out", store.path, "--threads", "2"])
    }

    /// Each stored CLS row equals what `embed` gives for that image; the unreadable image is skipped and
    /// recorded; a second run finds every chunk done and changes no byte.
    func testStoreMatchesEmbedAndResumes() throws {
        let folder = try temporaryDirectory(), store = folder.appendingPathComponent("store")
        try manifest(images: 5, in: folder)
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

    /// Every file of a folder tree and its bytes.
    static func snapshot(_ folder: URL) throws -> [String: Data] {
        var files: [String: Data] = [:]
        let enumerator = FileManager.default.enumerator(at: folder, includingPropertiesForKeys: [.isRegularFileKey])
        while let url = enumerator?.nextObject() as? URL {
            if (try url.resourceValues(forKeys: [.isRegularFileKey])).isRegularFile == true {
                files[url.path] = try Data(contentsOf: url)
            }
        }
        return files
    }
}
