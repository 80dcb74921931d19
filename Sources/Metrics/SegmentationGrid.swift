/// A 2D or 3D C-ordered grid seen as 3D: `[n0, n1]` becomes `[1, n0, n1]` with no neighbours along the
/// added axis, so one set of loops serves both.
struct SegmentationGrid: Equatable {
    /// `[n0, n1, n2]`, last axis fastest.
    let extents: [Int]
    /// Whether axis 0 is a real axis (false for a 2D grid seen as one slice).
    let isVolume: Bool

    /// The grid of a 2D or 3D `shape` (validated by the caller).
    init(shape: [Int]) {
        extents = shape.count == 2 ? [1] + shape : shape
        isVolume = shape.count == 3
    }

    init(extents: [Int], isVolume: Bool) {
        self.extents = extents
        self.isVolume = isVolume
    }

    var count: Int { extents[0] * extents[1] * extents[2] }

    /// A spacing for the three axes from one per real axis (the added axis gets 1: its lines have one voxel).
    func spacing3D(_ spacing: [Double]) -> [Double] { isVolume ? spacing : [1] + spacing }

    /// The voxels of `mask` with a face neighbour (4 in 2D, 6 in 3D) outside the mask or outside the grid.
    func surface(of mask: [Bool]) -> [Bool] {
        let (n0, n1, n2) = (extents[0], extents[1], extents[2])
        var surface = [Bool](repeating: false, count: mask.count)
        for i0 in 0..<n0 {
            for i1 in 0..<n1 {
                let row = (i0 * n1 + i1) * n2
                for i2 in 0..<n2 where mask[row + i2] {
                    let index = row + i2
                    var onSurface = i1 == 0 || i1 == n1 - 1 || i2 == 0 || i2 == n2 - 1
                        || !mask[index - n2] || !mask[index + n2] || !mask[index - 1] || !mask[index + 1]
                    if isVolume && !onSurface {
                        onSurface = i0 == 0 || i0 == n0 - 1 || !mask[index - n1 * n2] || !mask[index + n1 * n2]
                    }
                    surface[index] = onSurface
                }
            }
        }
        return surface
    }
}

/// An axis-aligned box `lower...upper` (inclusive, per axis) of a `SegmentationGrid`.
struct GridBox: Equatable {
    var lower: [Int]
    var upper: [Int]

    /// The smallest box holding both boxes.
    func union(_ other: GridBox) -> GridBox {
        GridBox(lower: zip(lower, other.lower).map { min($0, $1) }, upper: zip(upper, other.upper).map { max($0, $1) })
    }

    /// The box's own grid (as 2D or 3D as `grid`).
    func grid(within grid: SegmentationGrid) -> SegmentationGrid {
        SegmentationGrid(extents: (0..<3).map { upper[$0] - lower[$0] + 1 }, isVolume: grid.isVolume)
    }

    /// `include(index)` for every voxel of the box, as a mask over the box (C order); `index` is the
    /// voxel's flat index in `grid`.
    func mask(in grid: SegmentationGrid, _ include: (Int) -> Bool) -> [Bool] {
        let n1 = grid.extents[1], n2 = grid.extents[2]
        var mask: [Bool] = []
        mask.reserveCapacity(self.grid(within: grid).count)
        for i0 in lower[0]...upper[0] {
            for i1 in lower[1]...upper[1] {
                let row = (i0 * n1 + i1) * n2
                for i2 in lower[2]...upper[2] { mask.append(include(row + i2)) }
            }
        }
        return mask
    }

    /// The bounding box of the voxels holding each label `1..<classCount` (nil for a label not present);
    /// labels outside that range are ignored.
    static func boundingBoxes(of labels: [Int32], in grid: SegmentationGrid, classCount: Int) -> [GridBox?] {
        let n0 = grid.extents[0], n1 = grid.extents[1], n2 = grid.extents[2]
        var lower = [Int](repeating: .max, count: classCount * 3), upper = [Int](repeating: -1, count: classCount * 3)
        labels.withUnsafeBufferPointer { labels in
            for i0 in 0..<n0 {
                for i1 in 0..<n1 {
                    let row = (i0 * n1 + i1) * n2
                    for i2 in 0..<n2 {
                        let label = Int(labels[row + i2])
                        guard label > 0, label < classCount else { continue }
                        let base = label * 3
                        lower[base] = min(lower[base], i0); upper[base] = max(upper[base], i0)
                        lower[base + 1] = min(lower[base + 1], i1); upper[base + 1] = max(upper[base + 1], i1)
                        lower[base + 2] = min(lower[base + 2], i2); upper[base + 2] = max(upper[base + 2], i2)
                    }
                }
            }
        }
        return (0..<classCount).map { label in
            upper[label * 3] < 0 ? nil : GridBox(lower: Array(lower[label * 3 ..< label * 3 + 3]),
                                                 upper: Array(upper[label * 3 ..< label * 3 + 3]))
        }
    }
}
