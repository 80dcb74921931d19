import Foundation

/// Cuts a `Volume` into 2D slices shown in radiological display orientation, whatever order the voxels
/// are stored in: the affine's `axisDirections` say which voxel axis runs along each world (RAS+) axis
/// and which way, and the slices are read so that
///
/// - `.axial`: image column grows toward the patient's Left (the patient's right on the image's left),
///   row toward Posterior (anterior at the top); slices ordered inferior → superior.
/// - `.coronal`: column toward Left, row toward Inferior (superior at the top); slices ordered
///   posterior → anterior.
/// - `.sagittal`: column toward Posterior (anterior on the left), row toward Inferior; slices ordered
///   patient left → right.
///
/// Slices thus follow increasing world coordinate along the slice axis (RAS+: x toward Right, y toward
/// Anterior, z toward Superior). Oblique affines are sliced along the closest voxel axes (no
/// resampling). Each slice is a grey `Image2D` of the voxel values with `pixelSpacing` = (spacing of the
/// voxel axis along the rows, spacing of the voxel axis along the columns) and the volume's `source`.
public struct VolumeSlicer: Hashable, Sendable, CustomStringConvertible {
    /// Slice plane.
    public enum Axis: String, CaseIterable, Hashable, Sendable {
        /// Transverse slices (normal along superior–inferior).
        case axial
        /// Frontal slices (normal along anterior–posterior).
        case coronal
        /// Side slices (normal along left–right).
        case sagittal
    }

    /// Slice plane.
    public var axis: Axis

    /// A slicer for `axis`.
    public init(axis: Axis) { self.axis = axis }

    /// `slice[axial]`.
    public var description: String { "slice[\(axis.rawValue)]" }

    /// Every slice of frame `frame`, in display order.
    public func slices(of volume: Volume, frame: Int = 0) throws -> [Image2D] {
        let layout = try SliceLayout(volume: volume, axis: axis)
        return (0..<layout.count).map { layout.slice($0, of: volume, frame: frame) }
    }
}

extension Volume {
    /// Number of slices along `axis`.
    public func sliceCount(axis: VolumeSlicer.Axis) throws -> Int { try SliceLayout(volume: self, axis: axis).count }

    /// Slice `index` (0-based, in the display order of `VolumeSlicer`) along `axis` of frame `frame`.
    public func slice(_ index: Int, axis: VolumeSlicer.Axis, frame: Int = 0) throws -> Image2D {
        let layout = try SliceLayout(volume: self, axis: axis)
        guard index >= 0 && index < layout.count else {
            throw ImagingError(file: source?.path ?? "volume",
                               problem: "\(axis.rawValue) slice \(index) is outside 0..<\(layout.count)")
        }
        return layout.slice(index, of: self, frame: frame)
    }
}

/// Which voxel axis feeds each display direction of one slice plane, and whether it runs backwards.
struct SliceLayout {
    /// A voxel axis (0 = i, 1 = j, 2 = k) read forwards or backwards.
    struct Run { var voxelAxis: Int; var reversed: Bool }
    let column: Run, row: Run, stack: Run
    /// Slices along `stack`.
    let count: Int

    /// For `axis`: the world axis (0 = x, 1 = y, 2 = z) and the RAS+ sign toward which the column, the row
    /// and the slice index must grow.
    private static func targets(_ axis: VolumeSlicer.Axis) -> [(world: Int, sign: Int)] {
        switch axis {
        case .axial: [(0, -1), (1, -1), (2, 1)]      // column → L, row → P, slices I → S
        case .coronal: [(0, -1), (2, -1), (1, 1)]    // column → L, row → I, slices P → A
        case .sagittal: [(1, -1), (2, -1), (0, 1)]   // column → P, row → I, slices L → R
        }
    }

    init(volume: Volume, axis: VolumeSlicer.Axis) throws {
        let directions = volume.affine.axisDirections
        let runs = try Self.targets(axis).map { target -> Run in
            guard let voxelAxis = directions.firstIndex(where: { $0.axis == target.world }) else {
                throw ImagingError(file: volume.source?.path ?? "volume",
                                   problem: "its affine gives no voxel axis along world \(["x", "y", "z"][target.world]) "
                                       + "(axis codes \(volume.affine.axisCodes)), so it cannot be sliced \(axis.rawValue)ly")
            }
            return Run(voxelAxis: voxelAxis, reversed: directions[voxelAxis].sign != target.sign)
        }
        (column, row, stack) = (runs[0], runs[1], runs[2])
        count = volume.size[stack.voxelAxis]
    }

    /// Slice `index` of frame `frame` as a grey image.
    func slice(_ index: Int, of volume: Volume, frame: Int) -> Image2D {
        precondition(frame >= 0 && frame < volume.frames, "frame \(frame) outside 0..<\(volume.frames)")
        let size = volume.size
        let strides = [1, size[0], size[0] * size[1]]
        func offset(_ run: Run, _ position: Int) -> Int {
            (run.reversed ? size[run.voxelAxis] - 1 - position : position) * strides[run.voxelAxis]
        }
        let width = size[column.voxelAxis], height = size[row.voxelAxis]
        let base = frame * volume.voxelsPerFrame + offset(stack, index)
        var pixels = [Float](repeating: 0, count: width * height)
        volume.voxels.withUnsafeBufferPointer { voxels in
            for y in 0..<height {
                let rowBase = base + offset(row, y)
                for x in 0..<width { pixels[y * width + x] = voxels[rowBase + offset(column, x)] }
            }
        }
        var image = Image2D(width: width, height: height, channels: 1, pixels: pixels, bitDepth: 32, source: volume.source)
        image.pixelSpacing = [volume.spacing[row.voxelAxis], volume.spacing[column.voxelAxis]]
        return image
    }
}
