import FineTuning
import TensorCore
import Training

/// Whether an image has one class (softmax over the classes, cross-entropy) or any number of findings (one
/// sigmoid per finding, binary cross-entropy with logits).
public enum ClassificationTask: String, Codable, Sendable {
    case multiClass = "multi_class"
    case multiLabel = "multi_label"
}

/// The labels of a batch of `B` images for `K` classes: one class index per image (multi-class), or `[B, K]`
/// findings as 1 / 0 with NaN for unknown (multi-label; unknown entries are left out of the loss).
public enum ClassificationTargets: Sendable {
    /// `B` class indices in `0..<K`.
    case classes([Int])
    /// `[B, K]`: 1 present, 0 absent, NaN unknown.
    case findings(Tensor)

    /// The number of images labelled.
    public var count: Int {
        switch self {
        case let .classes(indices): indices.count
        case let .findings(values): values.shape.first ?? 0
        }
    }

    /// The mean loss of `logits` `[B, K]` and its gradient: `CrossEntropy` for class indices,
    /// `BinaryCrossEntropy` over the known findings. Throws when the targets do not fit `task` or the logits.
    func loss(logits: Tensor, task: ClassificationTask) throws -> LossResult {
        switch (self, task) {
        case let (.classes(indices), .multiClass): return try CrossEntropy.loss(logits: logits, labels: indices)
        case let (.findings(values), .multiLabel): return try BinaryCrossEntropy.loss(logits: logits, targets: values)
        case (.classes, .multiLabel): throw FineTuningError("a multi-label classifier needs findings [B, K], not class indices")
        case (.findings, .multiClass): throw FineTuningError("a multi-class classifier needs class indices, not findings [B, K]")
        }
    }
}
