import TensorCore
import TensorKernels

/// Exact nearest neighbours by cosine similarity, computed in blocks so memory stays bounded.
///
/// Rows are compared as `torch.nn.functional.normalize` leaves them, `x / max(‖x‖₂, 1e-12)`:
/// `similarity(q, s) = (q / max(‖q‖, 1e-12)) · (s / max(‖s‖, 1e-12))`. Queries `[q, D]` are normalised
/// block by block; the support `[n, D]` is used as given and each similarity column is scaled by the
/// support row's inverse norm (computed once), which equals the product of normalised rows up to
/// float rounding. Products run through `BLAS.gemm`.
///
/// Each query keeps its `k` largest similarities, sorted descending; equal similarities are ordered by
/// lower support index (`torch.topk`, which the reference uses, leaves that order unspecified).
/// The support is streamed in blocks of `supportBlockRows` rows, updating a running top-`k` per query,
/// and fixed blocks of `queryBlockRows` queries are spread over the `ComputeContext` workers, so the
/// result does not depend on the number of workers (other block sizes change similarities only by
/// float rounding). Memory beyond the inputs and the `[q, k]` result: `n` inverse norms plus, per
/// worker, `queryBlockRows × (supportBlockRows + D)` floats (one similarity block and the normalised
/// queries), about 1.4 MB per worker at the defaults with `D = 1536`, whatever `n` and `q`.
public struct CosineNeighbourSearch: Sendable {
    /// The support features, `[n, D]`, as given (not normalised).
    public let support: Tensor
    /// Support rows `n`.
    public let supportCount: Int
    /// Feature length `D`.
    public let dimension: Int
    /// Support rows per similarity block.
    public let supportBlockRows: Int
    /// Queries per block of work (the unit spread over workers).
    public let queryBlockRows: Int
    /// `1 / max(‖s‖₂, 1e-12)` per support row.
    private let supportInverseNorms: [Float]

    /// Prepares a search over `support` (`[n, D]`, finite). Throws for an empty or non-matrix support,
    /// a non-finite value, or a block size below 1.
    public init(support: Tensor, supportBlockRows: Int = 4096, queryBlockRows: Int = 64) throws {
        guard supportBlockRows >= 1 else { throw NearestNeighboursError.invalidBlockRows(supportBlockRows) }
        guard queryBlockRows >= 1 else { throw NearestNeighboursError.invalidBlockRows(queryBlockRows) }
        let (rows, dimension) = try FeatureMatrix.validatedShape(support, set: "support")
        self.support = support
        self.supportCount = rows
        self.dimension = dimension
        self.supportBlockRows = supportBlockRows
        self.queryBlockRows = queryBlockRows
        supportInverseNorms = support.withUnsafeBufferPointer { values in
            (0..<rows).map { FeatureMatrix.inverseNorm(values.baseAddress! + $0 * dimension, dimension: dimension) }
        }
    }

