import TensorCore
import TensorKernels

/// ML-kNN (Zhang & Zhou, "ML-KNN: A lazy learning approach to multi-label learning", Pattern Recognition 2007)
/// over cosine neighbours (`CosineNeighbourSearch`), with smoothing `s` (1 in the paper).
///
/// Fitting on support features `[n, D]` with 0/1 labels `y` `[n, L]`:
///
///     P(H1_l) = (s + Σᵢ y_il) / (2s + n),   P(H0_l) = 1 − P(H1_l)
///     c_il    = number of row i's k neighbours among the other support rows (itself excluded) with label l
///     c1[l][j] = #{i : y_il = 1, c_il = j},  c0[l][j] = #{i : y_il = 0, c_il = j}     (j = 0 … k)
///     P(E_j | H1_l) = (s + c1[l][j]) / (s(k + 1) + Σⱼ c1[l][j]),  P(E_j | H0_l) likewise with c0
///
/// A query whose k nearest support rows hold label l `C_l` times gets
///
///     probability_l = P(H1_l) P(E_C | H1_l) / (P(H1_l) P(E_C | H1_l) + P(H0_l) P(E_C | H0_l))
///
/// and prediction 1 when `P(H1_l) P(E_C | H1_l) ≥ P(H0_l) P(E_C | H0_l)` (so a probability of exactly
/// 0.5 predicts 1, as scikit-multilearn's `MLkNN.predict`). Fit once, then predict any number of query
/// sets; a query that is itself a support row can exclude itself, as during fitting.
///
/// Against scikit-multilearn 0.2.0's `MLkNN`: fitting here equals its `ignore_first_neighbours=1` (its
/// default 0 counts each training row among its own neighbours), and its `predict_proba` returns the
/// unnormalised `P(H1_l) P(E_C | H1_l)`, not `probability_l`.
public struct MultiLabelKNN: Sendable {
    /// Neighbours per query.
    public let k: Int
    /// The Laplace smoothing `s`.
    public let smoothing: Double
    /// Number of labels `L`.
    public let labelCount: Int
    /// `P(H1_l)`, `L` entries.
    public let priorPositive: [Double]
    /// `P(E_j | H1_l)` as `[l][j]`, `L × (k + 1)`.
    public let likelihoodPositive: [[Double]]
    /// `P(E_j | H0_l)` as `[l][j]`, `L × (k + 1)`.
    public let likelihoodNegative: [[Double]]
    /// The neighbour search over the support features.
    public let search: CosineNeighbourSearch
    /// The support labels, `[n, L]` row-major.
    private let labels: [Bool]

