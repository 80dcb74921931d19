import Foundation
import TensorCore

/// Cross-entropy over class indices (multi-class classification), as `torch.nn.CrossEntropyLoss` with
/// mean reduction: per row `ℓ = logsumexp(x) − x[y]` (computed as `m + log Σ exp(x − m)`, `m = max x`),
/// the loss is the mean over rows and `∂loss/∂x = (softmax(x) − onehot(y)) / rows`.
public enum CrossEntropy {
    /// Sum of `ℓ` over `rows` rows of `classes` logits (rows `logitStride` apart); when `gradient` is
    /// given, writes `(softmax(x) − onehot(y)) · gradientScale` (rows `gradientStride` apart).
    /// `labels` must be in `0..<classes` (not checked here).
    public static func accumulate(
        logits: UnsafePointer<Float>, logitStride: Int, labels: UnsafePointer<Int>, rows: Int, classes: Int,
        gradient: UnsafeMutablePointer<Float>?, gradientStride: Int, gradientScale: Float
    ) -> Double {
        var sum = 0.0
        for row in 0..<rows {
            let x = logits + row * logitStride
            var maximum = -Float.infinity
            for c in 0..<classes { maximum = max(maximum, x[c]) }
            var total: Float = 0
            for c in 0..<classes { total += exp(x[c] - maximum) }
            let logSumExp = maximum + log(total)
            let label = labels[row]
            sum += Double(logSumExp - x[label])
            if let g = gradient.map({ $0 + row * gradientStride }) {
                for c in 0..<classes { g[c] = exp(x[c] - logSumExp) * gradientScale }
                g[label] -= gradientScale
            }
        }
        return sum
    }

    /// Checks that every label is in `0..<classes`.
    public static func validateLabels(_ labels: [Int], classes: Int) throws {
        guard classes > 0 else { throw TrainingError("cross-entropy needs at least one class") }
        if let bad = labels.firstIndex(where: { !(0..<classes).contains($0) }) {
            throw TrainingError("class labels must be in 0..<\(classes); label \(bad) is \(labels[bad])")
        }
    }

    /// The mean loss of `logits` `[rows, classes]` against one class index per row, and its gradient.
    public static func loss(logits: Tensor, labels: [Int]) throws -> LossResult {
        let (rows, classes) = try logits.matrixShape("logits")
        guard labels.count == rows else { throw TrainingError("\(labels.count) labels for \(rows) rows of logits") }
        guard rows > 0 else { throw TrainingError("cross-entropy of an empty batch") }
        try validateLabels(labels, classes: classes)
        var value: Float = 0
        let gradient = logits.withUnsafeBufferPointer { x in
            labels.withUnsafeBufferPointer { y in
                Tensor(uninitializedShape: logits.shape) { g in
                    let sum = accumulate(logits: x.baseAddress!, logitStride: classes, labels: y.baseAddress!, rows: rows,
                                         classes: classes, gradient: g.baseAddress!, gradientStride: classes,
                                         gradientScale: 1 / Float(rows))
                    value = Float(sum / Double(rows))
                }
            }
        }
        return LossResult(value: value, gradient: gradient)
    }
}
