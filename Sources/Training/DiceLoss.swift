import Foundation
import TensorCore

/// Soft Dice loss for semantic segmentation, as MONAI's
/// `DiceLoss(softmax=True, to_onehot_y=True, include_background=…, smooth_nr=1e-5, smooth_dr=1e-5,
/// squared_pred=False, batch=False, reduction="mean")`.
///
/// Logits `x` `[N, K, H, W]`, labels `y` `N·H·W` class indices in `0..<K` (row-major `[N, H, W]`).
/// `p = softmax(x)` over `K`, `t = onehot(y)`. For every item `n` and every counted class `k` (all `K`, or
/// `1..<K` without the background class 0), over the item's pixels:
/// `f[n, k] = 1 − (2·Σ p·t + ε) / (Σ p + Σ t + ε)`, `ε = 1e-5`; the loss is the mean of `f` over the
/// `N × counted classes` (the mean over the batch of the per-item class mean).
///
/// Gradient, with `I = Σ p·t`, `S = Σ p + Σ t` of `(n, k)` and `c` the number of terms averaged:
/// `∂L/∂p_i = −(2·t_i·(S + ε) − (2I + ε)) / (S + ε)² / c`, then through the softmax
/// `∂L/∂x_k = p_k·(∂L/∂p_k − Σ_j p_j·∂L/∂p_j)` at every pixel. Sums are accumulated in Double.
public struct DiceLoss: Sendable {
    /// Whether class 0 (background) takes part in the mean.
    public let includeBackground: Bool
    /// `ε` added to the numerator and the denominator (MONAI's `smooth_nr` = `smooth_dr`).
    public let smoothing: Double

    public init(includeBackground: Bool = true, smoothing: Double = 1e-5) throws {
        guard smoothing >= 0, smoothing.isFinite else { throw TrainingError("Dice smoothing must be finite and ≥ 0, not \(smoothing)") }
        self.includeBackground = includeBackground
        self.smoothing = smoothing
    }

    /// The loss of `logits` `[N, K, H, W]` against `labels` (`N·H·W` indices in `0..<K`), and its gradient.
    public func loss(logits: Tensor, labels: [Int]) throws -> LossResult {
        let shape = try SegmentationLogits(logits, labels: labels, minimumClasses: includeBackground ? 1 : 2)
        return shape.result(evaluate(shape, logits: logits.scalars.map(Double.init), labels: labels))
    }

    /// The loss and `∂L/∂x` in Double, for checked extents.
    func evaluate(_ shape: SegmentationLogits, logits: [Double], labels: [Int]) -> (value: Double, gradient: [Double]) {
        let probabilities = shape.softmax(logits)
        let firstClass = includeBackground ? 0 : 1
        let terms = Double(shape.batch * (shape.classes - firstClass))
        var value = 0.0
        // ∂L/∂p, written in place of p's buffer layout.
        var probabilityGradient = [Double](repeating: 0, count: probabilities.count)
        for n in 0..<shape.batch {
            for k in firstClass..<shape.classes {
                let base = (n * shape.classes + k) * shape.pixels
                var intersection = 0.0, predicted = 0.0, target = 0.0
                for i in 0..<shape.pixels {
                    let p = probabilities[base + i], t = labels[n * shape.pixels + i] == k ? 1.0 : 0.0
                    intersection += p * t
                    predicted += p
                    target += t
                }
                let numerator = 2 * intersection + smoothing, denominator = predicted + target + smoothing
                value += 1 - numerator / denominator
                let square = denominator * denominator * terms
                for i in 0..<shape.pixels {
                    let t = labels[n * shape.pixels + i] == k ? 1.0 : 0.0
                    probabilityGradient[base + i] = -(2 * t * denominator - numerator) / square
                }
            }
        }
        return (value / terms, shape.softmaxBackward(probabilities: probabilities, gradient: probabilityGradient))
    }
}

/// Cross-entropy over the classes of every pixel, as `torch.nn.CrossEntropyLoss` (mean over the `N·H·W`
/// pixels) on logits `[N, K, H, W]` and labels `[N, H, W]`: `ℓ = −log softmax(x)[y]`,
/// `∂L/∂x = (softmax(x) − onehot(y)) / (N·H·W)`.
public enum PixelCrossEntropy {
    public static func loss(logits: Tensor, labels: [Int]) throws -> LossResult {
        let shape = try SegmentationLogits(logits, labels: labels, minimumClasses: 1)
        return shape.result(evaluate(shape, logits: logits.scalars.map(Double.init), labels: labels))
    }

    /// The loss and `∂L/∂x` in Double, for checked extents.
    static func evaluate(_ shape: SegmentationLogits, logits: [Double], labels: [Int]) -> (value: Double, gradient: [Double]) {
        let probabilities = shape.softmax(logits)
        let count = Double(shape.batch * shape.pixels)
        var value = 0.0
        var gradient = probabilities.map { $0 / count }
        for n in 0..<shape.batch {
            for i in 0..<shape.pixels {
                let index = (n * shape.classes + labels[n * shape.pixels + i]) * shape.pixels + i
                value -= log(probabilities[index])
                gradient[index] -= 1 / count
            }
        }
        return (value / count, gradient)
    }
}

