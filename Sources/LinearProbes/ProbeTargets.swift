import TensorCore
import Training

/// Training or evaluation labels of a probe.
public enum ProbeTargets: Sendable {
    /// Multi-label targets `[count, classes]`: 1, 0, or NaN for unknown; trained with binary cross-entropy
    /// on logits (unknown entries masked out).
    case multiLabel(Tensor)
    /// One class index in `0..<classes` per item; trained with cross-entropy.
    case multiClass(labels: [Int], classes: Int)

    /// Number of items.
    public var count: Int {
        switch self {
        case .multiLabel(let targets): targets.rank == 2 ? targets.shape[0] : 0
        case .multiClass(let labels, _): labels.count
        }
    }

    /// Number of outputs of a head.
    public var classes: Int {
        switch self {
        case .multiLabel(let targets): targets.rank == 2 ? targets.shape[1] : 0
        case .multiClass(_, let classes): classes
        }
    }

    /// Checks the labels and that there is one per item of `count` items.
    func validate(itemCount: Int, role: String) throws {
        switch self {
        case .multiLabel(let targets):
            guard targets.rank == 2, targets.shape[1] > 0 else { throw TrainingError("\(role) multi-label targets must be [items, classes], not \(targets.shape)") }
            try targets.withUnsafeBufferPointer(BinaryCrossEntropy.validateTargets)
        case .multiClass(let labels, let classes):
            try CrossEntropy.validateLabels(labels, classes: classes)
        }
        guard count == itemCount else { throw TrainingError("\(role) has \(itemCount) feature rows but \(count) labels") }
    }

    /// The targets of `self` followed by those of `other` (same kind and classes).
    public func appending(_ other: ProbeTargets) throws -> ProbeTargets {
        switch (self, other) {
        case (.multiLabel(let a), .multiLabel(let b)) where a.rank == 2 && b.rank == 2 && a.shape[1] == b.shape[1]:
            return .multiLabel(.concatenate([a, b]))
        case (.multiClass(let a, let classes), .multiClass(let b, let otherClasses)) where classes == otherClasses:
            return .multiClass(labels: a + b, classes: classes)
        default:
            throw TrainingError("cannot join targets of different kinds or class counts")
        }
    }
}
