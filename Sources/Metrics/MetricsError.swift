/// Bad input to a metric: each case names what was wrong, so the message can be shown as is.
public enum MetricsError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Two inputs that must describe the same rows (or classes) have different lengths.
    case lengthMismatch(what: String, expected: Int, actual: Int)
    /// An input that needs at least one element (row, class, patient) has none.
    case empty(what: String)
    /// A score is NaN or infinite.
    case nonFiniteScore(what: String, index: Int)
    /// A binary label is not 0 or 1 (or NaN where unknown labels are allowed).
    case invalidBinaryLabel(index: Int, value: Double)
    /// A class label lies outside `0..<classCount`.
    case invalidClassLabel(index: Int, value: Int, classCount: Int)
    /// A matrix's value count is not `rows · columns`.
    case invalidShape(rows: Int, columns: Int, valueCount: Int)
    /// The bootstrap confidence is not strictly between 0 and 1.
    case invalidConfidence(Double)
    /// The bootstrap resample count is not positive.
    case invalidResampleCount(Int)

    public var description: String {
        switch self {
        case let .lengthMismatch(what, expected, actual):
            return "\(what): expected \(expected) entries, got \(actual)"
        case let .empty(what):
            return "\(what) is empty"
        case let .nonFiniteScore(what, index):
            return "\(what) holds a non-finite score (NaN or infinity) at index \(index)"
        case let .invalidBinaryLabel(index, value):
            return "label \(value) at index \(index) is not 0 or 1"
        case let .invalidClassLabel(index, value, classCount):
            return "class label \(value) at index \(index) is outside 0..<\(classCount)"
        case let .invalidShape(rows, columns, valueCount):
            return "a \(rows) × \(columns) matrix needs \(rows * columns) values, got \(valueCount)"
        case let .invalidConfidence(confidence):
            return "confidence \(confidence) is not strictly between 0 and 1"
        case let .invalidResampleCount(count):
            return "the bootstrap needs a positive number of resamples, not \(count)"
        }
    }
}
