/// Bad input to a segmentation metric: each case says what was wrong, so the message can be shown as is
/// (the command line puts the file's name in front).
public enum SegmentationMetricsError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A label map's shape is not two or three positive extents.
    case unsupportedShape([Int])
    /// The number of labels (or mask values) is not the product of the shape's extents.
    case labelCountMismatch(shape: [Int], count: Int)
    /// A label value is not a whole number (`Float` input); `coordinates` are in the map's axis order.
    case nonIntegerLabel(coordinates: [Int], value: Float)
    /// A whole-number label lies outside `0...LabelMap.largestSupportedLabel` (`value` is whole).
    case labelOutOfRange(coordinates: [Int], value: Double)
    /// A label is not below the class count the caller asked for.
    case labelBeyondClassCount(map: String, label: Int, classCount: Int)
    /// Prediction and truth have different shapes.
    case shapeMismatch(prediction: [Int], truth: [Int])
    /// The spacing does not give one positive, finite size per axis.
    case invalidSpacing(spacing: [Double], axes: Int)
    /// The class count is not positive.
    case invalidClassCount(Int)
    /// A Hausdorff percentile outside 0…100.
    case invalidPercentile(Double)

    public var description: String {
        switch self {
        case let .unsupportedShape(shape):
            return "a label map must be 2D or 3D with positive extents, not of shape \(shape)"
        case let .labelCountMismatch(shape, count):
            return "a grid of shape \(shape) needs \(shape.reduce(1, *)) values, got \(count)"
        case let .nonIntegerLabel(coordinates, value):
            return "holds \(value) at voxel \(Self.describe(coordinates)), which is not a whole-number label"
        case let .labelOutOfRange(coordinates, value):
            return "holds label \(Self.describe(value)) at voxel \(Self.describe(coordinates)); labels must lie in 0...\(LabelMap.largestSupportedLabel)"
        case let .labelBeyondClassCount(map, label, classCount):
            return "the \(map) holds label \(label), but there are only \(classCount) classes (labels 0...\(classCount - 1))"
        case let .shapeMismatch(prediction, truth):
            return "the prediction has shape \(prediction) but the truth has shape \(truth)"
        case let .invalidSpacing(spacing, axes):
            return "spacing \(spacing) must give \(axes) positive finite voxel sizes, one per axis"
        case let .invalidClassCount(count):
            return "the class count must be at least 1, not \(count)"
        case let .invalidPercentile(percentile):
            return "the Hausdorff percentile must lie in 0...100, not \(percentile)"
        }
    }

    /// A label: a whole number as an integer (`-3`, `70000`), a huge one as the `Float` it came from (`1e+30`).
    static func describe(_ value: Double) -> String {
        abs(value) < 1e15 ? String(Int(value)) : "\(Float(value))"
    }

    /// `(a, b, c)`.
    static func describe(_ coordinates: [Int]) -> String { "(" + coordinates.map(String.init).joined(separator: ", ") + ")" }
}
