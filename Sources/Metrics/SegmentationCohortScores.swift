/// Segmentation scores over a cohort: each case (one 2D image, one 3D volume) is scored on its own and
/// the cases' scores are averaged — a volume's voxels are never pooled with another case's, and a
/// volume is never split into slices scored apart. A case whose value is undefined (e.g. a class absent
/// from both of its maps) is left out of that mean.
public struct SegmentationCohortScores: Equatable, Sendable {
    /// The per-case scores, all with the same class count.
    public let cases: [SegmentationScores]

    /// Scores averaged over `cases`; throws when there are none or their class counts differ.
    public init(cases: [SegmentationScores]) throws {
        guard let first = cases.first else { throw MetricsError.empty(what: "the list of segmentation cases") }
        if let other = cases.first(where: { $0.classCount != first.classCount }) {
            throw MetricsError.lengthMismatch(what: "classes of every segmentation case", expected: first.classCount,
                                              actual: other.classCount)
        }
        self.cases = cases
    }

    /// Mean over cases of each case's mean foreground Dice.
    public var meanDice: Double? { meanOfDefined(cases.map(\.meanDice)) }

    /// Mean over cases of each case's mean foreground Jaccard.
    public var meanJaccard: Double? { meanOfDefined(cases.map(\.meanJaccard)) }

    /// The study's score, (mean Dice + mean Jaccard) / 2.
    public var studyScore: Double? { studyScoreOf(dice: meanDice, jaccard: meanJaccard) }

    /// Mean over cases of foreground `label`'s Dice, where defined.
    public func meanDice(label: Int) -> Double? { meanOfDefined(cases.map { $0[label: label].dice }) }

    /// Mean over cases of foreground `label`'s Jaccard, where defined.
    public func meanJaccard(label: Int) -> Double? { meanOfDefined(cases.map { $0[label: label].jaccard }) }

    /// Mean over cases of foreground `label`'s Hausdorff distance (mm), where defined.
    public func meanHausdorff(label: Int) -> Double? { meanOfDefined(cases.map { $0[label: label].hausdorff }) }
}
