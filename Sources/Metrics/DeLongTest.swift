import Foundation

/// DeLong's test for two correlated AUROCs measured on the same cases (DeLong, DeLong & Clarke-Pearson
/// 1988), computed with the midrank algorithm of Sun & Xu (2014) in O(n log n).
/// With `m` positives `x_i` and `n` negatives `y_j`, each model's structural components are
/// `V10_i = (#{y_j < x_i} + ½·#{y_j = x_i}) / n` and `V01_j = (#{x_i > y_j} + ½·#{x_i = y_j}) / m`
/// (their means are the AUROC). With `S10`, `S01` the 2×2 sample covariances (denominators `m − 1`,
/// `n − 1`) of the two models' components, `S = S10/m + S01/n`:
/// `variance = S_AA + S_BB − 2·S_AB` of `difference = AUROC_A − AUROC_B`,
/// `z = difference / √variance`, two-sided `p = erfc(|z|/√2)`.
public struct DeLongComparison: Sendable, Equatable {
    public let aurocA: Double
    public let aurocB: Double
    /// `aurocA − aurocB`.
    public let difference: Double
    /// `S_AA`: the variance of `aurocA`.
    public let varianceA: Double
    /// `S_BB`: the variance of `aurocB`.
    public let varianceB: Double
    /// `S_AB`: the covariance of the two AUROCs.
    public let covariance: Double
    /// The variance of the difference, `S_AA + S_BB − 2·S_AB`.
    public let variance: Double
    /// `nil` when `variance` is 0 (e.g. two models ranking the cases identically).
    public let zScore: Double?
    /// `nil` when `variance` is 0.
    public let pValue: Double?
}

public enum DeLongTest {
    /// Compares the AUROCs of `scoresA` and `scoresB` on the same cases with 0/1 `labels`; `nil` when there
    /// are fewer than two positives or two negatives (the covariances are undefined). Throws on empty or
    /// mismatched input, non-finite scores or labels outside {0, 1}.
    public static func compare(scoresA: [Double], scoresB: [Double], labels: [Int]) throws -> DeLongComparison? {
        try InputValidation.requireNonEmpty(labels.count, "labels")
        try InputValidation.requireLength(scoresA.count, equalTo: labels.count, "scores of model A (one per label)")
        try InputValidation.requireLength(scoresB.count, equalTo: labels.count, "scores of model B (one per label)")
        try InputValidation.requireFinite(scoresA, "scores of model A")
        try InputValidation.requireFinite(scoresB, "scores of model B")
        let isPositive = try InputValidation.binaryLabels(labels)
        let positiveCount = isPositive.filter { $0 }.count, negativeCount = labels.count - positiveCount
        guard positiveCount >= 2, negativeCount >= 2 else { return nil }

        let a = StructuralComponents(scores: scoresA, isPositive: isPositive)
        let b = StructuralComponents(scores: scoresB, isPositive: isPositive)
        let m = Double(positiveCount), n = Double(negativeCount)
        func covariance(_ x: StructuralComponents, _ y: StructuralComponents) -> Double {
            sampleCovariance(x.positive, y.positive) / m + sampleCovariance(x.negative, y.negative) / n
        }
        let varianceA = covariance(a, a), varianceB = covariance(b, b), covarianceAB = covariance(a, b)
        let variance = varianceA + varianceB - 2 * covarianceAB
        let difference = a.auroc - b.auroc
        let zScore = variance > 0 ? difference / variance.squareRoot() : nil
        return DeLongComparison(aurocA: a.auroc, aurocB: b.auroc, difference: difference,
                                varianceA: varianceA, varianceB: varianceB, covariance: covarianceAB,
                                variance: variance, zScore: zScore,
                                pValue: zScore.map { erfc(abs($0) / 2.0.squareRoot()) })
    }

    /// `Σ (x_i − x̄)(y_i − ȳ) / (count − 1)`.
    private static func sampleCovariance(_ x: [Double], _ y: [Double]) -> Double {
        let meanX = x.reduce(0, +) / Double(x.count), meanY = y.reduce(0, +) / Double(y.count)
        return zip(x, y).reduce(0) { $0 + ($1.0 - meanX) * ($1.1 - meanY) } / Double(x.count - 1)
    }
}

/// One model's DeLong structural components, positives and negatives each in their original row order.
private struct StructuralComponents {
    /// `V10_i` for each positive.
    let positive: [Double]
    /// `V01_j` for each negative.
    let negative: [Double]
    /// The exact Mann–Whitney AUROC.
    let auroc: Double

    init(scores: [Double], isPositive: [Bool]) {
        let positiveScores = zip(scores, isPositive).filter { $0.1 }.map { $0.0 }
        let negativeScores = zip(scores, isPositive).filter { !$0.1 }.map { $0.0 }
        let sortedPositives = SortedScores(positiveScores), sortedNegatives = SortedScores(negativeScores)
        let doubledBelow = positiveScores.map { sortedNegatives.doubledCount(below: $0) }
        let m = Double(positiveScores.count), n = Double(negativeScores.count)
        positive = doubledBelow.map { Double($0) / (2 * n) }
        negative = negativeScores.map { Double(sortedPositives.doubledCount(above: $0)) / (2 * m) }
        auroc = Double(doubledBelow.reduce(0, +)) / (2 * m * n)
    }
}
