import NearestNeighbours
import TensorCore
import TensorKernels
import TestSupport
import XCTest

/// The blocked cosine search: parity with torch's `mm` + `topk`, independence from block sizes and
/// worker counts, tie order, exclusion and input errors.
final class CosineNeighbourSearchTests: XCTestCase {
    func fixtureFeatures() throws -> (support: Tensor, queries: Tensor) {
        (try Fixtures.array("knn/knn_support.npy"), try Fixtures.array("knn/knn_queries.npy"))
    }

    func testMatchesTorchTopK() throws {
        let (support, queries) = try fixtureFeatures()
        let reference = try ReferenceFixtures.decode(DINOv2KNNReference.self, "knn.json")
        let search = try CosineNeighbourSearch(support: support)
        let result = try search.neighbours(of: queries, k: 20, context: ComputeContext(threads: 2))
        XCTAssertEqual(result.queryCount, 40)
        XCTAssertEqual(result.indices, reference.neighbourIndices.flatMap { $0 })
        assertClose(Tensor(shape: [40, 20], values: result.similarities),
                    ReferenceFixtures.matrix(reference.neighbourSimilarities), tolerance: 1e-6, "similarities")
    }

    func testTinyBlocksGiveTheNeighboursOfOneBlock() throws {
        let (support, queries) = try fixtureFeatures()
        let context = ComputeContext(threads: 2)
        let whole = try CosineNeighbourSearch(support: support, supportBlockRows: 300, queryBlockRows: 40)
            .neighbours(of: queries, k: 25, context: context)
        let tiny = try CosineNeighbourSearch(support: support, supportBlockRows: 7, queryBlockRows: 3)
            .neighbours(of: queries, k: 25, context: context)
        XCTAssertEqual(tiny.indices, whole.indices)
        assertClose(Tensor(shape: [40, 25], values: tiny.similarities), Tensor(shape: [40, 25], values: whole.similarities),
                    tolerance: 1e-6, "similarities")
    }

    func testResultDoesNotDependOnTheWorkers() throws {
        let (support, queries) = try fixtureFeatures()
        let search = try CosineNeighbourSearch(support: support, supportBlockRows: 64, queryBlockRows: 4)
        let serial = try search.neighbours(of: queries, k: 10, context: .serial)
        for threads in [2, 3, 7] {
            XCTAssertEqual(try search.neighbours(of: queries, k: 10, context: ComputeContext(threads: threads)), serial,
                           "\(threads) workers")
        }
    }

    func testEqualSimilaritiesGoToTheLowerIndexAcrossBlocks() throws {
        // Rows e0, e1, 2·e0, e2, e0: the query e0 is equally similar (exactly 1) to rows 0, 2 and 4.
        let support = Tensor(shape: [5, 3], values: [1, 0, 0, 0, 1, 0, 2, 0, 0, 0, 0, 1, 1, 0, 0])
        let query = Tensor(shape: [1, 3], values: [3, 0, 0])
        for blockRows in [1, 2, 5] {
            let result = try CosineNeighbourSearch(support: support, supportBlockRows: blockRows)
                .neighbours(of: query, k: 4, context: .serial)
            XCTAssertEqual(result.indices, [0, 2, 4, 1], "support blocks of \(blockRows)")
            XCTAssertEqual(result.similarities, [1, 1, 1, 0])
        }
    }

    func testExclusionLeavesOutOneRowPerQuery() throws {
        let (support, _) = try fixtureFeatures()
        let search = try CosineNeighbourSearch(support: support, supportBlockRows: 50)
        let queries = support.slice(outer: 10..<20)
        let own = try search.neighbours(of: queries, k: 6, context: .serial)
        XCTAssertEqual(Array(0..<10).map { own.indices(ofQuery: $0).first }, Array(10..<20))
        let excluded = try search.neighbours(of: queries, k: 5, excluding: (10..<20).map { $0 }, context: .serial)
        for query in 0..<10 {
            XCTAssertEqual(Array(excluded.indices(ofQuery: query)), Array(own.indices(ofQuery: query).dropFirst()))
        }
        let some = try search.neighbours(of: queries, k: 5, excluding: [nil, 11] + [Int?](repeating: nil, count: 8),
                                         context: .serial)
        XCTAssertEqual(some.indices(ofQuery: 0).first, 10)
        XCTAssertEqual(Array(some.indices(ofQuery: 1)), Array(excluded.indices(ofQuery: 1)))
    }

    func testZeroRowsHaveSimilarityZero() throws {
        let support = Tensor(shape: [2, 2], values: [0, 0, 1, 1])
        let result = try CosineNeighbourSearch(support: support)
            .neighbours(of: Tensor(shape: [2, 2], values: [0, 0, -1, 0]), k: 2, context: .serial)
        XCTAssertEqual(result.indices, [0, 1, 0, 1])
        XCTAssertEqual(result.similarities[0...2], [0, 0, 0])
        XCTAssertEqual(result.similarities[3], -Float(0.5).squareRoot(), accuracy: 1e-6)
    }

    func testBadInputThrows() throws {
        let support = Tensor(shape: [4, 2], values: [1, 0, 0, 1, 1, 1, -1, 0])
        let search = try CosineNeighbourSearch(support: support)
        let query = Tensor(shape: [1, 2], values: [1, 2])
        func expect(_ error: NearestNeighboursError, _ body: () throws -> Void, line: UInt = #line) {
            XCTAssertThrowsError(try body(), line: line) { XCTAssertEqual($0 as? NearestNeighboursError, error, line: line) }
        }
        expect(.invalidNeighbourCount(k: 0, available: 4)) { _ = try search.neighbours(of: query, k: 0, context: .serial) }
        expect(.invalidNeighbourCount(k: 5, available: 4)) { _ = try search.neighbours(of: query, k: 5, context: .serial) }
        expect(.invalidNeighbourCount(k: 4, available: 3)) {
            _ = try search.neighbours(of: query, k: 4, excluding: [2], context: .serial)
        }
        expect(.dimensionMismatch(support: 2, queries: 3)) {
            _ = try search.neighbours(of: Tensor(shape: [1, 3]), k: 1, context: .serial)
        }
        expect(.emptySet(set: "query")) { _ = try search.neighbours(of: Tensor(shape: [0, 2]), k: 1, context: .serial) }
        expect(.emptySet(set: "support")) { _ = try CosineNeighbourSearch(support: Tensor(shape: [0, 2])) }
        expect(.notAMatrix(set: "support", shape: [8])) { _ = try CosineNeighbourSearch(support: Tensor(shape: [8])) }
        expect(.nonFiniteFeature(set: "query", row: 1, column: 0)) {
            _ = try search.neighbours(of: Tensor(shape: [2, 2], values: [1, 1, .nan, 1]), k: 1, context: .serial)
        }
        expect(.nonFiniteFeature(set: "support", row: 0, column: 1)) {
            _ = try CosineNeighbourSearch(support: Tensor(shape: [1, 2], values: [1, .infinity]))
        }
        expect(.exclusionCountMismatch(exclusions: 2, queries: 1)) {
            _ = try search.neighbours(of: query, k: 1, excluding: [0, 1], context: .serial)
        }
        expect(.excludedIndexOutOfRange(query: 0, index: 4, supportRows: 4)) {
            _ = try search.neighbours(of: query, k: 1, excluding: [4], context: .serial)
        }
        expect(.invalidBlockRows(0)) { _ = try CosineNeighbourSearch(support: support, supportBlockRows: 0) }
        XCTAssertTrue(NearestNeighboursError.invalidNeighbourCount(k: 5, available: 4).description.contains("k = 5"))
    }
}