    /// Fits the priors and neighbour-count likelihoods on `support` (`[n, D]`) and `labels` (`[n, L]`,
    /// every entry exactly 0 or 1). Throws on empty or non-finite features, a label matrix of another
    /// row count, a label that is not 0/1 (NaN marks an unknown label, which the dataset's policy must
    /// resolve first), `k` outside `1...n − 1`, or a smoothing that is not positive.
    public init(support: Tensor, labels: Tensor, k: Int = 10, smoothing: Double = 1, context: ComputeContext,
                supportBlockRows: Int = 4096, queryBlockRows: Int = 64) throws {
        guard smoothing > 0, smoothing.isFinite else { throw NearestNeighboursError.invalidSmoothing(smoothing) }
        let search = try CosineNeighbourSearch(support: support, supportBlockRows: supportBlockRows,
                                               queryBlockRows: queryBlockRows)
        let n = search.supportCount
        guard labels.rank == 2 else { throw NearestNeighboursError.notAMatrix(set: "label", shape: labels.shape) }
        guard labels.shape[0] == n else { throw NearestNeighboursError.labelCountMismatch(labels: labels.shape[0], supportRows: n) }
        let labelCount = labels.shape[1]
        guard labelCount > 0 else { throw NearestNeighboursError.emptySet(set: "label") }
        let binary = try labels.withUnsafeBufferPointer { values in
            try values.enumerated().map { offset, value -> Bool in
                guard value == 0 || value == 1 else {
                    throw NearestNeighboursError.notBinaryLabel(row: offset / labelCount, column: offset % labelCount, value: value)
                }
                return value == 1
            }
        }

        let neighbours = try search.neighbours(of: support, k: k, excluding: Array(0..<n), context: context)
        let counts = Self.labelCounts(neighbours, labels: binary, labelCount: labelCount)
        var positiveTable = [[Int]](repeating: [Int](repeating: 0, count: k + 1), count: labelCount)
        var negativeTable = positiveTable
        var positives = [Int](repeating: 0, count: labelCount)
        for row in 0..<n {
            for label in 0..<labelCount {
                let count = counts[row * labelCount + label]
                if binary[row * labelCount + label] {
                    positiveTable[label][count] += 1
                    positives[label] += 1
                } else {
                    negativeTable[label][count] += 1
                }
            }
        }
        func likelihoods(_ table: [Int], rows: Int) -> [Double] {
            table.map { (smoothing + Double($0)) / (smoothing * Double(k + 1) + Double(rows)) }
        }
        self.k = k
        self.smoothing = smoothing
        self.labelCount = labelCount
        self.search = search
        self.labels = binary
        priorPositive = positives.map { (smoothing + Double($0)) / (2 * smoothing + Double(n)) }
        likelihoodPositive = (0..<labelCount).map { likelihoods(positiveTable[$0], rows: positives[$0]) }
        likelihoodNegative = (0..<labelCount).map { likelihoods(negativeTable[$0], rows: n - positives[$0]) }
    }

    /// Label probabilities and 0/1 predictions for `queries` (`[q, D]`).
    ///
    /// - Parameter excluded: optionally, per query, a support index to leave out of its `k` neighbours
    ///   (the query itself when it is a support row); `k` must then be at most `n − 1`.
    public func predict(_ queries: Tensor, excluding excluded: [Int?]? = nil,
                        context: ComputeContext) throws -> MultiLabelKNNPrediction {
        let neighbours = try search.neighbours(of: queries, k: k, excluding: excluded, context: context)
        let counts = Self.labelCounts(neighbours, labels: labels, labelCount: labelCount)
        var probabilities = [Float](repeating: 0, count: counts.count)
        var predictions = [Float](repeating: 0, count: counts.count)
        for (offset, count) in counts.enumerated() {
            let label = offset % labelCount
            let positive = priorPositive[label] * likelihoodPositive[label][count]
            let negative = (1 - priorPositive[label]) * likelihoodNegative[label][count]
            probabilities[offset] = Float(positive / (positive + negative))
            predictions[offset] = positive >= negative ? 1 : 0
        }
        let shape = [neighbours.queryCount, labelCount]
        return MultiLabelKNNPrediction(probabilities: Tensor(shape: shape, values: probabilities),
                                       predictions: Tensor(shape: shape, values: predictions))
    }

    /// `C[q][l]`: how many of query `q`'s neighbours carry label `l`, `[q, L]` row-major.
    private static func labelCounts(_ neighbours: NeighbourList, labels: [Bool], labelCount: Int) -> [Int] {
        var counts = [Int](repeating: 0, count: neighbours.queryCount * labelCount)
        for query in 0..<neighbours.queryCount {
            for index in neighbours.indices(ofQuery: query) {
                for label in 0..<labelCount where labels[index * labelCount + label] {
                    counts[query * labelCount + label] += 1
                }
            }
        }
        return counts
    }
}

/// ML-kNN output for `q` queries and `L` labels: `probabilities` `[q, L]` in `(0, 1)` and `predictions`
/// `[q, L]` of 0/1 (see `MultiLabelKNN` for both rules).
public struct MultiLabelKNNPrediction: Sendable {
    /// `P(H1_l | E_C)` per query and label, `[q, L]`.
    public let probabilities: Tensor
    /// 1 where the positive hypothesis wins (ties included), else 0; `[q, L]`.
    public let predictions: Tensor
}
