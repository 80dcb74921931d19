import Metrics
import XCTest

final class DeLongTestTests: XCTestCase {
    private struct Case: Decodable {
        let name: String
        let labels: [Int]
        let scoresA: [Double]
        let scoresB: [Double]
        let aurocA: Double
        let aurocB: Double
        let difference: Double
        let varianceA: Double
        let varianceB: Double
        let covariance: Double
        let variance: Double
        let z: Double
        let p: Double
    }

    func testMatchesTheNumpyReference() throws {
        let cases: [Case] = try loadMetricsFixture("delong.json")
        XCTAssertEqual(cases.count, 3)
        for item in cases {
            let result = try XCTUnwrap(DeLongTest.compare(scoresA: item.scoresA, scoresB: item.scoresB, labels: item.labels))
            assertClose(result.aurocA, item.aurocA, tolerance: parityTolerance, item.name)
            assertClose(result.aurocB, item.aurocB, tolerance: parityTolerance, item.name)
            assertClose(result.difference, item.difference, tolerance: parityTolerance, item.name)
            assertClose(result.varianceA, item.varianceA, tolerance: parityTolerance, item.name)
            assertClose(result.varianceB, item.varianceB, tolerance: parityTolerance, item.name)
            assertClose(result.covariance, item.covariance, tolerance: parityTolerance, item.name)
            assertClose(result.variance, item.variance, tolerance: parityTolerance, item.name)
            // z divides by √variance (~0.05), so its agreement is looser by that factor; p follows z.
            assertClose(result.zScore, item.z, tolerance: 1e-10, item.name)
            assertClose(result.pValue, item.p, tolerance: 1e-12, item.name)
        }
    }

    func testSwappingModelsNegatesTheDifference() throws {
        let cases: [Case] = try loadMetricsFixture("delong.json")
        let item = cases[0]
        let forward = try XCTUnwrap(DeLongTest.compare(scoresA: item.scoresA, scoresB: item.scoresB, labels: item.labels))
        let backward = try XCTUnwrap(DeLongTest.compare(scoresA: item.scoresB, scoresB: item.scoresA, labels: item.labels))
        XCTAssertEqual(backward.difference, -forward.difference)
        XCTAssertEqual(backward.pValue, forward.pValue)
        XCTAssertEqual(try AUROC.binary(scores: item.scoresA, labels: item.labels), forward.aurocA)
    }

    func testIdenticalModelsHaveNoTest() throws {
        let scores = [0.1, 0.7, 0.3, 0.9, 0.5, 0.2]
        let result = try XCTUnwrap(DeLongTest.compare(scoresA: scores, scoresB: scores, labels: [0, 1, 0, 1, 1, 0]))
        XCTAssertEqual(result.difference, 0)
        XCTAssertEqual(result.variance, 0)
        XCTAssertNil(result.zScore)
        XCTAssertNil(result.pValue)
    }

    func testUndefinedWithFewerThanTwoCasesPerClass() throws {
        XCTAssertNil(try DeLongTest.compare(scoresA: [0.1, 0.2, 0.9], scoresB: [0.3, 0.2, 0.1], labels: [0, 0, 1]))
        XCTAssertNil(try DeLongTest.compare(scoresA: [0.1, 0.2], scoresB: [0.3, 0.2], labels: [1, 1]))
    }

    func testBadInputThrows() {
        assertThrows(.empty(what: "labels"), try DeLongTest.compare(scoresA: [], scoresB: [], labels: []))
        assertThrows(.lengthMismatch(what: "scores of model B (one per label)", expected: 2, actual: 1),
                     try DeLongTest.compare(scoresA: [0.1, 0.2], scoresB: [0.1], labels: [0, 1]))
        assertThrows(.nonFiniteScore(what: "scores of model A", index: 0),
                     try DeLongTest.compare(scoresA: [.infinity, 0.2], scoresB: [0.1, 0.2], labels: [0, 1]))
        assertThrows(.invalidBinaryLabel(index: 1, value: 3),
                     try DeLongTest.compare(scoresA: [0.1, 0.2], scoresB: [0.1, 0.2], labels: [0, 3]))
    }
}
