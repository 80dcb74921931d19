import Metrics
import XCTest

final class BootstrapTests: XCTestCase {
    private struct SingleCase: Decodable {
        let name: String
        let statistic: String
        let seed: UInt64
        let resamples: Int
        let confidence: Double
        let patients: [String]?
        let rows: Int
        let columns: Int?
        let labels: [Int]?
        let labelMatrix: [Double]?
        let scores: [Double]
        let estimate: Double
        let lower: Double
        let upper: Double
        let valid: Int
        let skipped: Int
    }

    private struct PairedCase: Decodable {
        let name: String
        let seed: UInt64
        let resamples: Int
        let confidence: Double
        let patients: [String]?
        let rows: Int
        let labels: [Int]
        let scoresA: [Double]
        let scoresB: [Double]
        let estimateA: Double
        let estimateB: Double
        let difference: Double
        let lower: Double
        let upper: Double
        let p: Double
        let valid: Int
        let skipped: Int
    }

    private struct Cases: Decodable {
        let single: [SingleCase]
        let paired: [PairedCase]
    }

    private func units(_ patients: [String]?, rows: Int) throws -> ResamplingUnits {
        try patients.map { try ResamplingUnits(patientIDs: $0) } ?? ResamplingUnits.rows(rows)
    }

    private func binaryAUROC(scores: [Double], labels: [Int]) -> ([Int]) throws -> Double? {
        { rows in try AUROC.binary(scores: rows.map { scores[$0] }, labels: rows.map { labels[$0] }) }
    }

    private func statistic(for item: SingleCase) throws -> ([Int]) throws -> Double? {
        switch item.statistic {
        case "binary_auroc":
            return binaryAUROC(scores: item.scores, labels: try XCTUnwrap(item.labels))
        case "accuracy":
            let scores = try DoubleMatrix(rows: item.rows, columns: try XCTUnwrap(item.columns), values: item.scores)
            let labels = try XCTUnwrap(item.labels)
            return { rows in try Accuracy.overall(scores: scores.selectingRows(rows), labels: rows.map { labels[$0] }) }
        case "multilabel_macro":
            let columns = try XCTUnwrap(item.columns)
            let scores = try DoubleMatrix(rows: item.rows, columns: columns, values: item.scores)
            let labels = try DoubleMatrix(rows: item.rows, columns: columns, values: try XCTUnwrap(item.labelMatrix))
            return { rows in try AUROC.multiLabel(scores: scores.selectingRows(rows), labels: labels.selectingRows(rows)).macro }
        default:
            throw XCTSkip("unknown statistic \(item.statistic)")
        }
    }

    func testIntervalsMatchTheReferenceDraws() throws {
        let cases: Cases = try loadMetricsFixture("bootstrap.json")
        XCTAssertEqual(cases.single.count, 4)
        XCTAssertTrue(cases.single.contains { $0.skipped > 0 }, "a case should skip undefined resamples")
        for item in cases.single {
            let configuration = try BootstrapConfiguration(seed: item.seed, resamples: item.resamples, confidence: item.confidence)
            let result = try Bootstrap.estimate(units: units(item.patients, rows: item.rows), configuration: configuration,
                                                statistic: statistic(for: item))
            XCTAssertEqual(result.validResamples, item.valid, item.name)
            XCTAssertEqual(result.skippedResamples, item.skipped, item.name)
            assertClose(result.estimate, item.estimate, tolerance: parityTolerance, item.name)
            let interval = try XCTUnwrap(result.interval, item.name)
            XCTAssertEqual(interval.confidence, item.confidence)
            assertClose(interval.lower, item.lower, tolerance: parityTolerance, "\(item.name) lower")
            assertClose(interval.upper, item.upper, tolerance: parityTolerance, "\(item.name) upper")
        }
    }

