/// Scores a predicted label map against the truth for one case (a 2D image or a 3D volume): per-class
/// voxel counts, Dice and Jaccard from one pass over the voxels, and for each class present in both
/// maps the percentile Hausdorff distance on the bounding box of the class (see `HausdorffDistance`).
public enum SegmentationMetrics {
    /// The scores of `prediction` against `truth` (same shape) with voxel size `spacing` (one per axis of
    /// the shape, in mm; nil: 1 per axis) for classes `1..<classCount` (nil: the largest label of both
    /// maps + 1). `hausdorffPercentile` nil skips the surface distances.
    public static func evaluate(prediction: LabelMap, truth: LabelMap, spacing: [Double]? = nil, classCount: Int? = nil,
                                hausdorffPercentile: Double? = 95) throws -> SegmentationScores {
        guard prediction.shape == truth.shape else {
            throw SegmentationMetricsError.shapeMismatch(prediction: prediction.shape, truth: truth.shape)
        }
        let spacing = spacing ?? [Double](repeating: 1, count: truth.shape.count)
        try DistanceTransform.requireSpacing(spacing, axes: truth.shape.count)
        if let hausdorffPercentile { try HausdorffDistance.requirePercentile(hausdorffPercentile) }
        let classCount = try resolvedClassCount(classCount, prediction: prediction, truth: truth)
        let counts = VoxelCounts(prediction: prediction.labels, truth: truth.labels, classCount: classCount)
        let distances = hausdorffPercentile.map { percentile in
            hausdorffDistances(percentile, prediction: prediction, truth: truth, spacing: spacing, counts: counts)
        }
        return SegmentationScores(classes: (1..<classCount).map { label in
            SegmentationClassScores(label: label, predictedVoxels: counts.predicted[label], truthVoxels: counts.truth[label],
                                    overlappingVoxels: counts.overlapping[label], hausdorff: distances?[label])
        })
    }

    /// `requested`, checked against the labels present, or the largest label of both maps + 1.
    private static func resolvedClassCount(_ requested: Int?, prediction: LabelMap, truth: LabelMap) throws -> Int {
        let largest = (prediction: prediction.largestLabel, truth: truth.largestLabel)
        guard let requested else { return max(largest.prediction, largest.truth) + 1 }
        guard requested >= 1 else { throw SegmentationMetricsError.invalidClassCount(requested) }
        for (map, label) in [("prediction", largest.prediction), ("truth", largest.truth)] where label >= requested {
            throw SegmentationMetricsError.labelBeyondClassCount(map: map, label: label, classCount: requested)
        }
        return requested
    }

    /// HDₚ per label (index = label; nil for the background and for classes missing from either map).
    private static func hausdorffDistances(_ percentile: Double, prediction: LabelMap, truth: LabelMap, spacing: [Double],
                                           counts: VoxelCounts) -> [Double?] {
        let grid = SegmentationGrid(shape: truth.shape)
        let predictionBoxes = GridBox.boundingBoxes(of: prediction.labels, in: grid, classCount: counts.classCount)
        let truthBoxes = GridBox.boundingBoxes(of: truth.labels, in: grid, classCount: counts.classCount)
        return (0..<counts.classCount).map { label -> Double? in
            guard label > 0, let predictionBox = predictionBoxes[label], let truthBox = truthBoxes[label] else { return nil }
            let box = predictionBox.union(truthBox), value = Int32(label)
            let predictionMask = prediction.labels.withUnsafeBufferPointer { labels in box.mask(in: grid) { labels[$0] == value } }
            let truthMask = truth.labels.withUnsafeBufferPointer { labels in box.mask(in: grid) { labels[$0] == value } }
            return HausdorffDistance.distance(percentile, prediction: predictionMask, truth: truthMask,
                                              grid: box.grid(within: grid), spacing: grid.spacing3D(spacing))
        }
    }
}

/// Per-label voxel tallies of a prediction and its truth (index = label, `0..<classCount`).
private struct VoxelCounts {
    let classCount: Int
    var predicted: [Int]
    var truth: [Int]
    var overlapping: [Int]

    /// Labels are already known to lie below `classCount`.
    init(prediction: [Int32], truth: [Int32], classCount: Int) {
        self.classCount = classCount
        predicted = [Int](repeating: 0, count: classCount)
        self.truth = predicted
        overlapping = predicted
        for index in prediction.indices {
            let p = Int(prediction[index]), t = Int(truth[index])
            predicted[p] += 1
            self.truth[t] += 1
            if p == t { overlapping[p] += 1 }
        }
    }
}
