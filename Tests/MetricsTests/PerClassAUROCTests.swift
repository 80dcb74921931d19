import Metrics
import XCTest

final class PerClassAUROCTests: XCTestCase {
    private struct MultiLabelCase: Decodable {
        let name: String
        let rows: Int
        let columns: Int
        let scores: [Double]
        let labels: [Double?]
        let perClass: [Double?]
        let positives: [Int]
        let undefined: [Int]
        let macro: Double
        let weighted: Double
        let micro: Double
    }

    private struct MultiClassCase: Decodable {
        let name: String
        let rows: Int
        let columns: Int
        let scores: [Double]
        let labels: [Int]
        let perClass: [Double?]
        let support: [Int]
        let macro: Double
        let weighted: Double
        let micro: Double
        let accuracy: Double
        let balancedAccuracy: Double
    }

    private func assertMatches(_ result: PerClassAUROC, perClass: [Double?], positives: [Int], macro: Double,
                               weighted: Double, micro: Double, _ name: String) {
        XCTAssertEqual(result.perClass.count, perClass.count, name)
        for (index, (actual, expected)) in zip(result.perClass, perClass).enumerated() {
            assertClose(actual, expected, tolerance: parityTolerance, "\(name) class \(index)")
        }
        XCTAssertEqual(result.positives, positives, name)
        XCTAssertEqual(result.undefinedClasses, perClass.indices.filter { perClass[$0] == nil }, name)
        assertClose(result.macro, macro, tolerance: parityTolerance, "\(name) macro")
        assertClose(result.weighted, weighted, tolerance: parityTolerance, "\(name) weighted")
        assertClose(result.micro, micro, tolerance: parityTolerance, "\(name) micro")
    }

    func testMultiLabelMatchesScikitLearn() throws {
        let cases: [MultiLabelCase] = try loadMetricsFixture("multilabel.json")
        XCTAssertEqual(cases.count, 2)
        for item in cases {
            let scores = try DoubleMatrix(rows: item.rows, columns: item.columns, values: item.scores)
            let labels = try DoubleMatrix(rows: item.rows, columns: item.columns, values: item.labels.map { $0 ?? .nan })
            let result = try AUROC.multiLabel(scores: scores, labels: labels)
            XCTAssertFalse(item.undefined.isEmpty, "\(item.name) should exercise an undefined class")
            XCTAssertEqual(result.undefinedClasses, item.undefined, item.name)
            assertMatches(result, perClass: item.perClass, positives: item.positives, macro: item.macro,
                          weighted: item.weighted, micro: item.micro, item.name)
        }
    }

    func testOneVsRestMatchesScikitLearn() throws {
        let cases: [MultiClassCase] = try loadMetricsFixture("multiclass.json")
        XCTAssertEqual(cases.count, 2)
        for item in cases {
            let scores = try DoubleMatrix(rows: item.rows, columns: item.columns, values: item.scores)
            let result = try AUROC.oneVsRest(scores: scores, labels: item.labels)
            assertMatches(result, perClass: item.perClass, positives: item.support, macro: item.macro,
                          weighted: item.weighted, micro: item.micro, item.name)
        }
    }

    func testAccuracyMatchesScikitLearn() throws {
        let cases: [MultiClassCase] = try loadMetricsFixture("multiclass.json")
        for item in cases {
            let scores = try DoubleMatrix(rows: item.rows, columns: item.columns, values: item.scores)
            assertClose(try Accuracy.overall(scores: scores, labels: item.labels), item.accuracy,
                        tolerance: parityTolerance, item.name)
            assertClose(try Accuracy.balanced(scores: scores, labels: item.labels), item.balancedAccuracy,
                        tolerance: parityTolerance, item.name)
        }
    }

