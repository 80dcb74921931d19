import Foundation
import TestSupport
import XCTest

/// `--help` of every command against the committed golden files `Tests/Fixtures/cli/help/<name>.txt`
/// (trailing whitespace ignored; the subprocess sees `COLUMNS=80`, so wrapping is stable).
///
/// To regenerate the goldens after an intended change to the help text, run
///
///     RADPROBE_UPDATE_GOLDEN=1 swift test --skip-build --filter RadProbeCLITests.HelpGoldenTests
///
/// which writes each actual output over its golden file (the tests then pass); review `git diff
/// Tests/Fixtures/cli/help` before committing.
final class HelpGoldenTests: XCTestCase {
    func testTopLevelHelp() throws { try assertHelpMatchesGolden("radprobe", []) }
    func testEmbedHelp() throws { try assertHelpMatchesGolden("embed", ["embed"]) }
    func testModelsInspectHelp() throws { try assertHelpMatchesGolden("models-inspect", ["models", "inspect"]) }
    func testModelsConvertHelp() throws { try assertHelpMatchesGolden("models-convert", ["models", "convert"]) }
    func testModelsListHelp() throws { try assertHelpMatchesGolden("models-list", ["models", "list"]) }
    func testModelsDownloadHelp() throws { try assertHelpMatchesGolden("models-download", ["models", "download"]) }
    func testBenchHelp() throws { try assertHelpMatchesGolden("bench", ["bench"]) }
    func testBenchDecodeHelp() throws { try assertHelpMatchesGolden("bench-decode", ["bench", "decode"]) }
    func testBenchExtractHelp() throws { try assertHelpMatchesGolden("bench-extract", ["bench", "extract"]) }
    func testBenchProbesHelp() throws { try assertHelpMatchesGolden("bench-probes", ["bench", "probes"]) }
    func testBenchFineTuneHelp() throws { try assertHelpMatchesGolden("bench-finetune", ["bench", "finetune"]) }
    func testBenchBackbonesHelp() throws { try assertHelpMatchesGolden("bench-backbones", ["bench", "backbones"]) }
    func testBenchSegmentHelp() throws { try assertHelpMatchesGolden("bench-segment", ["bench", "segment"]) }
    func testFineTuneHelp() throws { try assertHelpMatchesGolden("finetune", ["finetune"]) }
    func testSegmentHelp() throws { try assertHelpMatchesGolden("segment", ["segment"]) }
    func testRunHelp() throws { try assertHelpMatchesGolden("run", ["run"]) }
    func testDemoHelp() throws { try assertHelpMatchesGolden("demo", ["demo"]) }
    func testReportHelp() throws { try assertHelpMatchesGolden("report", ["report"]) }
    func testPCAHelp() throws { try assertHelpMatchesGolden("pca", ["pca"]) }
    func testMetricsHelp() throws { try assertHelpMatchesGolden("metrics", ["metrics"]) }
    func testMetricsAUROCHelp() throws { try assertHelpMatchesGolden("metrics-auroc", ["metrics", "auroc"]) }
    func testMetricsCompareHelp() throws { try assertHelpMatchesGolden("metrics-compare", ["metrics", "compare"]) }
    func testMetricsSegHelp() throws { try assertHelpMatchesGolden("metrics-seg", ["metrics", "seg"]) }
    func testImageInfoHelp() throws { try assertHelpMatchesGolden("image-info", ["image", "info"]) }
    func testImagePreviewHelp() throws { try assertHelpMatchesGolden("image-preview", ["image", "preview"]) }
    func testExtractHelp() throws { try assertHelpMatchesGolden("extract", ["extract"]) }
    func testExtractRunHelp() throws { try assertHelpMatchesGolden("extract-run", ["extract", "run"]) }
    func testExtractMergeHelp() throws { try assertHelpMatchesGolden("extract-merge", ["extract", "merge"]) }
    func testDatasetsSplitHelp() throws { try assertHelpMatchesGolden("datasets-split", ["datasets", "split"]) }
    func testDatasetsVerifyHelp() throws { try assertHelpMatchesGolden("datasets-verify", ["datasets", "verify"]) }
    func testKNNHelp() throws { try assertHelpMatchesGolden("knn", ["knn"]) }
    func testLinearHelp() throws { try assertHelpMatchesGolden("linear", ["linear"]) }
    func testLogRegHelp() throws { try assertHelpMatchesGolden("logreg", ["logreg"]) }
    func testFewShotHelp() throws { try assertHelpMatchesGolden("fewshot", ["fewshot"]) }

    func assertHelpMatchesGolden(_ name: String, _ subcommand: [String], file: StaticString = #filePath, line: UInt = #line) throws {
        let run = try radprobeSucceeds(subcommand + ["--help"], file: file, line: line)
        let actual = Self.normalised(run.stdout)
        let golden = CLIFixture.cli("help/\(name).txt")
        if ProcessInfo.processInfo.environment["RADPROBE_UPDATE_GOLDEN"] == "1" {
            try FileManager.default.createDirectory(at: golden.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(actual.utf8).write(to: golden)
            return
        }
        guard let expected = try? String(contentsOf: golden, encoding: .utf8) else {
            return XCTFail("golden \(golden.path) is missing; run with RADPROBE_UPDATE_GOLDEN=1 to write it", file: file, line: line)
        }
        XCTAssertEqual(actual, Self.normalised(expected),
                       "`radprobe \((subcommand + ["--help"]).joined(separator: " "))` differs from \(golden.path) "
                           + "(if intended, regenerate with RADPROBE_UPDATE_GOLDEN=1)", file: file, line: line)
    }

    /// Lines without trailing whitespace, no trailing blank lines, one final newline.
    static func normalised(_ text: String) -> String {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { line in
            String(line.reversed().drop(while: \.isWhitespace).reversed())
        }
        while lines.last?.isEmpty == true { lines.removeLast() }
        return lines.joined(separator: "\n") + "\n"
    }
}