    func testPairedComparisonMatchesTheReferenceDraws() throws {
        let cases: Cases = try loadMetricsFixture("bootstrap.json")
        XCTAssertEqual(cases.paired.count, 2)
        for item in cases.paired {
            let configuration = try BootstrapConfiguration(seed: item.seed, resamples: item.resamples, confidence: item.confidence)
            let result = try Bootstrap.pairedComparison(
                units: units(item.patients, rows: item.rows), configuration: configuration,
                statisticA: binaryAUROC(scores: item.scoresA, labels: item.labels),
                statisticB: binaryAUROC(scores: item.scoresB, labels: item.labels))
            XCTAssertEqual(result.validResamples, item.valid, item.name)
            XCTAssertEqual(result.skippedResamples, item.skipped, item.name)
            assertClose(result.estimateA, item.estimateA, tolerance: parityTolerance, item.name)
            assertClose(result.estimateB, item.estimateB, tolerance: parityTolerance, item.name)
            assertClose(result.difference, item.difference, tolerance: parityTolerance, item.name)
            assertClose(result.interval?.lower, item.lower, tolerance: parityTolerance, "\(item.name) lower")
            assertClose(result.interval?.upper, item.upper, tolerance: parityTolerance, "\(item.name) upper")
            // The p-value is a ratio of counts; the differences' signs agree exactly with the reference.
            XCTAssertEqual(result.pValue, item.p, item.name)
        }
    }

    func testDefaultsAndDeterminism() throws {
        let configuration = try BootstrapConfiguration(seed: 3)
        XCTAssertEqual(configuration.resamples, 1000)
        XCTAssertEqual(configuration.confidence, 0.95)
        let mean: ([Int]) -> Double? = { rows in Double(rows.reduce(0, +)) / Double(rows.count) }
        let first = try Bootstrap.estimate(units: .rows(25), configuration: configuration, statistic: mean)
        let second = try Bootstrap.estimate(units: .rows(25), configuration: configuration, statistic: mean)
        XCTAssertEqual(first, second)
        XCTAssertEqual(first.validResamples, 1000)
        XCTAssertEqual(first.estimate, 12)
        let other = try Bootstrap.estimate(units: .rows(25), configuration: BootstrapConfiguration(seed: 4), statistic: mean)
        XCTAssertNotEqual(first.interval, other.interval)
    }

    func testAPatientBringsAllOfItsRows() throws {
        let patients = ["b", "a", "b", "c", "a", "b"]
        let units = try ResamplingUnits(patientIDs: patients)
        XCTAssertEqual(units.unitCount, 3)
        XCTAssertEqual(units.rowCount, 6)
        let configuration = try BootstrapConfiguration(seed: 1, resamples: 50)
        _ = Bootstrap.estimate(units: units, configuration: configuration) { rows in
            var rowsPerPatient: [String: [Int]] = [:]
            for row in rows { rowsPerPatient[patients[row], default: []].append(row) }
            XCTAssertEqual(rowsPerPatient["b"].map { $0.count % 3 }, rowsPerPatient["b"].map { _ in 0 })
            XCTAssertEqual(rowsPerPatient["a"].map { $0.count % 2 }, rowsPerPatient["a"].map { _ in 0 })
            XCTAssertEqual(rowsPerPatient["b"].map { Set($0) }, rowsPerPatient["b"].map { _ in [0, 2, 5] })
            return 0
        }
    }

    func testEveryResampleUndefinedGivesNoInterval() throws {
        let result = try Bootstrap.estimate(units: .rows(5), configuration: BootstrapConfiguration(seed: 0, resamples: 20)) { _ in nil }
        XCTAssertNil(result.interval)
        XCTAssertNil(result.estimate)
        XCTAssertEqual(result.skippedResamples, 20)
        XCTAssertEqual(result.validResamples, 0)
    }

    func testBadConfigurationThrows() {
        assertThrows(.invalidResampleCount(0), try BootstrapConfiguration(seed: 1, resamples: 0))
        assertThrows(.invalidConfidence(1), try BootstrapConfiguration(seed: 1, confidence: 1))
        assertThrows(.invalidConfidence(0), try BootstrapConfiguration(seed: 1, confidence: 0))
        assertThrows(.invalidConfidence(-0.5), try BootstrapConfiguration(seed: 1, confidence: -0.5))
        assertThrows(.empty(what: "the rows to resample"), try ResamplingUnits.rows(0))
        assertThrows(.empty(what: "the patient ids"), try ResamplingUnits(patientIDs: [String]()))
    }

    func testStatisticErrorsPropagate() throws {
        let configuration = try BootstrapConfiguration(seed: 1, resamples: 3)
        assertThrows(.invalidBinaryLabel(index: 0, value: 5),
                     try Bootstrap.estimate(units: .rows(2), configuration: configuration) { rows in
                         try AUROC.binary(scores: rows.map(Double.init), labels: rows.map { _ in 5 })
                     })
    }
}
