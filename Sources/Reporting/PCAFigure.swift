import MedicalImaging
import TensorCore

/// The patch features of one image: `features` `[gridHeight · gridWidth, D]`, rows of the patch grid in raster order.
public struct PatchFeatureMap: Sendable {
    public var features: Tensor // [h·w, D]
    public var gridHeight: Int
    public var gridWidth: Int

    public init(features: Tensor, gridHeight: Int, gridWidth: Int) throws {
        guard features.shape.count == 2, features.shape[0] == gridHeight * gridWidth else {
            throw ReportError("patch features of shape \(features.shape) do not fill a \(gridHeight)×\(gridWidth) patch grid")
        }
        self.features = features
        self.gridHeight = gridHeight
        self.gridWidth = gridWidth
    }

    /// Whether patch `index` lies on the grid's outer ring.
    func isBorder(_ index: Int) -> Bool {
        let y = index / gridWidth, x = index % gridWidth
        return y == 0 || x == 0 || y == gridHeight - 1 || x == gridWidth - 1
    }
}

/// The study's Figure 2: a PCA of the patch features of several images taken jointly, as in DINOv2's demo.
///
/// 1. The principal axes of all images' patches together (`PatchPCA`, four axes).
/// 2. Foreground: the first projection is oriented so that the mean over the border patches (each grid's
///    outer ring) is at least the mean over all patches — the border is taken as background — then min–max
///    scaled to [0, 1] over all patches; a patch is foreground when that value is at most `threshold`
///    (0.35, DINOv2's demo value).
/// 3. Colour: projections 2, 3 and 4, each min–max scaled to [0, 1] over the foreground patches, are the red,
///    green and blue of foreground patches; background patches are black.
public struct PCAFigure: Sendable {
    public static let defaultThreshold = 0.35

    /// The feature maps, one per image.
    public let maps: [PatchFeatureMap]
    /// Per patch of all images in order: whether it is foreground.
    public let foreground: [Bool]
    /// Per patch of all images in order: red, green and blue in [0, 1].
    public let colours: [[Double]]

    public init(maps: [PatchFeatureMap], threshold: Double = PCAFigure.defaultThreshold) throws {
        guard !maps.isEmpty else { throw ReportError("the PCA figure needs at least one image") }
        guard Set(maps.map { $0.features.shape[1] }).count == 1 else { throw ReportError("the images' patch features differ in width") }
        let features = Tensor.concatenate(maps.map(\.features))
        let pca = try PatchPCA(features: features, count: 4)
        let projections = pca.project(features)
        let border = maps.flatMap { map in (0..<map.gridHeight * map.gridWidth).map(map.isBorder) }
        var first = projections.map { $0[0] }
        let borderValues = zip(first, border).filter(\.1).map(\.0)
        if !borderValues.isEmpty, Self.mean(borderValues) < Self.mean(first) { first = first.map { -$0 } }
        let scaled = Self.minMax(first)
        let isForeground = scaled.map { $0 <= threshold }
        var colours = [[Double]](repeating: [0, 0, 0], count: first.count)
        let foregroundIndices = isForeground.indices.filter { isForeground[$0] }
        for channel in 0..<3 where channel + 1 < pca.axes.count {
            let values = Self.minMax(foregroundIndices.map { projections[$0][channel + 1] })
            for (index, value) in zip(foregroundIndices, values) { colours[index][channel] = value }
        }
        self.maps = maps
        foreground = isForeground
        self.colours = colours
    }

    /// The figure as an 8-bit RGB image: each image's patch grid upsampled (nearest) by `pixelsPerPatch`, the
    /// tiles laid out left to right, top to bottom, `columns` per row, on black.
    public func image(pixelsPerPatch: Int, columns: Int = 4) -> Image2D {
        let tileHeight = maps.map(\.gridHeight).max()! * pixelsPerPatch, tileWidth = maps.map(\.gridWidth).max()! * pixelsPerPatch
        let perRow = min(columns, maps.count), rows = (maps.count + perRow - 1) / perRow
        let width = perRow * tileWidth, height = rows * tileHeight
        var pixels = [Float](repeating: 0, count: 3 * width * height)
        var patch = 0
        for (tile, map) in maps.enumerated() {
            let originY = (tile / perRow) * tileHeight, originX = (tile % perRow) * tileWidth
            for gy in 0..<map.gridHeight {
                for gx in 0..<map.gridWidth {
                    let colour = colours[patch]
                    patch += 1
                    for y in 0..<pixelsPerPatch { for x in 0..<pixelsPerPatch {
                        let offset = (originY + gy * pixelsPerPatch + y) * width + originX + gx * pixelsPerPatch + x
                        for channel in 0..<3 { pixels[channel * width * height + offset] = Float((colour[channel] * 255).rounded()) }
                    } }
                }
            }
        }
        return Image2D(width: width, height: height, channels: 3, pixels: pixels, bitDepth: 8)
    }

    /// `values` scaled to [0, 1] by their minimum and maximum (all 0 when they are equal).
    static func minMax(_ values: [Double]) -> [Double] {
        guard let low = values.min(), let high = values.max(), high > low else { return values.map { _ in 0 } }
        return values.map { ($0 - low) / (high - low) }
    }

    private static func mean(_ values: [Double]) -> Double { values.reduce(0, +) / Double(values.count) }
}
