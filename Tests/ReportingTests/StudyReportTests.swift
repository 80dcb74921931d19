import FileAccess
import Foundation
@testable import Reporting
import Results
import TestSupport
import XCTest

/// The report of the fixture study against the committed goldens in Tests/Fixtures/report/golden, its
/// determinism and its bad input. To regenerate the goldens (and the committed study database used by the
/// CLI tests, Tests/Fixtures/report/study) after an intended change, run
///
///     RADPROBE_UPDATE_GOLDEN=1 swift test --filter ReportingTests.StudyReportTests
///
/// and review `git diff Tests/Fixtures/report`.
final class StudyReportTests: XCTestCase {
    static var updating: Bool { ProcessInfo.processInfo.environment["RADPROBE_UPDATE_GOLDEN"] == "1" }

    func makeReport() throws -> (report: StudyReport, folder: URL) {
        let folder = try Fixtures.temporaryDirectory(removedAfter: self)
        let url = try StudyFixture.write(into: folder)
        return (try StudyReport(records: ResultsDatabase(url: url).results(), artifactRoot: folder), folder)
    }

    func testReportMatchesTheGoldens() throws {
        let (report, folder) = try makeReport()
        let out = folder.appendingPathComponent("report")
        let written = try report.write(to: out)
        let golden = Fixtures.url("report/golden")
        if Self.updating {
            try? FileManager.default.removeItem(at: golden)
            try report.write(to: golden)
            let study = Fixtures.url("report/study")
            try? FileManager.default.removeItem(at: study)
            try FileManager.default.createDirectory(at: study, withIntermediateDirectories: true)
            try StudyFixture.write(into: study)
            return
        }
        let goldenFiles = try FileManager.default.subpathsOfDirectory(atPath: golden.path).filter { !$0.hasSuffix("/") && !["tables", "figures", "images"].contains($0) }
        XCTAssertEqual(Set(goldenFiles), Set(written))
        for path in written {
            let actual = try Data(contentsOf: out.appendingPathComponent(path)), expected = try? Data(contentsOf: golden.appendingPathComponent(path))
            XCTAssertTrue(actual == expected, "\(path) differs from its golden; regenerate with RADPROBE_UPDATE_GOLDEN=1 if intended")
        }
    }

    func testTheCommittedStudyDatabaseHoldsTheFixtureStudy() throws {
        try XCTSkipIf(Self.updating)
        // The database gives back curves ordered by name and epoch.
        let expected = StudyFixture.records().map { record in
            var record = record
            record.curves.sort { ($0.name, $0.epoch) < ($1.name, $1.epoch) }
            return record
        }
        let stored = try ResultsDatabase(url: Fixtures.url("report/study/results.sqlite")).results()
        XCTAssertTrue(stored == expected, "Tests/Fixtures/report/study is out of date; regenerate with RADPROBE_UPDATE_GOLDEN=1")
    }

    func testSameDatabaseGivesByteIdenticalFiles() throws {
        let first = try makeReport().report.files(), second = try makeReport().report.files()
        XCTAssertEqual(first.map(\.path), second.map(\.path))
        for (a, b) in zip(first, second) { XCTAssertTrue(a.data == b.data, a.path) }
        let html = String(decoding: first[0].data, as: UTF8.self)
        XCTAssertFalse(html.contains(FileManager.default.temporaryDirectory.path), "an absolute path leaked into the page")
        XCTAssertFalse(html.contains("2026-"), "a timestamp leaked into the page")
    }

    func testTablesFiguresAndImagesFollowTheResults() throws {
        let report = try makeReport().report
        XCTAssertEqual(report.tables.map(\.id), [
            "linear-probe", "classification-nih-chestxray14", "classification-brain-tumour-mri", "per-class-nih-chestxray14",
            "per-class-brain-tumour-mri", "few-shot", "segmentation-msd-spleen", "segmentation-msd-hippocampus", "decoders", "fine-tuning", "failed",
        ])
        XCTAssertEqual(report.figures.map(\.id), ["ranking", "few-shot-nih-chestxray14", "few-shot-brain-tumour-mri", "decoders",
                                                  "curves-dinov2-vits14-nih-chestxray14-finetune-lora", "curves-dinov2-vits14-msd-spleen-segment-unet"])
        XCTAssertEqual(report.images.map(\.id), ["overlay-dinov2-vits14-msd-spleen-segment-unet-spleen-case1"])
        XCTAssertEqual(report.skippedArtifacts.count, 1)
        let failed = report.tables.last!
        XCTAssertEqual(failed.rows.map(\.label), ["imagenet-vitb16"])
        XCTAssertEqual(failed.text(row: 0, column: 2), "training diverged: the loss became NaN at epoch 2")
        // The few-shot mean of dinov2-vits14, nih-chestxray14, 4 shots: 0.5 + 0.08 + 0.04 + mean draw offset 0.012.
        let fewShot = report.tables.first { $0.id == "few-shot" }!
        XCTAssertEqual(fewShot.text(row: 0, column: 1), "0.632 (0.620–0.644)")
        let fineTuning = report.tables.first { $0.id == "fine-tuning" }!
        XCTAssertEqual(fineTuning.rows.first { $0.label == "dinov2-vits14 · LoRA" }?.cells[0], .text("1,326,738"))
    }

    func testAnEmptyDatabaseIsRefusedAndNothingIsWritten() throws {
        let folder = try Fixtures.temporaryDirectory(removedAfter: self)
        let records = try ResultsDatabase(url: folder.appendingPathComponent("results.sqlite")).results()
        XCTAssertThrowsError(try StudyReport(records: records, artifactRoot: folder)) { error in
            XCTAssertTrue("\(error)".contains("holds no results"), "\(error)")
        }
    }

    func testAnExistingFolderKeepsItsOtherFilesAndTheReportIsReplaced() throws {
        let (report, folder) = try makeReport()
        let out = folder.appendingPathComponent("report")
        try FileManager.default.createDirectory(at: out.appendingPathComponent("tables"), withIntermediateDirectories: true)
        try Data("mine".utf8).write(to: out.appendingPathComponent("notes.txt"))
        try Data("old".utf8).write(to: out.appendingPathComponent("report.html"))
        try report.write(to: out)
        XCTAssertEqual(try String(contentsOf: out.appendingPathComponent("notes.txt"), encoding: .utf8), "mine")
        XCTAssertTrue(try String(contentsOf: out.appendingPathComponent("report.html"), encoding: .utf8).hasPrefix("<!DOCTYPE html>"))
        XCTAssertFalse(try FileManager.default.contentsOfDirectory(atPath: out.path).contains { $0.hasSuffix(".partial") })
        let file = folder.appendingPathComponent("a-file")
        try Data().write(to: file)
        XCTAssertThrowsError(try report.write(to: file)) { XCTAssertTrue("\($0)".contains("is a file"), "\($0)") }
    }
}
