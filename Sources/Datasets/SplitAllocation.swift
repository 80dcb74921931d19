import Foundation
import MedicalImaging
import Randomness

/// The rules that assign patients (not items) to parts; each returns one part per patient.
enum SplitAllocation {
    /// Seeded stratified allocation. Strata are visited in increasing class order (`nil`, "none",
    /// first); within a stratum the patients are sorted byte-wise and shuffled (Fisher–Yates with one
    /// `SeededGenerator(seed:)` shared by all strata in that order). Per-part patient counts follow
    /// largest-remainder apportionment: the part gets `round(fraction · N)` patients in all, each
    /// stratum first `floor(fraction · size)`, and the leftover patients go to the strata with the
    /// largest fractional parts (ties to the earlier stratum). A stratum's first shuffled patients
    /// are test, the next validation (at most what test leaves), the rest train.
    static func stratified(patients: [String], classes: [Int?], seed: UInt64, validation: Double, test: Double) -> [SplitPart] {
        let strata = Set(classes).sorted { ($0 ?? -1) < ($1 ?? -1) }
        var rng = SeededGenerator(seed: seed)
        let members: [[Int]] = strata.map { stratum in
            var group = patients.indices.filter { classes[$0] == stratum }
                .sorted { patients[$0].precedesByBytes(patients[$1]) }
            rng.shuffle(&group)
            return group
        }
        let sizes = members.map(\.count)
        let testCounts = apportion(fraction: test, sizes: sizes)
        let validationCounts = zip(apportion(fraction: validation, sizes: sizes), zip(sizes, testCounts))
            .map { min($0, $1.0 - $1.1) }
        var parts = [SplitPart](repeating: .train, count: patients.count)
        for (stratum, group) in members.enumerated() {
            for (rank, patient) in group.enumerated() {
                if rank < testCounts[stratum] {
                    parts[patient] = .test
                } else if rank < testCounts[stratum] + validationCounts[stratum] {
                    parts[patient] = .validation
                }
            }
        }
        return parts
    }

    /// Largest-remainder counts: `round(fraction · Σ sizes)` in all, stratum `k` getting
    /// `floor(fraction · sizes[k])` plus one for the strata with the largest remainders.
    static func apportion(fraction: Double, sizes: [Int]) -> [Int] {
        let quotas = sizes.map { fraction * Double($0) }
        var counts = quotas.map { Int($0.rounded(.down)) }
        let target = Int((fraction * Double(sizes.reduce(0, +))).rounded())
        let byRemainder = quotas.indices.sorted {
            let (a, b) = (quotas[$0] - Double(counts[$0]), quotas[$1] - Double(counts[$1]))
            return a > b || (a == b && $0 < $1)
        }
        for stratum in byRemainder.prefix(max(0, target - counts.reduce(0, +))) {
            counts[stratum] = min(counts[stratum] + 1, sizes[stratum])
        }
        return counts
    }

    /// The study's systematic sampling (its `make_splits` for Brain Tumor and SARS-CoV-2-CT and the
    /// CheXpert validation set): of `count` ordered units, `picks` at positions
    /// `round_half_even(i · count / picks)`, `i = 0..<picks` — the first `picks` of numpy's
    /// `np.arange(0, count, count / picks).round()` (numpy itself may return `picks + 1` positions, the
    /// last one `count`, when float rounding of the step leaves room; the study's cases do not).
    /// Distinct and below `count` when `picks ≤ count`.
    static func systematicPositions(picks: Int, of count: Int) -> [Int] {
        guard picks > 0 else { return [] }
        let step = Double(count) / Double(picks)
        return (0..<picks).map { Int((Double($0) * step).rounded(.toNearestOrEven)) }
    }

    /// Systematic allocation of patients in order: `round(test · N)` test patients picked
    /// systematically from all `N`, then `round(validation · N)` validation patients (at most the
    /// remaining `M`) picked systematically from the remaining ones in order; the rest train.
    static func systematic(patientCount: Int, validation: Double, test: Double) -> [SplitPart] {
        let testCount = Int((test * Double(patientCount)).rounded())
        var parts = [SplitPart](repeating: .train, count: patientCount)
        for position in systematicPositions(picks: testCount, of: patientCount) { parts[position] = .test }
        let remaining = parts.indices.filter { parts[$0] == .train }
        let validationCount = min(Int((validation * Double(patientCount)).rounded()), remaining.count)
        for position in systematicPositions(picks: validationCount, of: remaining.count) {
            parts[remaining[position]] = .validation
        }
        return parts
    }
}