/// Dice plus cross-entropy, as MONAI's `DiceCELoss(softmax=True, to_onehot_y=True, …)`:
/// `L = diceWeight · Dice + crossEntropyWeight · CE` with the two losses above; the gradient is the same
/// weighted sum.
public struct DiceCrossEntropyLoss: Sendable {
    public let dice: DiceLoss
    public let diceWeight: Float
    public let crossEntropyWeight: Float

    public init(dice: DiceLoss, diceWeight: Float = 1, crossEntropyWeight: Float = 1) throws {
        guard diceWeight >= 0, crossEntropyWeight >= 0, diceWeight.isFinite, crossEntropyWeight.isFinite else {
            throw TrainingError("Dice and cross-entropy weights must be finite and ≥ 0, not \(diceWeight) and \(crossEntropyWeight)")
        }
        self.dice = dice
        self.diceWeight = diceWeight
        self.crossEntropyWeight = crossEntropyWeight
    }

    /// The weighted loss of `logits` `[N, K, H, W]` against `labels` (`N·H·W` indices), and its gradient.
    public func loss(logits: Tensor, labels: [Int]) throws -> LossResult {
        let diceResult = try dice.loss(logits: logits, labels: labels)
        let crossEntropy = try PixelCrossEntropy.loss(logits: logits, labels: labels)
        let (a, b) = (diceWeight, crossEntropyWeight)
        let gradient = Tensor(uninitializedShape: logits.shape) { g in
            diceResult.gradient.withUnsafeBufferPointer { d in
                crossEntropy.gradient.withUnsafeBufferPointer { c in
                    for i in 0..<g.count { g[i] = a * d[i] + b * c[i] }
                }
            }
        }
        return LossResult(value: a * diceResult.value + b * crossEntropy.value, gradient: gradient)
    }
}

/// The extents of segmentation logits `[N, K, H, W]` checked against their labels, and the softmax over
/// `K` in Double shared by the pixel losses.
struct SegmentationLogits {
    let shape: [Int]
    let batch: Int, classes: Int, pixels: Int

    init(_ logits: Tensor, labels: [Int], minimumClasses: Int) throws {
        guard logits.rank == 4 else { throw TrainingError("segmentation logits must be [N, K, H, W], not \(logits.shape)") }
        shape = logits.shape
        (batch, classes, pixels) = (logits.shape[0], logits.shape[1], logits.shape[2] * logits.shape[3])
        guard batch > 0, pixels > 0 else { throw TrainingError("segmentation logits \(logits.shape) are empty") }
        guard classes >= minimumClasses else {
            throw TrainingError("segmentation logits \(logits.shape) need at least \(minimumClasses) classes")
        }
        guard labels.count == batch * pixels else {
            throw TrainingError("\(labels.count) labels for logits \(logits.shape); expected N·H·W = \(batch * pixels)")
        }
        if let bad = labels.firstIndex(where: { !(0..<classes).contains($0) }) {
            throw TrainingError("segmentation labels must be in 0..<\(classes); label \(bad) is \(labels[bad])")
        }
        guard logits.withUnsafeBufferPointer({ $0.allSatisfy(\.isFinite) }) else {
            throw TrainingError("segmentation logits hold a NaN or infinite value")
        }
    }

    /// A Float loss result of the logits' shape.
    func result(_ evaluated: (value: Double, gradient: [Double])) -> LossResult {
        LossResult(value: Float(evaluated.value), gradient: Tensor(shape: shape, values: evaluated.gradient.map { Float($0) }))
    }

    /// `softmax(x)` over the classes of every pixel, laid out as the logits.
    func softmax(_ x: [Double]) -> [Double] {
        var p = [Double](repeating: 0, count: x.count)
        for n in 0..<batch {
            for i in 0..<pixels {
                let base = n * classes * pixels + i
                var maximum = -Double.infinity
                for k in 0..<classes { maximum = max(maximum, x[base + k * pixels]) }
                var total = 0.0
                for k in 0..<classes {
                    let e = Foundation.exp(x[base + k * pixels] - maximum)
                    p[base + k * pixels] = e
                    total += e
                }
                for k in 0..<classes { p[base + k * pixels] /= total }
            }
        }
        return p
    }

    /// `∂L/∂x_k = p_k·(g_k − Σ_j p_j·g_j)` at every pixel, laid out as the logits.
    func softmaxBackward(probabilities p: [Double], gradient g: [Double]) -> [Double] {
        var dx = [Double](repeating: 0, count: p.count)
        for n in 0..<batch {
            for i in 0..<pixels {
                let base = n * classes * pixels + i
                var dot = 0.0
                for k in 0..<classes { dot += p[base + k * pixels] * g[base + k * pixels] }
                for k in 0..<classes {
                    let index = base + k * pixels
                    dx[index] = p[index] * (g[index] - dot)
                }
            }
        }
        return dx
    }
}
