import Foundation
import TensorCore

/// A 3D volume (or a series of 3D volumes over time) with its place in the patient.
///
/// `voxels` hold `size[0] × size[1] × size[2] × frames` samples with the first index fastest, as NIfTI
/// stores them: voxel `(i, j, k)` of frame `t` is `voxels[((t · nz + k) · ny + j) · nx + i]`. For a DICOM
/// series `i` runs along a row (columns), `j` down the rows and `k` over slices in the order of their
/// Image Position Patient along the slice normal.
///
/// `affine` maps voxel indices to world millimetres in the RAS+ convention of NIfTI and nibabel (see
/// `AffineTransform`); DICOM's LPS+ coordinates are converted by negating x and y. `spacing` is the
/// voxel size in mm along i, j, k (for NIfTI the `pixdim` values, for DICOM Pixel Spacing and the
/// distance between slice positions).
///
/// Values are `Float` after any rescaling the file asks for (NIfTI `scl_slope`/`scl_inter`, DICOM
/// Rescale Slope/Intercept), so CT volumes hold Hounsfield units. Integers beyond ±2^24 lose precision.
public struct Volume: Equatable, Sendable {
    /// Voxels along i, j, k: `[nx, ny, nz]`.
    public let size: [Int]
    /// Number of 3D frames (the fourth NIfTI dimension; 1 for a plain volume).
    public let frames: Int
    /// Samples, `nx · ny · nz · frames`, first index fastest.
    public var voxels: [Float]
    /// Voxel size in mm along i, j, k.
    public let spacing: [Double]
    /// Voxel index → world (RAS+, mm).
    public let affine: AffineTransform
    /// The sample type stored in the file, e.g. `"int16"`, `"uint8"`, `"float32"` (for reports).
    public let storedType: String
    /// The file (or folder, for a DICOM series) the volume was read from, if any.
    public let source: URL?

    /// A volume of `size` `[nx, ny, nz]` × `frames` holding `voxels` (first index fastest).
    public init(size: [Int], frames: Int = 1, voxels: [Float], spacing: [Double] = [1, 1, 1],
                affine: AffineTransform? = nil, storedType: String = "float32", source: URL? = nil) {
        precondition(size.count == 3 && size.allSatisfy { $0 > 0 }, "volume size \(size) must be three positive counts")
        precondition(frames > 0, "a volume has at least one frame, not \(frames)")
        precondition(spacing.count == 3, "spacing needs three values, not \(spacing)")
        precondition(voxels.count == size[0] * size[1] * size[2] * frames,
                     "\(size) × \(frames) volume needs \(size[0] * size[1] * size[2] * frames) voxels, got \(voxels.count)")
        self.size = size
        self.frames = frames
        self.voxels = voxels
        self.spacing = spacing
        self.affine = affine ?? AffineTransform.scaling(spacing)
        self.storedType = storedType
        self.source = source
    }

    /// Voxels in one frame: `nx · ny · nz`.
    public var voxelsPerFrame: Int { size[0] * size[1] * size[2] }

    /// The voxel at `(i, j, k)` of frame `t`.
    public subscript(i: Int, j: Int, k: Int, frame t: Int = 0) -> Float {
        precondition(i >= 0 && i < size[0] && j >= 0 && j < size[1] && k >= 0 && k < size[2] && t >= 0 && t < frames,
                     "(\(i), \(j), \(k), t \(t)) outside \(size) × \(frames)")
        return voxels[((t * size[2] + k) * size[1] + j) * size[0] + i]
    }

    /// Frame `t` alone, as a one-frame volume with the same geometry.
    public func frame(_ t: Int) -> Volume {
        precondition(t >= 0 && t < frames, "frame \(t) outside 0..<\(frames)")
        let n = voxelsPerFrame
        return Volume(size: size, voxels: Array(voxels[t * n ..< (t + 1) * n]), spacing: spacing, affine: affine,
                      storedType: storedType, source: source)
    }

