/// Area under the ROC curve, computed as the Mann–Whitney statistic: the fraction of (positive, negative)
/// pairs ranked correctly, ties counting one half,
/// `AUROC = (#{s⁺ > s⁻} + ½·#{s⁺ = s⁻}) / (n⁺ · n⁻)`,
/// which equals scikit-learn's `roc_auc_score` (trapezoidal area under the ROC curve). The pair count is an
/// exact integer, so the result carries a single rounding. Cost: one sort of the smaller group and a
/// binary search per case of the larger, O(n log n). The area is undefined (`nil`) when the labels hold
/// a single value.
public enum AUROC {
    /// AUROC of `scores` (higher = more likely positive) against `labels` in {0, 1}; `nil` when all labels
    /// are equal. Throws on empty or mismatched input, non-finite scores or labels outside {0, 1}.
    public static func binary(scores: [Double], labels: [Int]) throws -> Double? {
        try InputValidation.requireNonEmpty(scores.count, "scores")
        try InputValidation.requireLength(labels.count, equalTo: scores.count, "labels (one per score)")
        try InputValidation.requireFinite(scores, "scores")
        let isPositive = try InputValidation.binaryLabels(labels)
        var positives: [Double] = [], negatives: [Double] = []
        for (score, positive) in zip(scores, isPositive) {
            if positive { positives.append(score) } else { negatives.append(score) }
        }
        return auroc(positives: positives, negatives: negatives)
    }

    /// The Mann–Whitney AUROC of two groups of validated scores; `nil` when either group is empty.
    static func auroc(positives: [Double], negatives: [Double]) -> Double? {
        guard !positives.isEmpty, !negatives.isEmpty else { return nil }
        // Twice the number of correctly ordered pairs (ties once), counted from the smaller group's sort.
        var doubledPairs = 0
        if positives.count <= negatives.count {
            let sorted = SortedScores(positives)
            for score in negatives { doubledPairs += sorted.doubledCount(above: score) }
        } else {
            let sorted = SortedScores(negatives)
            for score in positives { doubledPairs += sorted.doubledCount(below: score) }
        }
        return Double(doubledPairs) / (2 * Double(positives.count) * Double(negatives.count))
    }
}
