import Foundation
import MedicalImaging
import Randomness

/// How a `DatasetSplit` assigned patients to parts; recorded in the split file as a `record` string
/// without spaces, e.g. `stratified;seed=42;validation=0.1;test=0.2`. Fractions are fractions of
/// patients, written with Swift's shortest round-trip `Double` description (`0.1`, `1e-05`).
public enum SplitMethod: Equatable, Sendable {
    /// The dataset's official parts (`DatasetItem.officialPart`). When the dataset publishes no
    /// validation part (NIH ChestX-ray14: `train_val_list.txt` and `test_list.txt` only), a
    /// `validation` fraction of the official train patients (`round(validation · train patients)`,
    /// rounding halves away from zero) becomes validation, chosen by the stratified rule with `seed`
    /// over the train patients; the test part is never touched. (The study took the last 10,002 rows
    /// of NIH's `train_val_list.txt`, images rather than patients.) Record: `official;seed=S;validation=F`.
    case official(seed: UInt64, validation: Double)
    /// The study's systematic sampling, at the patient level. With the `N` patients in the order they
    /// first appear in the catalog, `n = round(test · N)` test patients sit at positions
    /// `round_half_even(i · N / n)`, `i = 0..<n` — numpy's `np.arange(0, N, N / n).round()`, as the
    /// study's `make_splits` did for Brain Tumor (70 test, then 50 validation of 233 patients) and
    /// SARS-CoV-2-CT and its CheXpert validation set; of the `M = N − n` remaining patients, in order,
    /// `round(validation · N)` (at most `M`) validation patients are picked the same way over `M`; the
    /// rest are train (`round` of a count rounds halves away from zero). The study applied the rule to
    /// images in folder-listing order except for Brain Tumor, and for Montgomery and Shenzhen used
    /// the integer step `ceil(N / n)` (`range(0, N, ceil(N / n))`, the same picks when `n` divides
    /// `N`); RadProbe always picks patients. No seed. Record: `systematic;validation=F;test=F`.
    case systematic(validation: Double, test: Double)
    /// A seeded patient-level split stratified by class: multiClass strata are a patient's majority
    /// class, multiLabel strata a patient's rarest positive finding (fewest positive patients, or
    /// "none"), segmentation has one stratum. Strata are taken in class order ("none" first); in each,
    /// the patients are sorted byte-wise (UTF-8) and shuffled (Fisher–Yates, one
    /// `SeededGenerator(seed:)` shared by all strata in turn). `round(test · N)` patients go to test
    /// and `round(validation · N)` to validation, apportioned by largest remainder (each stratum
    /// `floor(fraction · size)`, one more for the largest remainders); a stratum's first shuffled
    /// patients are test, the next validation, the rest train. Record: `stratified;seed=S;validation=F;test=F`.
    case stratified(seed: UInt64, validation: Double, test: Double)

    /// The method as written in a split file's header (no spaces).
    public var record: String {
        switch self {
        case .official(let seed, let validation): "official;seed=\(seed);validation=\(validation)"
        case .systematic(let validation, let test): "systematic;validation=\(validation);test=\(test)"
        case .stratified(let seed, let validation, let test): "stratified;seed=\(seed);validation=\(validation);test=\(test)"
        }
    }

    /// The method a `record` names, or nil when the text is not a record in its canonical form.
    public init?(record: String) {
        let fields = record.split(separator: ";", omittingEmptySubsequences: false).map(String.init)
        guard let kind = fields.first else { return nil }
        var values: [String: String] = [:]
        for field in fields.dropFirst() {
            let pair = field.split(separator: "=", maxSplits: 1).map(String.init)
            guard pair.count == 2, values[pair[0]] == nil else { return nil }
            values[pair[0]] = pair[1]
        }
        let seed = values["seed"].flatMap { UInt64($0) }
        let validation = values["validation"].flatMap { Double($0) }
        let test = values["test"].flatMap { Double($0) }
        let method: SplitMethod
        switch (kind, seed, validation, test) {
        case ("official", let seed?, let validation?, _): method = .official(seed: seed, validation: validation)
        case ("systematic", _, let validation?, let test?): method = .systematic(validation: validation, test: test)
        case ("stratified", let seed?, let validation?, let test?):
            method = .stratified(seed: seed, validation: validation, test: test)
        default: return nil
        }
        guard method.record == record else { return nil }
        self = method
    }

    /// Checks that the fractions are in [0, 1] and leave room for training (validation + test ≤ 1).
    func checkFractions(dataset: String) throws {
        let (validation, test): (Double, Double) = switch self {
        case .official(_, let validation): (validation, 0)
        case .systematic(let validation, let test), .stratified(_, let validation, let test): (validation, test)
        }
        guard (0...1).contains(validation), (0...1).contains(test), validation + test <= 1 else {
            throw ImagingError(file: dataset, problem: "split fractions must lie in [0, 1] and add up to at most 1 "
                + "(validation \(validation), test \(test))")
        }
    }
}
