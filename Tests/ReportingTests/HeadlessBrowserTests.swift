import Foundation
@testable import Reporting
import Results
import TestSupport
import XCTest

/// Opens the report in Debian's headless Chromium (`chromium-headless-shell`, installed by `make test`) and
/// checks from the rendered DOM that every table, figure and image is there and that every image loaded.
/// Skips when the browser is absent, unless `RADPROBE_REQUIRE_ASSETS=1` (then it fails).
final class HeadlessBrowserTests: XCTestCase {
    static let candidates = ["/usr/bin/chromium-headless-shell", "/usr/lib/chromium/chromium-headless-shell", "/usr/bin/chromium"]

    func browser() throws -> URL {
        if let path = Self.candidates.first(where: FileManager.default.isExecutableFile(atPath:)) { return URL(fileURLWithPath: path) }
        if ProcessInfo.processInfo.environment["RADPROBE_REQUIRE_ASSETS"] == "1" {
            XCTFail("chromium-headless-shell is missing although make test should have installed it")
        }
        throw XCTSkip("chromium-headless-shell is not installed (Debian package chromium-headless-shell)")
    }

    func testEveryTableFigureAndImageIsInTheRenderedPage() throws {
        let browser = try browser()
        let folder = try Fixtures.temporaryDirectory(removedAfter: self)
        let report = try StudyReport(records: ResultsDatabase(url: StudyFixture.write(into: folder)).results(), artifactRoot: folder)
        let out = folder.appendingPathComponent("report")
        try report.write(to: out)

        let process = Process()
        process.executableURL = browser
        process.arguments = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                             "--user-data-dir=\(folder.appendingPathComponent("profile").path)", "--virtual-time-budget=5000",
                             "--dump-dom", out.appendingPathComponent("report.html").absoluteString]
        let stdout = Pipe()
        process.standardOutput = stdout
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = stdout.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0)
        let dom = String(decoding: data, as: UTF8.self)

        XCTAssertTrue(dom.contains("data-images=\"loaded\""), "not every image loaded: \(dom.prefix(400))")
        XCTAssertTrue(dom.contains("data-image-count=\"\(report.images.count)\""))
        for table in report.tables { XCTAssertTrue(dom.contains("<table id=\"table-\(table.id)\">"), table.id) }
        for figure in report.figures {
            XCTAssertTrue(dom.contains("<figure id=\"figure-\(figure.id)\">"), figure.id)
            XCTAssertTrue(dom.contains("id=\"svg-\(figure.id)\""), figure.id)
        }
        for image in report.images { XCTAssertTrue(dom.contains("<figure id=\"image-\(image.id)\">"), image.id) }
    }
}
