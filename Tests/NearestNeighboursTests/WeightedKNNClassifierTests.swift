import NearestNeighbours
import TensorCore
import TensorKernels
import TestSupport
import XCTest

/// DINOv2's kNN protocol against the official `KnnModule` (fixture), plus exclusion and input errors.
final class WeightedKNNClassifierTests: XCTestCase {
    func testScoresMatchDINOv2KnnModule() throws {
        let reference = try ReferenceFixtures.decode(DINOv2KNNReference.self, "knn.json")
        let classifier = try WeightedKNNClassifier(support: try Fixtures.array("knn/knn_support.npy"),
                                                   labels: reference.labels, supportBlockRows: 64)
        XCTAssertEqual(classifier.classCount, 5)
        let results = try classifier.classify(try Fixtures.array("knn/knn_queries.npy"), neighbourCounts: reference.nbKnn,
                                              temperature: reference.temperature, context: ComputeContext(threads: 2))
        XCTAssertEqual(results.map(\.k), reference.nbKnn)
        for result in results {
            let expected = reference.scores[String(result.k)]!
            assertClose(result.scores, ReferenceFixtures.matrix(expected), tolerance: 1e-5, "k = \(result.k)")
            let expectedTop1 = expected.map { row in row.indices.max { row[$0] < row[$1] }! }
            XCTAssertEqual(result.predictions, expectedTop1, "k = \(result.k)")
        }
        // The softmax runs over max(k) neighbours: smaller k truncate it, so their rows sum to less than 1.
        let rowSums = results.map { result in result.scores.scalars.reduce(0, +) / 40 }
        XCTAssertEqual(rowSums[2], 1, accuracy: 1e-5)
        XCTAssertLessThan(rowSums[1], 0.99)
    }

    func testExcludingARowEqualsRemovingIt() throws {
        let reference = try ReferenceFixtures.decode(DINOv2KNNReference.self, "knn.json")
        let support = try Fixtures.array("knn/knn_support.npy")
        let left = 17
        let classifier = try WeightedKNNClassifier(support: support, labels: reference.labels)
        let withoutRow = try WeightedKNNClassifier(
            support: Tensor.concatenate([support.slice(outer: 0..<left), support.slice(outer: left + 1..<300)]),
            labels: Array(reference.labels[..<left] + reference.labels[(left + 1)...]), classCount: 5)
        let query = support.slice(outer: left..<left + 1)
        let excluded = try classifier.classify(query, neighbourCounts: [3, 12], excluding: [left], context: .serial)
        let removed = try withoutRow.classify(query, neighbourCounts: [3, 12], context: .serial)
        for (a, b) in zip(excluded, removed) { assertClose(a.scores, b.scores, tolerance: 1e-6, "k = \(a.k)") }
        let included = try classifier.classify(query, neighbourCounts: [1], context: .serial)[0]
        XCTAssertEqual(included.scores[0, reference.labels[left]], 1, accuracy: 1e-6, "the row itself has all the weight")
    }

    func testEqualScoresPredictTheLowerClass() throws {
        // Two neighbours at exactly equal similarity with classes 2 and 1.
        let support = Tensor(shape: [3, 2], values: [1, 1, 1, -1, -1, 0])
        let classifier = try WeightedKNNClassifier(support: support, labels: [2, 1, 0])
        let result = try classifier.classify(Tensor(shape: [1, 2], values: [1, 0]), neighbourCounts: [2],
                                             temperature: 0.5, context: .serial)[0]
        XCTAssertEqual(result.scores[0, 1], result.scores[0, 2])
        XCTAssertEqual(result.predictions, [1])
    }

    func testBadInputThrows() throws {
        let support = Tensor(shape: [3, 2], values: [1, 0, 0, 1, 1, 1])
        let query = Tensor(shape: [1, 2], values: [1, 2])
        func expect(_ error: NearestNeighboursError, _ body: () throws -> Void, line: UInt = #line) {
            XCTAssertThrowsError(try body(), line: line) { XCTAssertEqual($0 as? NearestNeighboursError, error, line: line) }
        }
        expect(.labelCountMismatch(labels: 2, supportRows: 3)) { _ = try WeightedKNNClassifier(support: support, labels: [0, 1]) }
        expect(.classLabelOutOfRange(row: 1, label: -1, classCount: 3)) {
            _ = try WeightedKNNClassifier(support: support, labels: [2, -1, 0])
        }
        expect(.classLabelOutOfRange(row: 0, label: 2, classCount: 2)) {
            _ = try WeightedKNNClassifier(support: support, labels: [2, 1, 0], classCount: 2)
        }
        let classifier = try WeightedKNNClassifier(support: support, labels: [0, 1, 1])
        expect(.invalidTemperature(0)) { _ = try classifier.classify(query, neighbourCounts: [1], temperature: 0, context: .serial) }
        expect(.invalidTemperature(-.infinity)) {
            _ = try classifier.classify(query, neighbourCounts: [1], temperature: -.infinity, context: .serial)
        }
        expect(.invalidNeighbourCounts([])) { _ = try classifier.classify(query, neighbourCounts: [], context: .serial) }
        expect(.invalidNeighbourCounts([2, 2])) { _ = try classifier.classify(query, neighbourCounts: [2, 2], context: .serial) }
        expect(.invalidNeighbourCount(k: 0, available: 3)) { _ = try classifier.classify(query, neighbourCounts: [0, 2], context: .serial) }
        expect(.invalidNeighbourCount(k: 4, available: 3)) { _ = try classifier.classify(query, neighbourCounts: [1, 4], context: .serial) }
    }
}
