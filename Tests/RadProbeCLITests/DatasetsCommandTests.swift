import Foundation
import MedicalImaging
import TestSupport
import XCTest

/// `radprobe datasets list|split|verify` on a manifest replica written by the test.
final class DatasetsCommandTests: XCTestCase {
    /// A manifest of `patients` × 2 images (classes alternate per patient), plus what the caller adds.
    func manifestFolder(patients: Int, extraRows: [String] = []) throws -> URL {
        let folder = try temporaryDirectory()
        var rows = ["path,label,patient"]
        for p in 0..<patients {
            for view in 0..<2 {
                let name = "p\(p)_\(view).png"
                let pixels = (0..<12).map { Float(($0 * 17 + p * 31 + view * 7) % 256) }
                try PNGWriter.write(Image2D(width: 4, height: 3, channels: 1, pixels: pixels), to: folder.appendingPathComponent(name))
                rows.append("\(name),\(p % 2 == 0 ? "normal" : "tb"),P\(p)")
            }
        }
        try Data((rows + extraRows).joined(separator: "\n").utf8).write(to: folder.appendingPathComponent("manifest.csv"))
        return folder
    }

    func testListNamesEveryDataset() throws {
        let run = try radprobeSucceeds(["datasets", "list"])
        for name in ["nih-chestxray14", "chexpert", "montgomery", "sars-cov-2-ct", "msd-spleen", "msd-hippocampus", "msd-heart",
                     "amos", "brain-tumour", "manifest"] {
            XCTAssertTrue(run.stdout.contains(name), "list does not name \(name):\n\(run.stdout)")
        }
    }

    /// The split file is written, keeps every patient on one side, and reads back with its checksum.
    func testStratifiedSplitOfAManifest() throws {
        let folder = try manifestFolder(patients: 20)
        let out = folder.appendingPathComponent("split.csv")
        let run = try radprobeSucceeds(["datasets", "split", "manifest", "--root", folder.path, "--out", out.path,
                                        "--method", "stratified", "--seed", "7", "--validation", "0.2", "--test", "0.2"])
        XCTAssertTrue(run.stdout.contains("test       8 items, 4 patients"), run.stdout)
        let lines = try String(contentsOf: out, encoding: .utf8).split(separator: "\n")
        XCTAssertTrue(lines[0].hasPrefix("# radprobe split v1 dataset=manifest method=stratified;seed=7"), String(lines[0]))
        var partOfPatient: [String: String] = [:]
        for line in lines.dropFirst(2) {
            let fields = line.split(separator: ",").map(String.init)
            XCTAssertEqual(partOfPatient[fields[1]] ?? fields[2], fields[2], "patient \(fields[1]) on two sides")
            partOfPatient[fields[1]] = fields[2]
        }
        XCTAssertEqual(partOfPatient.count, 20)
        let again = folder.appendingPathComponent("again.csv")
        try radprobeSucceeds(["datasets", "split", "manifest", "--root", folder.path, "--out", again.path,
                              "--method", "stratified", "--seed", "7", "--validation", "0.2", "--test", "0.2"])
        XCTAssertEqual(try Data(contentsOf: again), try Data(contentsOf: out), "the same seed must give the same file")
    }

    /// Missing, unreadable and duplicate files are all reported, and the exit code says something is wrong.
    func testVerifyReportsEveryKindOfProblem() throws {
        let folder = try manifestFolder(patients: 2, extraRows: ["missing.png,normal,P9", "broken.png,tb,P8", "copy.png,tb,P7"])
        try Data("not a png".utf8).write(to: folder.appendingPathComponent("broken.png"))
        try FileManager.default.copyItem(at: folder.appendingPathComponent("p0_0.png"), to: folder.appendingPathComponent("copy.png"))
        let run = try radprobe(["datasets", "verify", "manifest", "--root", folder.path])
        XCTAssertEqual(run.exitCode, 1, "\(run)")
        XCTAssertTrue(run.stderr.contains("missing.png"), run.stderr)
        XCTAssertTrue(run.stdout.contains("unreadable: \(folder.appendingPathComponent("broken.png").path)"), run.stdout)
        XCTAssertTrue(run.stdout.contains("duplicate: \(folder.appendingPathComponent("copy.png").path): the same bytes as"), run.stdout)
        XCTAssertTrue(run.stdout.contains("1 missing or unusable entries, 1 unreadable, 1 duplicate"), run.stdout)
        let clean = try radprobe(["datasets", "verify", "manifest", "--root", try manifestFolder(patients: 3).path])
        XCTAssertEqual(clean.exitCode, 0, "\(clean)")
    }

    func testUnknownDatasetIsRefused() throws {
        assertFails(try radprobe(["datasets", "verify", "imagenet", "--root", "/tmp"]), mentioning: ["Unknown dataset imagenet"])
        assertFails(try radprobe(["datasets", "verify", "--dataset", "imagenet", "--root", "/tmp"]), mentioning: ["Unknown dataset imagenet"])
    }

    /// The dataset may be named by position or with --dataset, but must be named exactly once.
    func testDatasetIsNamedByPositionOrOption() throws {
        let folder = try manifestFolder(patients: 3)
        XCTAssertEqual(try radprobe(["datasets", "verify", "--dataset", "manifest", "--root", folder.path]).exitCode, 0)
        assertFails(try radprobe(["datasets", "verify", "--root", folder.path]), mentioning: ["Name the dataset"])
        assertFails(try radprobe(["datasets", "verify", "manifest", "--dataset", "msd-spleen", "--root", folder.path]),
                    mentioning: ["named twice, as manifest and --dataset msd-spleen"])
    }
}
