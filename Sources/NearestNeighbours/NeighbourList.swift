/// The `k` nearest support rows of each query: `indices` and `similarities` are row-major `[queries, k]`,
/// each row sorted by cosine similarity, highest first (equal similarities: lower support index first).
public struct NeighbourList: Sendable, Equatable {
    /// Number of queries (rows).
    public let queryCount: Int
    /// Neighbours per query (columns).
    public let k: Int
    /// Support row indices, `[queryCount, k]` row-major.
    public let indices: [Int]
    /// Cosine similarities in `[-1, 1]`, `[queryCount, k]` row-major, matching `indices`.
    public let similarities: [Float]

    /// The neighbour indices of one query, nearest first.
    public func indices(ofQuery query: Int) -> ArraySlice<Int> {
        indices[query * k..<(query + 1) * k]
    }

    /// The neighbour similarities of one query, highest first.
    public func similarities(ofQuery query: Int) -> ArraySlice<Float> {
        similarities[query * k..<(query + 1) * k]
    }
}
