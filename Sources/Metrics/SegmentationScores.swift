/// One foreground class's overlap and surface distance in one case (a 2D image or a 3D volume):
/// Dice = 2|P∩T| / (|P| + |T|), Jaccard = |P∩T| / |P∪T| over the voxels labelled with the class in the
/// prediction (P) and the truth (T), both undefined (nil) when the class is absent from both maps.
public struct SegmentationClassScores: Equatable, Sendable {
    /// Which of the two masks of a class are empty.
    public enum MissingMask: String, Sendable {
        /// The class is absent from both maps: Dice, Jaccard and the Hausdorff distance are undefined.
        case both = "absent from both prediction and truth"
        /// Only the truth holds the class: Dice and Jaccard are 0, the Hausdorff distance undefined.
        case prediction = "absent from the prediction"
        /// Only the prediction holds the class: Dice and Jaccard are 0, the Hausdorff distance undefined.
        case truth = "absent from the truth"
    }

    /// The class's label.
    public let label: Int
    /// |P|: voxels the prediction labels with the class.
    public let predictedVoxels: Int
    /// |T|: voxels the truth labels with the class.
    public let truthVoxels: Int
    /// |P∩T|.
    public let overlappingVoxels: Int
    /// The percentile Hausdorff distance in mm (see `HausdorffDistance`); nil when `missingMask` is set
    /// or when surface distances were not asked for.
    public let hausdorff: Double?

    public init(label: Int, predictedVoxels: Int, truthVoxels: Int, overlappingVoxels: Int, hausdorff: Double?) {
        self.label = label
        self.predictedVoxels = predictedVoxels
        self.truthVoxels = truthVoxels
        self.overlappingVoxels = overlappingVoxels
        self.hausdorff = hausdorff
    }

    /// 2|P∩T| / (|P| + |T|); nil when the class is absent from both maps.
    public var dice: Double? {
        let total = predictedVoxels + truthVoxels
        return total == 0 ? nil : 2 * Double(overlappingVoxels) / Double(total)
    }

    /// |P∩T| / |P∪T|; nil when the class is absent from both maps.
    public var jaccard: Double? {
        let union = predictedVoxels + truthVoxels - overlappingVoxels
        return union == 0 ? nil : Double(overlappingVoxels) / Double(union)
    }

    /// Why the Hausdorff distance (and, for `.both`, Dice and Jaccard) has no value; nil when both masks hold voxels.
    public var missingMask: MissingMask? {
        switch (predictedVoxels == 0, truthVoxels == 0) {
        case (true, true): .both
        case (true, false): .prediction
        case (false, true): .truth
        case (false, false): nil
        }
    }
}

/// The scores of one case — one 2D image or one 3D volume, never slices pooled across cases — for the
/// foreground classes `1..<classCount`. The means average the classes whose value is defined (a class
/// absent from both maps is left out); nil when no class has a value.
public struct SegmentationScores: Equatable, Sendable {
    /// Classes `1..<classCount`, in label order (`classes[label − 1]`).
    public let classes: [SegmentationClassScores]

    public init(classes: [SegmentationClassScores]) { self.classes = classes }

    /// The number of classes, background included.
    public var classCount: Int { classes.count + 1 }

    /// The scores of foreground `label` (1…classCount − 1).
    public subscript(label label: Int) -> SegmentationClassScores { classes[label - 1] }

    /// Mean Dice over the foreground classes where it is defined.
    public var meanDice: Double? { meanOfDefined(classes.map(\.dice)) }

    /// Mean Jaccard over the foreground classes where it is defined.
    public var meanJaccard: Double? { meanOfDefined(classes.map(\.jaccard)) }

    /// The study's segmentation score, (mean Dice + mean Jaccard) / 2.
    public var studyScore: Double? { studyScoreOf(dice: meanDice, jaccard: meanJaccard) }

    /// Mean Hausdorff distance (mm) over the foreground classes where it is defined.
    public var meanHausdorff: Double? { meanOfDefined(classes.map(\.hausdorff)) }
}

/// The mean of the non-nil values; nil when there are none.
func meanOfDefined(_ values: [Double?]) -> Double? {
    let defined = values.compactMap { $0 }
    return defined.isEmpty ? nil : defined.reduce(0, +) / Double(defined.count)
}

/// (Dice + Jaccard) / 2 when both are defined.
func studyScoreOf(dice: Double?, jaccard: Double?) -> Double? {
    guard let dice, let jaccard else { return nil }
    return (dice + jaccard) / 2
}
