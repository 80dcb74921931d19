import Convolution
import Datasets
import Foundation
import MedicalImaging
import Metrics

/// One case of a segmentation dataset, read and preprocessed: a 2D image, or a volume cut into axial slices.
///
/// `inputs` are the model inputs (`[3, S, S]` images through the study's pipeline, one per slice) and
/// `inputLabels` their label masks brought to `S × S` by nearest-neighbour resizing (labels in `0..<K`,
/// row-major). `truth` is the label map in the case's own grid, C order: `[H, W]` for an image,
/// `[nz, ny, nx]` for a volume (NIfTI's i fastest), with `spacing` in mm per axis of that shape.
/// Predictions made per slice at `sliceSize` go back into that grid through `placement`.
public struct SegmentationCase: Sendable {
    /// Where the case's predictions are written back.
    public enum Geometry: Sendable {
        /// A 2D image file (its predicted labels are shown over it).
        case image(source: URL)
        /// A volume: its size `[nx, ny, nz]`, spacing and affine (for the predicted NIfTI label map), and
        /// where each axial slice's pixels lie in it.
        case volume(size: [Int], spacing: [Double], affine: MedicalImaging.AffineTransform, placement: SlicePlacement)
    }

    /// The item id.
    public let id: String
    /// Preprocessed model inputs, one per slice: `[3, S, S]`.
    public var inputs: [Image2D]
    /// Each input's labels at `S × S`, row-major.
    public let inputLabels: [[Int32]]
    /// The size of a slice in the case's own grid (the size predictions are made at).
    public let sliceSize: Size2D
    /// The true label map in the case's grid.
    public let truth: LabelMap
    /// Voxel size in mm per axis of `truth.shape`.
    public let spacing: [Double]
    /// How predictions map back to the case's file.
    public let geometry: Geometry

    /// The per-slice labels (each `sliceSize`, row-major) placed into the case's grid, as a label map of `truth`'s shape.
    public func labelMap(fromSlices slices: [[Int32]]) throws -> LabelMap {
        switch geometry {
        case .image: return try LabelMap(shape: truth.shape, labels: slices[0])
        case .volume(_, _, _, let placement): return try LabelMap(shape: truth.shape, labels: placement.assemble(slices))
        }
    }
}

/// Where every pixel of every axial slice (as `VolumeSlicer` cuts it) lies in a volume's voxel array:
/// `voxel[s][p]` is the index (i fastest) of pixel `p` (row-major) of slice `s`. Found by slicing two
/// volumes holding each voxel's own index (split in 23-bit halves, so that every index is an exact
/// `Float`), so it always agrees with the slicer.
public struct SlicePlacement: Sendable {
    /// `[slices][pixels]` voxel indices.
    public let voxel: [[Int]]
    /// Voxels in the volume.
    public let voxelCount: Int

    /// The placement of the axial slices of a volume of `size` `[nx, ny, nz]` with `affine`.
    public init(size: [Int], spacing: [Double], affine: MedicalImaging.AffineTransform) throws {
        let count = size.reduce(1, *)
        let low = (0..<count).map { Float($0 & 0x7F_FFFF) }, high = (0..<count).map { Float($0 >> 23) }
        let slicer = VolumeSlicer(axis: .axial)
        let lowSlices = try slicer.slices(of: Volume(size: size, voxels: low, spacing: spacing, affine: affine))
        let highSlices = try slicer.slices(of: Volume(size: size, voxels: high, spacing: spacing, affine: affine))
        voxel = zip(lowSlices, highSlices).map { lowSlice, highSlice in
            zip(lowSlice.pixels, highSlice.pixels).map { Int($0) | (Int($1) << 23) }
        }
        voxelCount = count
    }

    /// The volume's labels (i fastest) from per-slice labels (row-major, in slice order).
    public func assemble(_ slices: [[Int32]]) throws -> [Int32] {
        guard slices.count == voxel.count, zip(slices, voxel).allSatisfy({ $0.count == $1.count }) else {
            throw SegmentationTrainingError("predicted slices (\(slices.count)) do not match the volume's \(voxel.count) axial slices")
        }
        var labels = [Int32](repeating: 0, count: voxelCount)
        for (slice, indices) in zip(slices, voxel) {
            for (value, index) in zip(slice, indices) { labels[index] = value }
        }
        return labels
    }
}

/// A problem with a segmentation run's data or settings, in words (file names included where there is one).
public struct SegmentationTrainingError: Error, CustomStringConvertible, Sendable, Equatable {
    public let description: String

    public init(_ description: String) { self.description = description }
}
