/// AUROC per class of a score matrix `[n, C]` and its averages, as scikit-learn's `roc_auc_score` with
/// `average=None | 'macro' | 'weighted' | 'micro'`, except that a class whose known labels hold a single
/// value is undefined (listed in `undefinedClasses`) and left out of the macro and weighted averages
/// instead of failing the whole computation:
/// - `macro = (1/|D|) Σ_{c∈D} AUROC_c` over the defined classes `D`;
/// - `weighted = Σ_{c∈D} P_c·AUROC_c / Σ_{c∈D} P_c`, with `P_c` the positives of class `c`;
/// - `micro` = the binary AUROC of all known (score, label) entries of every class pooled.
/// An average is `nil` when no class (or, for micro, no pooled pair) is defined.
public struct PerClassAUROC: Sendable, Equatable {
    /// One name per class (the caller's, or "class 0", "class 1", …).
    public let classNames: [String]
    /// AUROC of each class, `nil` where undefined.
    public let perClass: [Double?]
    /// Positive (label 1) known entries of each class.
    public let positives: [Int]
    /// Indices of the classes whose AUROC is undefined, ascending.
    public let undefinedClasses: [Int]
    public let macro: Double?
    public let weighted: Double?
    public let micro: Double?

    /// Names of the undefined classes, for a report.
    public var undefinedClassNames: [String] { undefinedClasses.map { classNames[$0] } }

    init(classNames: [String], perClass: [Double?], positives: [Int], micro: Double?) {
        self.classNames = classNames
        self.perClass = perClass
        self.positives = positives
        self.micro = micro
        undefinedClasses = perClass.indices.filter { perClass[$0] == nil }
        let defined = perClass.indices.compactMap { index in perClass[index].map { (auroc: $0, weight: Double(positives[index])) } }
        if defined.isEmpty {
            macro = nil
            weighted = nil
        } else {
            macro = defined.reduce(0) { $0 + $1.auroc } / Double(defined.count)
            weighted = defined.reduce(0) { $0 + $1.weight * $1.auroc } / defined.reduce(0) { $0 + $1.weight }
        }
    }
}

extension AUROC {
    /// Multi-label AUROC: `scores` `[n, C]`, `labels` `[n, C]` with entries 0, 1 or NaN (unknown: that entry
    /// is left out of its class and of the micro pool only). Throws on empty or mismatched matrices,
    /// non-finite scores, labels outside {0, 1, NaN} or a `classNames` count other than `C`.
    public static func multiLabel(scores: DoubleMatrix, labels: DoubleMatrix, classNames: [String]? = nil) throws -> PerClassAUROC {
        try InputValidation.requireScoreMatrix(scores, rowsMatching: labels.rows)
        try InputValidation.requireLength(labels.columns, equalTo: scores.columns, "label matrix columns (one per score column)")
        if let index = labels.values.firstIndex(where: { !($0 == 0 || $0 == 1 || $0.isNaN) }) {
            throw MetricsError.invalidBinaryLabel(index: index, value: labels.values[index])
        }
        return try perClassSummary(scores: scores, classNames: classNames) { row, column in
            let label = labels[row, column]
            return label.isNaN ? nil : label == 1
        }
    }

    /// Multi-class one-vs-rest AUROC: `scores` `[n, C]`, `labels` class indices in `0..<C`; class `c`'s
    /// AUROC ranks column `c` for "label = c" against "label ≠ c" (scikit-learn's `multi_class='ovr'`);
    /// `weighted` weighs each class by its count in `labels`, `micro` pools the one-hot encoding. A class
    /// absent from `labels` is undefined. Throws on empty or mismatched input, non-finite scores or labels
    /// outside `0..<C`.
    public static func oneVsRest(scores: DoubleMatrix, labels: [Int], classNames: [String]? = nil) throws -> PerClassAUROC {
        try InputValidation.requireScoreMatrix(scores, rowsMatching: labels.count)
        try InputValidation.requireClassLabels(labels, classCount: scores.columns)
        return try perClassSummary(scores: scores, classNames: classNames) { row, column in labels[row] == column }
    }

    /// Splits every column's scores by `isPositive(row, column)` (`nil` = unknown, skipped) and pools them
    /// for the micro average.
    private static func perClassSummary(scores: DoubleMatrix, classNames: [String]?,
                                        isPositive: (Int, Int) -> Bool?) throws -> PerClassAUROC {
        if let classNames {
            try InputValidation.requireLength(classNames.count, equalTo: scores.columns, "class names (one per score column)")
        }
        var perClass: [Double?] = [], positiveCounts: [Int] = []
        var pooledPositives: [Double] = [], pooledNegatives: [Double] = []
        for column in 0..<scores.columns {
            var positives: [Double] = [], negatives: [Double] = []
            for row in 0..<scores.rows {
                guard let positive = isPositive(row, column) else { continue }
                if positive { positives.append(scores[row, column]) } else { negatives.append(scores[row, column]) }
            }
            perClass.append(auroc(positives: positives, negatives: negatives))
            positiveCounts.append(positives.count)
            pooledPositives += positives
            pooledNegatives += negatives
        }
        return PerClassAUROC(classNames: classNames ?? (0..<scores.columns).map { "class \($0)" },
                             perClass: perClass, positives: positiveCounts,
                             micro: auroc(positives: pooledPositives, negatives: pooledNegatives))
    }
}
