import XCTest

/// `--help` goldens of `radprobe metrics` (see `HelpGoldenTests` for how to regenerate them).
extension HelpGoldenTests {
    func testMetricsHelp() throws { try assertHelpMatchesGolden("metrics", ["metrics"]) }
    func testMetricsSegHelp() throws { try assertHelpMatchesGolden("metrics-seg", ["metrics", "seg"]) }
}
