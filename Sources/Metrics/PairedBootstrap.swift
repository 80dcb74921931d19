/// Paired bootstrap comparison of two models on the same rows: each resample evaluates both statistics on
/// the same drawn rows and records `d = A − B`; a resample where either is undefined is skipped.
/// - `interval`: percentile interval of `d` (as `Bootstrap.estimate`);
/// - `pValue = min(1, 2·min(#{d ≤ 0}, #{d ≥ 0}) / valid)`, the two-sided bootstrap p-value for "no
///   difference" (how often the resampled difference reaches zero from either side).
public struct PairedBootstrapComparison: Sendable, Equatable {
    /// Statistic A on all rows.
    public let estimateA: Double?
    /// Statistic B on all rows.
    public let estimateB: Double?
    /// `estimateA − estimateB`, `nil` when either is undefined.
    public let difference: Double?
    /// Interval of the difference `A − B`.
    public let interval: ConfidenceInterval?
    /// `nil` when every resample was skipped.
    public let pValue: Double?
    public let validResamples: Int
    public let skippedResamples: Int
}

extension Bootstrap {
    /// Compares statistics `a` and `b` (e.g. the AUROC of two models) on the same resampled rows.
    public static func pairedComparison(units: ResamplingUnits, configuration: BootstrapConfiguration,
                                        statisticA a: ([Int]) throws -> Double?,
                                        statisticB b: ([Int]) throws -> Double?) rethrows -> PairedBootstrapComparison {
        var differences: [Double] = []
        let skipped = try forEachResample(units: units, configuration: configuration) { rows in
            guard let valueA = try definedValue(a(rows)), let valueB = try definedValue(b(rows)) else { return false }
            differences.append(valueA - valueB)
            return true
        }
        let allRows = Array(0..<units.rowCount)
        let estimateA = try definedValue(a(allRows)), estimateB = try definedValue(b(allRows))
        var pValue: Double?
        if !differences.isEmpty {
            let count = Double(differences.count)
            let atMostZero = Double(differences.filter { $0 <= 0 }.count) / count
            let atLeastZero = Double(differences.filter { $0 >= 0 }.count) / count
            pValue = min(1, 2 * min(atMostZero, atLeastZero))
        }
        return PairedBootstrapComparison(
            estimateA: estimateA, estimateB: estimateB,
            difference: estimateA.flatMap { a in estimateB.map { a - $0 } },
            interval: percentileInterval(differences, confidence: configuration.confidence),
            pValue: pValue, validResamples: differences.count, skippedResamples: skipped)
    }
}
