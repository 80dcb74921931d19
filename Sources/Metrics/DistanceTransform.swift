/// Exact Euclidean distance transform of a C-ordered grid (any number of axes) with anisotropic spacing,
/// by the separable method of Felzenszwalb & Huttenlocher ("Distance transforms of sampled functions",
/// 2012): one pass per axis computes `D(q) = min_p ((q − p)·h)² + f(p)` along every line of that axis as
/// the lower envelope of parabolas rooted at the sample positions `p·h`, so the whole transform is
/// O(voxels · axes) — the same squared distances as `scipy.ndimage.distance_transform_edt(~features,
/// sampling=spacing)²`, to rounding.
public enum DistanceTransform {
    /// For every voxel of a grid of `shape` (last axis fastest), the squared distance in spacing units²
    /// (mm² for spacing in mm) to the nearest voxel where `isFeature` is true; `+∞` everywhere when no
    /// voxel is a feature.
    public static func squaredEuclidean(isFeature: [Bool], shape: [Int], spacing: [Double]) throws -> [Double] {
        guard !shape.isEmpty, shape.allSatisfy({ $0 > 0 }) else { throw SegmentationMetricsError.unsupportedShape(shape) }
        guard shape.reduce(1, *) == isFeature.count else {
            throw SegmentationMetricsError.labelCountMismatch(shape: shape, count: isFeature.count)
        }
        try requireSpacing(spacing, axes: shape.count)
        var distances = isFeature.map { $0 ? 0.0 : Double.infinity }
        transformInPlace(&distances, shape: shape, spacing: spacing)
        return distances
    }

    /// Checks that `spacing` holds one positive, finite size per axis.
    static func requireSpacing(_ spacing: [Double], axes: Int) throws {
        guard spacing.count == axes, spacing.allSatisfy({ $0 > 0 && $0.isFinite }) else {
            throw SegmentationMetricsError.invalidSpacing(spacing: spacing, axes: axes)
        }
    }

    /// Replaces `values` (0 at features, `+∞` elsewhere, or any sampled function) by its squared-distance
    /// transform, one axis after the other. `shape` and `spacing` are valid.
    static func transformInPlace(_ values: inout [Double], shape: [Int], spacing: [Double]) {
        let workspace = LineWorkspace(length: shape.max()!, lines: linesPerBlock)
        defer { workspace.deallocate() }
        values.withUnsafeMutableBufferPointer { grid in
            var stride = grid.count
            for axis in shape.indices {
                let length = shape[axis]
                stride /= length
                transformAxis(grid.baseAddress!, count: grid.count, length: length, stride: stride, spacing: spacing[axis],
                              workspace: workspace)
            }
        }
    }

    /// Lines of a strided axis gathered at once, so each read of the grid takes a run of neighbours.
    static let linesPerBlock = 16

    /// Transforms every line of one axis: `length` samples `stride` apart; the lines of one block of
    /// `length · stride` values start at consecutive offsets.
    private static func transformAxis(_ grid: UnsafeMutablePointer<Double>, count: Int, length: Int, stride: Int,
                                      spacing: Double, workspace: LineWorkspace) {
        let blockSize = length * stride
        for blockStart in Swift.stride(from: 0, to: count, by: blockSize) {
            if stride == 1 {
                workspace.transform(grid + blockStart, length: length, spacing: spacing)
                continue
            }
            let lines = workspace.gathered
            for first in Swift.stride(from: 0, to: stride, by: linesPerBlock) {
                let width = min(linesPerBlock, stride - first)
                let base = grid + blockStart + first
                for position in 0..<length {
                    let row = base + position * stride
                    for line in 0..<width { lines[line * length + position] = row[line] }
                }
                for line in 0..<width { workspace.transform(lines + line * length, length: length, spacing: spacing) }
                for position in 0..<length {
                    let row = base + position * stride
                    for line in 0..<width { row[line] = lines[line * length + position] }
                }
            }
        }
    }
}

/// Scratch memory for the one-dimensional transforms (allocated once per transform, freed by its
/// owner): the lower envelope's parabolas, an output line, and a block of gathered lines.
private struct LineWorkspace {
    /// Sample index of each parabola of the envelope.
    let roots: UnsafeMutablePointer<Int>
    /// `boundaries[k]`: from where (in spacing units) parabola `k` is the lowest; one more than parabolas.
    let boundaries: UnsafeMutablePointer<Double>
    /// `f(root) + (root·h)²` of each parabola.
    let heights: UnsafeMutablePointer<Double>
    /// One transformed line before it is copied back.
    let output: UnsafeMutablePointer<Double>
    /// `[lines, length]`: lines gathered from a strided axis.
    let gathered: UnsafeMutablePointer<Double>

    init(length: Int, lines: Int) {
        roots = .allocate(capacity: length)
        boundaries = .allocate(capacity: length + 1)
        heights = .allocate(capacity: length)
        output = .allocate(capacity: length)
        gathered = .allocate(capacity: length * lines)
    }

    func deallocate() {
        roots.deallocate()
        boundaries.deallocate()
        heights.deallocate()
        output.deallocate()
        gathered.deallocate()
    }

    /// `f[q] ← min_p ((q − p)·h)² + f[p]` over the finite `f[p]` of one contiguous line; a line with no
    /// finite sample stays `+∞`.
    func transform(_ f: UnsafeMutablePointer<Double>, length: Int, spacing h: Double) {
        var top = -1
        for q in 0..<length where f[q] != .infinity {
            let position = Double(q) * h
            let height = f[q] + position * position
            var boundary = -Double.infinity
            while top >= 0 {
                // Where the parabola of q falls below that of the envelope's last root.
                boundary = (height - heights[top]) / (2 * (position - Double(roots[top]) * h))
                if boundary <= boundaries[top] { top -= 1 } else { break }
            }
            if top < 0 { boundary = -.infinity }
            top += 1
            roots[top] = q
            heights[top] = height
            boundaries[top] = boundary
        }
        guard top >= 0 else { return }
        boundaries[top + 1] = .infinity
        var k = 0
        for q in 0..<length {
            let position = Double(q) * h
            while boundaries[k + 1] < position { k += 1 }
            let offset = position - Double(roots[k]) * h
            output[q] = offset * offset + f[roots[k]]
        }
        f.update(from: output, count: length)
    }
}
