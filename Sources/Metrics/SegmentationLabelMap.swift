/// An integer label map of a 2D image or a 3D volume: `shape` `[n0, n1]` or `[n0, n1, n2]`, labels in C
/// order (the last axis fastest, as NumPy stores arrays), 0 the background and 1, 2, … the classes.
public struct LabelMap: Equatable, Sendable {
    /// The largest label accepted (per-class tallies are sized by the largest label present).
    public static let largestSupportedLabel = 65_535

    /// Extents, slowest axis first: `[n0, n1]` or `[n0, n1, n2]`.
    public let shape: [Int]
    /// `n0 · n1 (· n2)` labels, last axis fastest.
    public let labels: [Int32]

    /// A label map of `shape` holding `labels`, each in `0...largestSupportedLabel`.
    public init(shape: [Int], labels: [Int32]) throws {
        try Self.validate(shape: shape, count: labels.count)
        if let index = labels.firstIndex(where: { $0 < 0 || Int($0) > Self.largestSupportedLabel }) {
            throw SegmentationMetricsError.labelOutOfRange(coordinates: Self.coordinates(of: index, in: shape), value: Double(labels[index]))
        }
        self.shape = shape
        self.labels = labels
    }

    /// A label map of `shape` holding 8-bit `labels`.
    public init(shape: [Int], labels: [UInt8]) throws {
        try self.init(shape: shape, labels: labels.map { Int32($0) })
    }

    /// A label map of `shape` from `Float` values (e.g. a NIfTI volume's voxels), each a whole number in
    /// `0...largestSupportedLabel`; the first that is not is named in the error.
    public init(shape: [Int], values: [Float]) throws {
        try Self.validate(shape: shape, count: values.count)
        var labels = [Int32](repeating: 0, count: values.count)
        for (index, value) in values.enumerated() {
            guard value.rounded(.towardZero) == value else {  // false for NaN and ±∞ too
                throw SegmentationMetricsError.nonIntegerLabel(coordinates: Self.coordinates(of: index, in: shape), value: value)
            }
            guard value >= 0, value <= Float(Self.largestSupportedLabel) else {
                throw SegmentationMetricsError.labelOutOfRange(coordinates: Self.coordinates(of: index, in: shape), value: Double(value))
            }
            labels[index] = Int32(value)
        }
        self.shape = shape
        self.labels = labels
    }

    /// The largest label present (0 for an all-background map).
    public var largestLabel: Int { Int(labels.max() ?? 0) }

    private static func validate(shape: [Int], count: Int) throws {
        guard (2...3).contains(shape.count), shape.allSatisfy({ $0 > 0 }) else { throw SegmentationMetricsError.unsupportedShape(shape) }
        guard shape.reduce(1, *) == count else { throw SegmentationMetricsError.labelCountMismatch(shape: shape, count: count) }
    }

    /// The coordinates (slowest axis first) of the C-order `index` in a grid of `shape`.
    static func coordinates(of index: Int, in shape: [Int]) -> [Int] {
        var rest = index
        var result = [Int](repeating: 0, count: shape.count)
        for axis in shape.indices.reversed() {
            result[axis] = rest % shape[axis]
            rest /= shape[axis]
        }
        return result
    }
}
