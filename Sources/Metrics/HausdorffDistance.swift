/// The percentile Hausdorff distance between two binary masks, defined as MONAI's
/// `compute_hausdorff_distance(percentile:, spacing:)` with its other defaults (Euclidean, symmetric):
///
/// - the surface of a mask is `mask ^ binary_erosion(mask)`: its voxels with a face neighbour (4 in 2D,
///   6 in 3D) outside the mask or outside the image;
/// - `d(A→B)` holds, for every surface voxel of A, the Euclidean distance in mm (voxel offsets times
///   `spacing`) to the nearest surface voxel of B, from an exact distance transform
///   (`DistanceTransform`) of B's surface;
/// - HDₚ = max(percentileₚ d(P→T), percentileₚ d(T→P)) — the larger of the two directed percentiles,
///   not the percentile of their union — with NumPy's linear percentile rule; p = 95 gives HD95, p = 100
///   the classic Hausdorff distance.
///
/// When the prediction or the truth is empty there is no surface to measure from or to, and the
/// distance is undefined: these functions return nil. (MONAI 1.3 returns NaN for a percentile in both
/// cases — its all-∞ distances interpolate to ∞ − ∞ — and, without a percentile, ∞ when only one mask
/// is empty.)
/// The work is done on the bounding box of the two masks, which holds both surfaces.
public enum HausdorffDistance {
    /// HDₚ in mm between masks `prediction` and `truth` of a 2D or 3D `shape` (last axis fastest) with
    /// voxel size `spacing` (one per axis of `shape`); nil when either mask is empty.
    public static func percentile(_ percentile: Double = 95, prediction: [Bool], truth: [Bool], shape: [Int],
                                  spacing: [Double]) throws -> Double? {
        guard (2...3).contains(shape.count), shape.allSatisfy({ $0 > 0 }) else { throw SegmentationMetricsError.unsupportedShape(shape) }
        for mask in [prediction, truth] where mask.count != shape.reduce(1, *) {
            throw SegmentationMetricsError.labelCountMismatch(shape: shape, count: mask.count)
        }
        try DistanceTransform.requireSpacing(spacing, axes: shape.count)
        try requirePercentile(percentile)
        let grid = SegmentationGrid(shape: shape)
        let boxes = [prediction, truth].map { mask in
            GridBox.boundingBoxes(of: mask.map { $0 ? 1 : 0 }, in: grid, classCount: 2)[1]
        }
        guard let predictionBox = boxes[0], let truthBox = boxes[1] else { return nil }
        let box = predictionBox.union(truthBox)
        return distance(percentile, prediction: box.mask(in: grid) { prediction[$0] }, truth: box.mask(in: grid) { truth[$0] },
                        grid: box.grid(within: grid), spacing: grid.spacing3D(spacing))
    }

    /// Throws unless `percentile` lies in 0...100.
    static func requirePercentile(_ percentile: Double) throws {
        guard (0...100).contains(percentile) else { throw SegmentationMetricsError.invalidPercentile(percentile) }
    }

    /// HDₚ of two non-empty masks over `grid` (their bounding box or any grid holding them), `spacing` for its three axes.
    static func distance(_ percentile: Double, prediction: [Bool], truth: [Bool], grid: SegmentationGrid, spacing: [Double]) -> Double {
        let predictionSurface = grid.surface(of: prediction), truthSurface = grid.surface(of: truth)
        let toTruth = directedDistances(from: predictionSurface, to: truthSurface, grid: grid, spacing: spacing)
        let toPrediction = directedDistances(from: truthSurface, to: predictionSurface, grid: grid, spacing: spacing)
        return max(linearPercentile(ofSorted: toTruth, percent: percentile), linearPercentile(ofSorted: toPrediction, percent: percentile))
    }

    /// The distances, ascending, from each voxel of surface `from` to the nearest voxel of surface `to`.
    private static func directedDistances(from source: [Bool], to target: [Bool], grid: SegmentationGrid, spacing: [Double]) -> [Double] {
        var squared = target.map { $0 ? 0.0 : Double.infinity }
        DistanceTransform.transformInPlace(&squared, shape: grid.extents, spacing: spacing)
        var distances: [Double] = []
        for index in source.indices where source[index] { distances.append(squared[index].squareRoot()) }
        return distances.sorted()
    }
}
