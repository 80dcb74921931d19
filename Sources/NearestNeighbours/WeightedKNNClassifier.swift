import Foundation
import TensorCore
import TensorKernels

/// DINOv2's kNN classifier (`KnnModule` in `dinov2/eval/knn.py`): cosine neighbours voting with
/// softmax-weighted one-hot labels, for several neighbour counts at once.
///
/// For each query, with `K = max(neighbourCounts)` and its `K` most similar support rows
/// `s₁ ≥ … ≥ s_K` (see `CosineNeighbourSearch`) carrying labels `y₁ … y_K`:
///
///     wᵢ = exp(sᵢ / T) / Σ_{j ≤ K} exp(sⱼ / T)          (one softmax over all K neighbours)
///     score_k[c] = Σ_{i ≤ k} wᵢ · [yᵢ = c]              for each k in neighbourCounts
///
/// **The softmax is taken once over the `max(k)` neighbours and the smaller `k` only truncate its sum**,
/// exactly as the reference does: for `k < max(k)` the scores of a query sum to less than 1. They are
/// not probabilities; the reference ranks classes by them (top-1 = argmax) for each k.
public struct WeightedKNNClassifier: Sendable {
    /// The neighbour search over the support features `[n, D]`.
    public let search: CosineNeighbourSearch
    /// The class index `0..<classCount` of each support row.
    public let labels: [Int]
    /// Number of classes `C` (the width of the score matrices).
    public let classCount: Int

    /// A classifier over `support` (`[n, D]`) with one class index per row. `classCount` defaults to
    /// `max(labels) + 1`, as the reference's `num_classes`. Throws on empty or non-finite features, a
    /// label count that differs from `n`, or a label outside `0..<classCount`.
    public init(support: Tensor, labels: [Int], classCount: Int? = nil,
                supportBlockRows: Int = 4096, queryBlockRows: Int = 64) throws {
        let search = try CosineNeighbourSearch(support: support, supportBlockRows: supportBlockRows,
                                               queryBlockRows: queryBlockRows)
        guard labels.count == search.supportCount else {
            throw NearestNeighboursError.labelCountMismatch(labels: labels.count, supportRows: search.supportCount)
        }
        let classes = classCount ?? (labels.max()! + 1)
        guard classes >= 1 else { throw NearestNeighboursError.invalidClassCount(classes) }
        if let row = labels.firstIndex(where: { !(0..<classes).contains($0) }) {
            throw NearestNeighboursError.classLabelOutOfRange(row: row, label: labels[row], classCount: classes)
        }
        self.search = search
        self.labels = labels
        self.classCount = classes
    }

    /// Class scores of every query for each neighbour count.
    ///
    /// - Parameters:
    ///   - queries: `[q, D]` finite features.
    ///   - neighbourCounts: distinct values of `k`, each `≥ 1` and at most the support rows available.
    ///   - temperature: `T > 0` (the reference's default is 0.07).
    ///   - excluded: optionally, per query, a support index to leave out (the query itself when the
    ///     support set contains it); see `CosineNeighbourSearch.neighbours(of:k:excluding:context:)`.
    /// - Returns: one `KNNClassScores` per entry of `neighbourCounts`, in the same order.
    public func classify(_ queries: Tensor, neighbourCounts: [Int] = [10, 20, 100, 200], temperature: Float = 0.07,
                         excluding excluded: [Int?]? = nil, context: ComputeContext) throws -> [KNNClassScores] {
        guard !neighbourCounts.isEmpty, Set(neighbourCounts).count == neighbourCounts.count else {
            throw NearestNeighboursError.invalidNeighbourCounts(neighbourCounts)
        }
        guard temperature > 0, temperature.isFinite else { throw NearestNeighboursError.invalidTemperature(temperature) }
        let largest = neighbourCounts.max()!
        if let bad = neighbourCounts.first(where: { $0 < 1 }) {
            throw NearestNeighboursError.invalidNeighbourCount(k: bad, available: search.supportCount)
        }
        let neighbours = try search.neighbours(of: queries, k: largest, excluding: excluded, context: context)
        let queryCount = neighbours.queryCount
        var scores = neighbourCounts.map { _ in [Float](repeating: 0, count: queryCount * classCount) }

        // Which requested counts end at each neighbour rank (1-based), to snapshot the running sums.
        var countsEndingAt = [[Int]](repeating: [], count: largest + 1)
        for (position, k) in neighbourCounts.enumerated() { countsEndingAt[k].append(position) }

        var weights = [Double](repeating: 0, count: largest)
        var running = [Double](repeating: 0, count: classCount)
        for query in 0..<queryCount {
            softmax(neighbours.similarities(ofQuery: query), temperature: Double(temperature), into: &weights)
            for c in 0..<classCount { running[c] = 0 }
            for (rank, index) in neighbours.indices(ofQuery: query).enumerated() {
                running[labels[index]] += weights[rank]
                for position in countsEndingAt[rank + 1] {
                    for c in 0..<classCount { scores[position][query * classCount + c] = Float(running[c]) }
                }
            }
        }
        return zip(neighbourCounts, scores).map { k, values in
            KNNClassScores(k: k, scores: Tensor(shape: [queryCount, classCount], values: values))
        }
    }

    /// `exp(sᵢ / T − s₁ / T) / Σⱼ exp(sⱼ / T − s₁ / T)`, with `s₁` the largest similarity (sorted input).
    private func softmax(_ similarities: ArraySlice<Float>, temperature: Double, into weights: inout [Double]) {
        let largest = Double(similarities.first!) / temperature
        var total = 0.0
        for (rank, similarity) in similarities.enumerated() {
            weights[rank] = exp(Double(similarity) / temperature - largest)
            total += weights[rank]
        }
        for rank in weights.indices { weights[rank] /= total }
    }
}

/// The class scores for one neighbour count `k`: `scores` is `[q, C]` (see `WeightedKNNClassifier`
/// for the formula; rows sum to 1 only for `k = max(k)`), `predictions` the top-1 class of each query
/// (the highest score; equal scores go to the lower class index).
public struct KNNClassScores: Sendable {
    /// The neighbour count these scores sum over.
    public let k: Int
    /// `[q, C]` softmax-weighted votes.
    public let scores: Tensor
    /// Top-1 class per query, `q` entries.
    public let predictions: [Int]

    init(k: Int, scores: Tensor) {
        self.k = k
        self.scores = scores
        let classes = scores.shape[1]
        predictions = scores.withUnsafeBufferPointer { values in
            (0..<scores.shape[0]).map { query in
                let row = values[query * classes..<(query + 1) * classes]
                var best = row.startIndex
                for index in row.indices where row[index] > row[best] { best = index }
                return best - row.startIndex
            }
        }
    }
}
