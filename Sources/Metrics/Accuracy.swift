/// Accuracy of a multi-class classifier from its scores `[n, C]` and true class indices in `0..<C`.
/// The predicted class of a row is its highest-scoring column, the first one on ties (as `numpy.argmax`).
/// - `overall = #{predicted = label} / n`;
/// - `balanced = (1/|K|) Σ_{k∈K} #{predicted = k ∧ label = k} / #{label = k}` over the classes `K` present
///   in `labels` (scikit-learn's `balanced_accuracy_score`).
public enum Accuracy {
    /// The fraction of rows whose predicted class is the label.
    public static func overall(scores: DoubleMatrix, labels: [Int]) throws -> Double {
        let predicted = try validatedPredictions(scores: scores, labels: labels)
        let correct = zip(predicted, labels).filter { $0 == $1 }.count
        return Double(correct) / Double(labels.count)
    }

    /// The mean recall over the classes present in `labels`.
    public static func balanced(scores: DoubleMatrix, labels: [Int]) throws -> Double {
        let predicted = try validatedPredictions(scores: scores, labels: labels)
        var support = [Int](repeating: 0, count: scores.columns), hits = support
        for (prediction, label) in zip(predicted, labels) {
            support[label] += 1
            if prediction == label { hits[label] += 1 }
        }
        let recalls = zip(hits, support).filter { $0.1 > 0 }.map { Double($0.0) / Double($0.1) }
        return recalls.reduce(0, +) / Double(recalls.count)
    }

    /// The predicted class (first highest-scoring column) of each row; scores are taken as finite (the
    /// accuracies above check them).
    public static func predictedClasses(_ scores: DoubleMatrix) -> [Int] {
        (0..<scores.rows).map { row in
            var best = 0
            for column in stride(from: 1, to: scores.columns, by: 1) where scores[row, column] > scores[row, best] {
                best = column
            }
            return best
        }
    }

    private static func validatedPredictions(scores: DoubleMatrix, labels: [Int]) throws -> [Int] {
        try InputValidation.requireScoreMatrix(scores, rowsMatching: labels.count)
        try InputValidation.requireClassLabels(labels, classCount: scores.columns)
        return predictedClasses(scores)
    }
}
