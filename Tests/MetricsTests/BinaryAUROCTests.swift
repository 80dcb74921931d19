import Metrics
import XCTest

final class BinaryAUROCTests: XCTestCase {
    private struct Case: Decodable {
        let name: String
        let scores: [Double]
        let labels: [Int]
        let auroc: Double?
    }

    func testMatchesScikitLearnOnFixtureCases() throws {
        let cases: [Case] = try loadMetricsFixture("binary.json")
        XCTAssertEqual(cases.count, 7)
        for item in cases {
            assertClose(try AUROC.binary(scores: item.scores, labels: item.labels), item.auroc,
                        tolerance: parityTolerance, item.name)
        }
    }

    func testHandCheckedValues() throws {
        // Positives 0.35, 0.8 against negatives 0.1, 0.4: three of four pairs ordered correctly.
        XCTAssertEqual(try AUROC.binary(scores: [0.1, 0.4, 0.35, 0.8], labels: [0, 0, 1, 1]), 0.75)
        // One tie between a positive and a negative counts one half: (1 + ½) / 2.
        XCTAssertEqual(try AUROC.binary(scores: [0.2, 0.5, 0.5, 0.9], labels: [0, 0, 1, 1]), 0.875)
        XCTAssertEqual(try AUROC.binary(scores: [1, 2, 3], labels: [0, 1, 1]), 1)
        XCTAssertEqual(try AUROC.binary(scores: [3, 2, 1], labels: [0, 1, 1]), 0)
    }

    func testUndefinedWhenLabelsHoldOneValue() throws {
        XCTAssertNil(try AUROC.binary(scores: [0.3, 0.1], labels: [1, 1]))
        XCTAssertNil(try AUROC.binary(scores: [0.3], labels: [0]))
    }

    func testNegatedScoresGiveTheComplement() throws {
        let cases: [Case] = try loadMetricsFixture("binary.json")
        for item in cases {
            let auroc = try AUROC.binary(scores: item.scores, labels: item.labels)
            let negated = try AUROC.binary(scores: item.scores.map { -$0 }, labels: item.labels)
            assertClose(negated, auroc.map { 1 - $0 }, tolerance: 1e-15, item.name)
        }
    }

    func testInvariantToStrictlyIncreasingTransforms() throws {
        let cases: [Case] = try loadMetricsFixture("binary.json")
        let transforms: [(Double) -> Double] = [{ 2 * $0 }, { atan($0) }, { exp(3 * $0) }, { $0 * $0 * $0 - 7 }]
        for item in cases {
            let auroc = try AUROC.binary(scores: item.scores, labels: item.labels)
            for transform in transforms {
                XCTAssertEqual(try AUROC.binary(scores: item.scores.map(transform), labels: item.labels), auroc, item.name)
            }
        }
    }

    func testInvariantToRowOrder() throws {
        let scores = [0.9, 0.1, 0.5, 0.5, 0.3, 0.7, 0.2], labels = [1, 0, 1, 0, 0, 1, 1]
        let order = [3, 6, 0, 2, 5, 1, 4]
        XCTAssertEqual(try AUROC.binary(scores: order.map { scores[$0] }, labels: order.map { labels[$0] }),
                       try AUROC.binary(scores: scores, labels: labels))
    }

    func testBadInputThrows() {
        assertThrows(.empty(what: "scores"), try AUROC.binary(scores: [], labels: []))
        assertThrows(.lengthMismatch(what: "labels (one per score)", expected: 2, actual: 3),
                     try AUROC.binary(scores: [0.1, 0.2], labels: [0, 1, 1]))
        assertThrows(.nonFiniteScore(what: "scores", index: 1), try AUROC.binary(scores: [0.1, .nan], labels: [0, 1]))
        assertThrows(.nonFiniteScore(what: "scores", index: 0), try AUROC.binary(scores: [-.infinity, 1], labels: [0, 1]))
        assertThrows(.invalidBinaryLabel(index: 2, value: 2), try AUROC.binary(scores: [0.1, 0.2, 0.3], labels: [0, 1, 2]))
        assertThrows(.invalidBinaryLabel(index: 0, value: -1), try AUROC.binary(scores: [0.1, 0.2], labels: [-1, 1]))
    }

    func testErrorMessagesNameTheProblem() {
        XCTAssertEqual(MetricsError.invalidBinaryLabel(index: 2, value: 2).description, "label 2.0 at index 2 is not 0 or 1")
        XCTAssertEqual(MetricsError.lengthMismatch(what: "labels", expected: 2, actual: 3).description,
                       "labels: expected 2 entries, got 3")
    }
}