    /// The same geometry with other voxel values (e.g. a label map predicted for this volume).
    public func replacingVoxels(_ newVoxels: [Float], storedType: String) -> Volume {
        Volume(size: size, frames: newVoxels.count / voxelsPerFrame, voxels: newVoxels, spacing: spacing,
               affine: affine, storedType: storedType, source: source)
    }

    /// Orientation codes of the voxel axes, e.g. `"RAS"` or `"LPS"`: letter `a` names the world direction
    /// toward which index `a` grows (see `AffineTransform.axisCodes`).
    public var orientation: String { affine.axisCodes }
}

/// A 4 × 4 affine transform from voxel indices `(i, j, k, 1)` to world coordinates `(x, y, z, 1)` in mm,
/// RAS+ as in NIfTI and nibabel: +x points to the patient's Right, +y Anterior, +z Superior.
/// `matrix` is row-major; the last row is `0 0 0 1`.
public struct AffineTransform: Equatable, Sendable {
    /// Row-major 4 × 4 entries.
    public var matrix: [Double]

    /// The transform with these 16 row-major entries.
    public init(rowMajor matrix: [Double]) {
        precondition(matrix.count == 16, "an affine has 16 entries, not \(matrix.count)")
        self.matrix = matrix
    }

    /// Diagonal scaling by `spacing` (no rotation, no translation).
    public static func scaling(_ spacing: [Double]) -> AffineTransform {
        AffineTransform(rowMajor: [spacing[0], 0, 0, 0, 0, spacing[1], 0, 0, 0, 0, spacing[2], 0, 0, 0, 0, 1])
    }

    /// Entry at `row`, `column`.
    public subscript(row: Int, column: Int) -> Double { matrix[row * 4 + column] }

    /// World position of voxel `(i, j, k)`.
    public func apply(_ i: Double, _ j: Double, _ k: Double) -> (x: Double, y: Double, z: Double) {
        (self[0, 0] * i + self[0, 1] * j + self[0, 2] * k + self[0, 3],
         self[1, 0] * i + self[1, 1] * j + self[1, 2] * k + self[1, 3],
         self[2, 0] * i + self[2, 1] * j + self[2, 2] * k + self[2, 3])
    }

    /// The world axis (0 = x, 1 = y, 2 = z) and sign each voxel axis points along most closely: for each
    /// column of the 3 × 3 part, normalised, the largest |entry| whose world axis is not taken yet, the
    /// columns visited in order of their largest |entry| (greedy, as nibabel's `io_orientation` does for
    /// non-oblique affines). A zero column gets axis −1.
    public var axisDirections: [(axis: Int, sign: Int)] {
        var result = [(axis: Int, sign: Int)](repeating: (-1, 1), count: 3)
        var columns: [[Double]] = (0..<3).map { c in
            let v = (0..<3).map { self[$0, c] }
            let norm = (v.map { $0 * $0 }.reduce(0, +)).squareRoot()
            return norm > 0 ? v.map { $0 / norm } : v
        }
        var taken = Set<Int>()
        let order = (0..<3).sorted { columns[$0].map(abs).max()! > columns[$1].map(abs).max()! }
        for c in order {
            guard let best = (0..<3).filter({ !taken.contains($0) && columns[c][$0] != 0 })
                .max(by: { abs(columns[c][$0]) < abs(columns[c][$1]) }) else { continue }
            taken.insert(best)
            result[c] = (best, columns[c][best] < 0 ? -1 : 1)
            columns[c][best] = 0
        }
        return result
    }

    /// Axis codes as nibabel's `aff2axcodes`: `"RAS"` when i, j, k grow toward Right, Anterior,
    /// Superior; `L`, `P`, `I` for the opposite directions; `?` for a degenerate axis.
    public var axisCodes: String {
        let positive: [Character] = ["R", "A", "S"], negative: [Character] = ["L", "P", "I"]
        return String(axisDirections.map { d in d.axis < 0 ? "?" : (d.sign > 0 ? positive[d.axis] : negative[d.axis]) })
    }
}
