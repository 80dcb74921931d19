import NearestNeighbours
import TensorCore
import TensorKernels
import TestSupport
import XCTest

/// ML-kNN against scikit-multilearn's `MLkNN` (fixture), plus label checks.
final class MultiLabelKNNTests: XCTestCase {
    func fitted(_ reference: MLkNNReference, threads: Int = 2) throws -> MultiLabelKNN {
        try MultiLabelKNN(support: try Fixtures.array("knn/mlknn_support.npy"), labels: ReferenceFixtures.matrix(reference.labels),
                          k: reference.k, context: ComputeContext(threads: threads), supportBlockRows: 32, queryBlockRows: 16)
    }

    func testFittedTablesMatchScikitMultilearn() throws {
        let reference = try ReferenceFixtures.decode(MLkNNReference.self, "mlknn.json")
        let model = try fitted(reference)
        XCTAssertEqual(model.labelCount, 6)
        for (actual, expected) in zip(model.priorPositive, reference.priorPositive) { XCTAssertEqual(actual, expected, accuracy: 1e-12) }
        for (name, actual, expected) in [("positive", model.likelihoodPositive, reference.likelihoodPositive),
                                         ("negative", model.likelihoodNegative, reference.likelihoodNegative)] {
            XCTAssertEqual(actual.count, expected.count)
            for (actualRow, expectedRow) in zip(actual, expected) {
                XCTAssertEqual(actualRow.count, reference.k + 1)
                for (a, e) in zip(actualRow, expectedRow) { XCTAssertEqual(a, e, accuracy: 1e-12, name) }
            }
        }
    }

    func testQueryPredictionsMatchScikitMultilearn() throws {
        let reference = try ReferenceFixtures.decode(MLkNNReference.self, "mlknn.json")
        let prediction = try fitted(reference).predict(try Fixtures.array("knn/mlknn_queries.npy"), context: .serial)
        assertClose(prediction.probabilities, ReferenceFixtures.matrix(reference.queryProbabilities), tolerance: 1e-6, "probabilities")
        XCTAssertEqual(prediction.predictions.scalars, ReferenceFixtures.matrix(reference.queryPredictions).scalars)
        XCTAssertTrue(Set(prediction.predictions.scalars) == [0, 1], "the fixture has both outcomes")
    }

    func testSupportRowsExcludingThemselvesMatchScikitMultilearn() throws {
        let reference = try ReferenceFixtures.decode(MLkNNReference.self, "mlknn.json")
        let support = try Fixtures.array("knn/mlknn_support.npy")
        let prediction = try fitted(reference, threads: 3).predict(support, excluding: Array(0..<200), context: ComputeContext(threads: 2))
        assertClose(prediction.probabilities, ReferenceFixtures.matrix(reference.supportProbabilities), tolerance: 1e-6, "probabilities")
        XCTAssertEqual(prediction.predictions.scalars, ReferenceFixtures.matrix(reference.supportPredictions).scalars)
    }

    func testBadLabelsThrow() throws {
        let support = Tensor(shape: [3, 2], values: [1, 0, 0, 1, 1, 1])
        func expect(_ error: NearestNeighboursError, _ body: () throws -> Void, line: UInt = #line) {
            XCTAssertThrowsError(try body(), line: line) { XCTAssertEqual($0 as? NearestNeighboursError, error, line: line) }
        }
        func fit(_ labels: Tensor, k: Int = 1, smoothing: Double = 1) throws {
            _ = try MultiLabelKNN(support: support, labels: labels, k: k, smoothing: smoothing, context: .serial)
        }
        XCTAssertThrowsError(try fit(Tensor(shape: [3, 1], values: [1, .nan, 0]))) { error in
            guard case let .notBinaryLabel(row, column, value)? = error as? NearestNeighboursError else {
                return XCTFail("\(error)")
            }
            XCTAssertEqual([row, column], [1, 0])
            XCTAssertTrue(value.isNaN)
            XCTAssertTrue("\(error)".contains("label policy"), "\(error)")
        }
        expect(.notBinaryLabel(row: 2, column: 1, value: 2)) { try fit(Tensor(shape: [3, 2], values: [1, 0, 0, 1, 0, 2])) }
        expect(.notBinaryLabel(row: 0, column: 0, value: -1)) { try fit(Tensor(shape: [3, 1], values: [-1, 0, 1])) }
        expect(.labelCountMismatch(labels: 2, supportRows: 3)) { try fit(Tensor(shape: [2, 1], values: [1, 0])) }
        expect(.notAMatrix(set: "label", shape: [3])) { try fit(Tensor(shape: [3], values: [1, 0, 1])) }
        expect(.emptySet(set: "label")) { try fit(Tensor(shape: [3, 0])) }
        expect(.invalidNeighbourCount(k: 3, available: 2)) { try fit(Tensor(shape: [3, 1], values: [1, 0, 1]), k: 3) }
        expect(.invalidNeighbourCount(k: 0, available: 2)) { try fit(Tensor(shape: [3, 1], values: [1, 0, 1]), k: 0) }
        expect(.invalidSmoothing(0)) { try fit(Tensor(shape: [3, 1], values: [1, 0, 1]), smoothing: 0) }
    }
}
