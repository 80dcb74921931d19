/// Checks shared by the metrics: each throws a `MetricsError` naming the offending input.
enum InputValidation {
    static func requireNonEmpty(_ count: Int, _ what: String) throws {
        guard count > 0 else { throw MetricsError.empty(what: what) }
    }

    static func requireLength(_ actual: Int, equalTo expected: Int, _ what: String) throws {
        guard actual == expected else { throw MetricsError.lengthMismatch(what: what, expected: expected, actual: actual) }
    }

    static func requireFinite(_ scores: [Double], _ what: String) throws {
        if let index = scores.firstIndex(where: { !$0.isFinite }) {
            throw MetricsError.nonFiniteScore(what: what, index: index)
        }
    }

    /// Labels 0/1 as booleans (`true` = positive).
    static func binaryLabels(_ labels: [Int]) throws -> [Bool] {
        try labels.enumerated().map { index, label in
            guard label == 0 || label == 1 else { throw MetricsError.invalidBinaryLabel(index: index, value: Double(label)) }
            return label == 1
        }
    }

    static func requireClassLabels(_ labels: [Int], classCount: Int) throws {
        if let index = labels.firstIndex(where: { !(0..<classCount).contains($0) }) {
            throw MetricsError.invalidClassLabel(index: index, value: labels[index], classCount: classCount)
        }
    }

    /// Scores `[n, C]` and a per-row label list of length `n`, both non-empty, scores finite.
    static func requireScoreMatrix(_ scores: DoubleMatrix, rowsMatching labelCount: Int) throws {
        try requireNonEmpty(scores.rows, "the score matrix's rows")
        try requireNonEmpty(scores.columns, "the score matrix's classes")
        try requireLength(labelCount, equalTo: scores.rows, "labels (one per score row)")
        try requireFinite(scores.values, "the score matrix")
    }
}
