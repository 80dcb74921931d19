import Foundation
import TensorCore

/// Binary cross-entropy on logits (multi-label classification), as `torch.nn.BCEWithLogitsLoss` on the
/// entries whose target is known.
///
/// Per entry `ℓ(x, y) = max(x, 0) − x·y + log(1 + exp(−|x|))`; the loss is the mean of `ℓ` over the entries
/// whose target is not NaN (NaN marks an unknown label, masked out of the value and of the gradient), and
/// `∂loss/∂x = (σ(x) − y) / known` on known entries, 0 on unknown ones. With no known entry the loss and
/// the gradient are 0.
public enum BinaryCrossEntropy {
    /// Sum of `ℓ` over the known entries of a `[rows, columns]` block, and their count; when `gradient` is
    /// given, writes `(σ(x) − y) · gradientScale` for known entries and 0 for unknown ones.
    ///
    /// `logits` and `gradient` rows are `logitStride` / `gradientStride` elements apart (a column block
    /// of a wider matrix); `targets` is contiguous `[rows, columns]`. Targets are not checked here.
    public static func accumulate(
        logits: UnsafePointer<Float>, logitStride: Int, targets: UnsafePointer<Float>, rows: Int, columns: Int,
        gradient: UnsafeMutablePointer<Float>?, gradientStride: Int, gradientScale: Float
    ) -> (sum: Double, known: Int) {
        var sum = 0.0
        var known = 0
        for row in 0..<rows {
            let x = logits + row * logitStride
            let y = targets + row * columns
            let g = gradient.map { $0 + row * gradientStride }
            for column in 0..<columns {
                let target = y[column]
                guard !target.isNaN else { g?[column] = 0; continue }
                let logit = x[column]
                sum += Double(max(logit, 0) - logit * target + log1p(exp(-abs(logit))))
                known += 1
                g?[column] = (sigmoid(logit) - target) * gradientScale
            }
        }
        return (sum, known)
    }

    /// Number of non-NaN targets in a contiguous block.
    public static func knownCount(_ targets: UnsafePointer<Float>, count: Int) -> Int {
        var known = 0
        for i in 0..<count where !targets[i].isNaN { known += 1 }
        return known
    }

    /// Checks that every target is NaN (unknown) or in [0, 1].
    public static func validateTargets(_ targets: UnsafeBufferPointer<Float>) throws {
        if let bad = targets.firstIndex(where: { !$0.isNaN && !(0...1).contains($0) }) {
            throw TrainingError("binary targets must be in [0, 1] or NaN (unknown); element \(bad) is \(targets[bad])")
        }
    }

    /// The mean loss over known entries of `logits` `[rows, columns]` against `targets` of the same shape,
    /// and its gradient.
    public static func loss(logits: Tensor, targets: Tensor) throws -> LossResult {
        let (rows, columns) = try logits.matrixShape("logits")
        guard targets.shape == logits.shape else {
            throw TrainingError("targets \(targets.shape) do not match logits \(logits.shape)")
        }
        try targets.withUnsafeBufferPointer(validateTargets)
        var value: Float = 0
        let gradient = logits.withUnsafeBufferPointer { x in
            targets.withUnsafeBufferPointer { y in
                let known = knownCount(y.baseAddress!, count: y.count)
                return Tensor(uninitializedShape: logits.shape) { g in
                    let result = accumulate(logits: x.baseAddress!, logitStride: columns, targets: y.baseAddress!,
                                            rows: rows, columns: columns, gradient: g.baseAddress!, gradientStride: columns,
                                            gradientScale: known == 0 ? 0 : 1 / Float(known))
                    value = known == 0 ? 0 : Float(result.sum / Double(known))
                }
            }
        }
        return LossResult(value: value, gradient: gradient)
    }

    /// `1 / (1 + exp(−x))`, without overflow for large |x|.
    @inline(__always)
    static func sigmoid(_ x: Float) -> Float {
        if x >= 0 { return 1 / (1 + exp(-x)) }
        let e = exp(x)
        return e / (1 + e)
    }
}
