import Foundation

/// Where DICOM slices lie in the patient, and the voxel → world affine of a stack of them.
///
/// DICOM gives, per slice, Image Orientation Patient (row direction cosine `r`, then column direction
/// cosine `c`: unit vectors along which the column index and the row index grow), Image Position
/// Patient (`p`, the centre of the first pixel) and Pixel Spacing (`[between rows, between columns]`),
/// all in LPS+ millimetres. The slice normal is `n = r × c`. For voxel `(i = column, j = row, k = slice)`
/// the LPS affine has columns `r · PixelSpacing[1]`, `c · PixelSpacing[0]`, the slice step `s` (from the
/// first slice's position to the last one's, divided by `nz − 1`), and translation `p` of the first
/// slice; rows 0 and 1 are then negated to give RAS+ as NIfTI uses.
enum DICOMGeometry {
    /// DICOM's axes when a file states no orientation: rows along +x (toward the patient's left),
    /// columns along +y (toward posterior), LPS.
    static let defaultOrientation: [Double] = [1, 0, 0, 0, 1, 0]

    /// Relative tolerance on the spread of slice gaps (and at least 0.01 mm) before spacing is called uneven.
    static let gapTolerance = 0.01

    static func cross(_ a: [Double], _ b: [Double]) -> [Double] {
        [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]]
    }

    static func dot(_ a: [Double], _ b: [Double]) -> Double { a[0] * b[0] + a[1] * b[1] + a[2] * b[2] }

    static func norm(_ a: [Double]) -> Double { dot(a, a).squareRoot() }

    /// The slice normal `r × c` of a six-value Image Orientation Patient.
    static func normal(_ orientation: [Double]) -> [Double] {
        cross(Array(orientation[0..<3]), Array(orientation[3..<6]))
    }

    /// Whether six values are two (nearly) unit, (nearly) orthogonal direction cosines.
    static func isValidOrientation(_ orientation: [Double]) -> Bool {
        guard orientation.count == 6 else { return false }
        let r = Array(orientation[0..<3]), c = Array(orientation[3..<6])
        return abs(norm(r) - 1) < 0.01 && abs(norm(c) - 1) < 0.01 && abs(dot(r, c)) < 0.01
    }

    /// The step from one slice to the next for slices at `positions` (in stack order), checked to be
    /// distinct, in one direction along the normal and evenly spaced; `names` label the slices in errors,
    /// `fallbackSpacing` gives the step (along the normal) of a single slice.
    static func sliceStep(positions: [[Double]], names: [String], orientation: [Double], fallbackSpacing: Double,
                          file: String) throws -> [Double] {
        let normal = normal(orientation)
        guard positions.count > 1 else { return normal.map { $0 * fallbackSpacing } }
        let gaps = (1..<positions.count).map { dot(zip(positions[$0], positions[$0 - 1]).map(-), normal) }
        let mean = gaps.reduce(0, +) / Double(gaps.count)
        if let duplicate = gaps.firstIndex(where: { abs($0) < 1e-4 }) {
            throw ImagingError(file: file, problem: "has two slices at the same position: \(names[duplicate]) and "
                + "\(names[duplicate + 1]) (a volume needs distinct slice positions)")
        }
        let tolerance = max(0.01, gapTolerance * abs(mean))
        if gaps.contains(where: { abs($0 - mean) > tolerance }),
           let narrow = gaps.indices.min(by: { abs(gaps[$0]) < abs(gaps[$1]) }),
           let wide = gaps.indices.max(by: { abs(gaps[$0]) < abs(gaps[$1]) }) {
            throw ImagingError(file: file, problem: "has unevenly spaced slices: gaps from \(format(abs(gaps[narrow]))) mm "
                + "(between \(names[narrow]) and \(names[narrow + 1])) to \(format(abs(gaps[wide]))) mm (between "
                + "\(names[wide]) and \(names[wide + 1])); a volume needs one spacing")
        }
        let last = positions.count - 1
        return (0..<3).map { (positions[last][$0] - positions[0][$0]) / Double(last) }
    }

    /// The RAS+ affine of slices with `orientation`, `pixelSpacing` `[rows, columns]`, first slice
    /// position `origin` and slice step `step` (all LPS).
    static func affine(orientation: [Double], pixelSpacing: [Double], origin: [Double], step: [Double]) -> AffineTransform {
        let columns = [orientation[0..<3].map { $0 * pixelSpacing[1] }, orientation[3..<6].map { $0 * pixelSpacing[0] },
                       step, origin]
        var matrix = [Double](repeating: 0, count: 16)
        for row in 0..<3 {
            let sign: Double = row < 2 ? -1 : 1
            for column in 0..<4 { matrix[row * 4 + column] = sign * columns[column][row] }
        }
        matrix[15] = 1
        return AffineTransform(rowMajor: matrix)
    }

    static func format(_ value: Double) -> String { String(format: "%.4g", value) }
}