    func testHandCheckedMultiLabel() throws {
        // Class 0: AUROC 1; class 1: unknown entry dropped, AUROC 1; class 2: one label value, undefined.
        let scores = try DoubleMatrix(rowArrays: [[0.9, 0.2, 0.5], [0.1, 0.8, 0.4], [0.7, 0.3, 0.1], [0.2, 0.1, 0.3]])
        let labels = try DoubleMatrix(rowArrays: [[1, 0, 1], [0, 1, 1], [1, .nan, 1], [0, 0, .nan]])
        let result = try AUROC.multiLabel(scores: scores, labels: labels, classNames: ["effusion", "nodule", "mass"])
        XCTAssertEqual(result.perClass, [1, 1, nil])
        XCTAssertEqual(result.positives, [2, 1, 3])
        XCTAssertEqual(result.undefinedClasses, [2])
        XCTAssertEqual(result.undefinedClassNames, ["mass"])
        XCTAssertEqual(result.macro, 1)
        XCTAssertEqual(result.weighted, 1)
        // Pooled: 6 positives {0.9, 0.7, 0.8, 0.5, 0.4, 0.1} against 4 negatives {0.1, 0.2, 0.2, 0.1}.
        XCTAssertEqual(result.micro, (5 * 4 + 0.5 * 2) / 24)
    }

    func testArgmaxTiesPickTheFirstMaximum() throws {
        let scores = try DoubleMatrix(rowArrays: [[0.4, 0.4, 0.2], [0.1, 0.45, 0.45], [0.3, 0.3, 0.4]])
        XCTAssertEqual(Accuracy.predictedClasses(scores), [0, 1, 2])
        XCTAssertEqual(try Accuracy.overall(scores: scores, labels: [1, 1, 2]), 2.0 / 3)
        // Recalls: class 0 absent from the truth (ignored), class 1: 1/2, class 2: 1/1.
        XCTAssertEqual(try Accuracy.balanced(scores: scores, labels: [1, 1, 2]), 0.75)
    }

    func testNoDefinedClassLeavesAveragesUndefined() throws {
        let scores = try DoubleMatrix(rowArrays: [[0.2, 0.8], [0.6, 0.4]])
        let result = try AUROC.oneVsRest(scores: scores, labels: [1, 1])
        XCTAssertEqual(result.perClass, [nil, nil])
        XCTAssertEqual(result.undefinedClasses, [0, 1])
        XCTAssertNil(result.macro)
        XCTAssertNil(result.weighted)
        // One-hot pooled: positives {0.8, 0.4} against negatives {0.2, 0.6}.
        XCTAssertEqual(result.micro, 0.75)
    }

    func testBadInputThrows() throws {
        let scores = try DoubleMatrix(rowArrays: [[0.2, 0.8], [0.6, 0.4]])
        assertThrows(.invalidShape(rows: 2, columns: 2, valueCount: 3), try DoubleMatrix(rows: 2, columns: 2, values: [1, 2, 3]))
        assertThrows(.lengthMismatch(what: "row 1 of the matrix", expected: 2, actual: 1), try DoubleMatrix(rowArrays: [[1, 2], [3]]))
        assertThrows(.empty(what: "the score matrix's rows"),
                     try AUROC.multiLabel(scores: DoubleMatrix(rowArrays: []), labels: DoubleMatrix(rowArrays: [])))
        assertThrows(.lengthMismatch(what: "labels (one per score row)", expected: 2, actual: 1),
                     try AUROC.multiLabel(scores: scores, labels: DoubleMatrix(rowArrays: [[0, 1]])))
        assertThrows(.lengthMismatch(what: "label matrix columns (one per score column)", expected: 2, actual: 1),
                     try AUROC.multiLabel(scores: scores, labels: DoubleMatrix(rowArrays: [[0], [1]])))
        assertThrows(.invalidBinaryLabel(index: 1, value: 0.5),
                     try AUROC.multiLabel(scores: scores, labels: DoubleMatrix(rowArrays: [[0, 0.5], [1, 0]])))
        assertThrows(.nonFiniteScore(what: "the score matrix", index: 3),
                     try AUROC.oneVsRest(scores: DoubleMatrix(rowArrays: [[0.2, 0.8], [0.6, .nan]]), labels: [0, 1]))
        assertThrows(.invalidClassLabel(index: 1, value: 2, classCount: 2), try AUROC.oneVsRest(scores: scores, labels: [0, 2]))
        assertThrows(.invalidClassLabel(index: 0, value: -1, classCount: 2), try Accuracy.overall(scores: scores, labels: [-1, 0]))
        assertThrows(.lengthMismatch(what: "labels (one per score row)", expected: 2, actual: 3),
                     try Accuracy.balanced(scores: scores, labels: [0, 1, 1]))
        assertThrows(.lengthMismatch(what: "class names (one per score column)", expected: 2, actual: 1),
                     try AUROC.oneVsRest(scores: scores, labels: [0, 1], classNames: ["only"]))
    }
}