    /// The `k` most similar support rows of every query row.
    ///
    /// - Parameters:
    ///   - queries: `[q, D]` finite features.
    ///   - k: neighbours per query, `1 ≤ k ≤ n` (`≤ n − 1` when a query has an excluded row).
    ///   - excluded: `nil`, or one entry per query: a support index that query must not return (the
    ///     query itself when the support set contains it), or `nil` for none.
    /// - Returns: `[q, k]` indices and similarities, highest similarity first.
    public func neighbours(of queries: Tensor, k: Int, excluding excluded: [Int?]? = nil,
                           context: ComputeContext) throws -> NeighbourList {
        let (queryCount, queryDimension) = try FeatureMatrix.validatedShape(queries, set: "query")
        guard queryDimension == dimension else {
            throw NearestNeighboursError.dimensionMismatch(support: dimension, queries: queryDimension)
        }
        let exclusions = try validatedExclusions(excluded, queryCount: queryCount)
        let available = exclusions.contains(where: { $0 >= 0 }) ? supportCount - 1 : supportCount
        guard k >= 1, k <= available else { throw NearestNeighboursError.invalidNeighbourCount(k: k, available: available) }

        var indices = [Int](repeating: 0, count: queryCount * k)
        var similarities = [Float](repeating: 0, count: queryCount * k)
        let blockCount = (queryCount + queryBlockRows - 1) / queryBlockRows
        queries.withUnsafeBufferPointer { queryValues in
            support.withUnsafeBufferPointer { supportValues in
                supportInverseNorms.withUnsafeBufferPointer { inverseNorms in
                    indices.withUnsafeMutableBufferPointer { indexOut in
                        similarities.withUnsafeMutableBufferPointer { similarityOut in
                            let output = (indices: indexOut.baseAddress!, similarities: similarityOut.baseAddress!)
                            context.parallelRanges(blockCount) { blocks in
                                searchQueryBlocks(blocks, queries: queryValues.baseAddress!, queryCount: queryCount,
                                                  support: supportValues.baseAddress!, inverseNorms: inverseNorms.baseAddress!,
                                                  exclusions: exclusions, k: k, output: output)
                            }
                        }
                    }
                }
            }
        }
        return NeighbourList(queryCount: queryCount, k: k, indices: indices, similarities: similarities)
    }

    /// One support index per query (`-1` for none), checked against the support set.
    private func validatedExclusions(_ excluded: [Int?]?, queryCount: Int) throws -> [Int] {
        guard let excluded else { return [Int](repeating: -1, count: queryCount) }
        guard excluded.count == queryCount else {
            throw NearestNeighboursError.exclusionCountMismatch(exclusions: excluded.count, queries: queryCount)
        }
        return try excluded.enumerated().map { query, index in
            guard let index else { return -1 }
            guard (0..<supportCount).contains(index) else {
                throw NearestNeighboursError.excludedIndexOutOfRange(query: query, index: index, supportRows: supportCount)
            }
            return index
        }
    }

    /// Runs the query blocks `blocks` (of `queryBlockRows` rows each) against the whole support, in
    /// one worker with its own scratch buffers, writing their rows of the output.
    private func searchQueryBlocks(
        _ blocks: Range<Int>, queries: UnsafePointer<Float>, queryCount: Int,
        support: UnsafePointer<Float>, inverseNorms: UnsafePointer<Float>, exclusions: [Int], k: Int,
        output: (indices: UnsafeMutablePointer<Int>, similarities: UnsafeMutablePointer<Float>)
    ) {
        let normalisedQueries = UnsafeMutablePointer<Float>.allocate(capacity: queryBlockRows * dimension)
        let block = UnsafeMutablePointer<Float>.allocate(capacity: queryBlockRows * min(supportBlockRows, supportCount))
        defer { normalisedQueries.deallocate(); block.deallocate() }

        for queryBlock in blocks {
            let firstQuery = queryBlock * queryBlockRows
            let rows = min(queryBlockRows, queryCount - firstQuery)
            for row in 0..<rows {
                let source = queries + (firstQuery + row) * dimension
                let scale = FeatureMatrix.inverseNorm(source, dimension: dimension)
                for i in 0..<dimension { normalisedQueries[row * dimension + i] = source[i] * scale }
            }
            var topK = (0..<rows).map { row in
                RunningTopK(similarities: output.similarities + (firstQuery + row) * k,
                            indices: output.indices + (firstQuery + row) * k, k: k)
            }
            var firstSupport = 0
            while firstSupport < supportCount {
                let columns = min(supportBlockRows, supportCount - firstSupport)
                BLAS.gemm(transposeB: true, m: rows, n: columns, k: dimension,
                          a: normalisedQueries, lda: dimension, b: support + firstSupport * dimension, ldb: dimension,
                          c: block, ldc: columns)
                for row in 0..<rows {
                    let excluded = exclusions[firstQuery + row]
                    let similarities = block + row * columns
                    for column in 0..<columns where firstSupport + column != excluded {
                        topK[row].offer(similarities[column] * inverseNorms[firstSupport + column], index: firstSupport + column)
                    }
                }
                firstSupport += columns
            }
        }
    }
}
