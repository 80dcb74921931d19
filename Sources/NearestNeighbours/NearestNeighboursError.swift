/// Input that the neighbour search or a kNN classifier cannot use; the description says what is wrong
/// and where (which set, row, column or query).
public enum NearestNeighboursError: Error, Equatable, CustomStringConvertible {
    /// A feature set is not a `[rows, dimension]` matrix.
    case notAMatrix(set: String, shape: [Int])
    /// A feature set has no rows or no columns.
    case emptySet(set: String)
    /// Support and query rows have different lengths.
    case dimensionMismatch(support: Int, queries: Int)
    /// A feature is NaN or infinite.
    case nonFiniteFeature(set: String, row: Int, column: Int)
    /// `k` is below 1 or above the support rows that remain for some query.
    case invalidNeighbourCount(k: Int, available: Int)
    /// The list of neighbour counts is empty or repeats a value.
    case invalidNeighbourCounts([Int])
    /// The softmax temperature is not a positive finite number.
    case invalidTemperature(Float)
    /// The ML-kNN smoothing is not a positive finite number.
    case invalidSmoothing(Double)
    /// A block size is below 1.
    case invalidBlockRows(Int)
    /// The number of labels differs from the number of support rows.
    case labelCountMismatch(labels: Int, supportRows: Int)
    /// The number of classes is below 1.
    case invalidClassCount(Int)
    /// A class label lies outside `0..<classCount`.
    case classLabelOutOfRange(row: Int, label: Int, classCount: Int)
    /// A multi-label entry is neither 0 nor 1 (NaN included: unknown labels).
    case notBinaryLabel(row: Int, column: Int, value: Float)
    /// The exclusion list does not have one entry per query.
    case exclusionCountMismatch(exclusions: Int, queries: Int)
    /// An excluded support index lies outside the support set.
    case excludedIndexOutOfRange(query: Int, index: Int, supportRows: Int)

    public var description: String {
        switch self {
        case let .notAMatrix(set, shape):
            return "\(set) features must be a [rows, dimension] matrix, got shape \(shape)"
        case let .emptySet(set):
            return "\(set) features are empty: at least one row of at least one value is needed"
        case let .dimensionMismatch(support, queries):
            return "query rows have \(queries) values but support rows have \(support)"
        case let .nonFiniteFeature(set, row, column):
            return "\(set) feature at row \(row), column \(column) is not finite"
        case let .invalidNeighbourCount(k, available):
            return "k = \(k) neighbours cannot be taken: k must be between 1 and the \(available) support rows available"
        case let .invalidNeighbourCounts(counts):
            return "neighbour counts \(counts) must be a non-empty list of distinct values"
        case let .invalidTemperature(temperature):
            return "temperature \(temperature) must be a positive finite number"
        case let .invalidSmoothing(smoothing):
            return "smoothing \(smoothing) must be a positive finite number"
        case let .invalidBlockRows(rows):
            return "block size \(rows) must be at least 1 row"
        case let .labelCountMismatch(labels, supportRows):
            return "\(labels) label rows for \(supportRows) support rows"
        case let .invalidClassCount(count):
            return "class count \(count) must be at least 1"
        case let .classLabelOutOfRange(row, label, classCount):
            return "label \(label) of support row \(row) is outside 0..<\(classCount)"
        case let .notBinaryLabel(row, column, value):
            return "label at row \(row), column \(column) is \(value), not 0 or 1; "
                + "unknown or uncertain labels must be resolved by the dataset's label policy before ML-kNN"
        case let .exclusionCountMismatch(exclusions, queries):
            return "\(exclusions) excluded support indices given for \(queries) queries: one entry (or nil) per query is needed"
        case let .excludedIndexOutOfRange(query, index, supportRows):
            return "excluded support index \(index) of query \(query) is outside 0..<\(supportRows)"
        }
    }
}
