import Foundation
import TensorCore
import TensorKernels

/// The L2-regularised logistic loss of `outputs` linear functions of the features `[rows, columns]`,
/// scaled per item so that its minimiser is scikit-learn's for the same `C`:
/// `f(W, b) = (1/n) Σᵢ ℓᵢ + ‖W‖² / (2·C·n)` over the `n` items with a known target (the intercepts `b`
/// are not penalised). Parameters are laid out `[outputs, columns + 1]`, each row's last entry its
/// intercept.
///
/// - binary (`outputs` = 1, `.binary` targets 0, 1 or NaN = unknown, left out): `ℓ = log(1 + exp(z)) − y·z`;
/// - multinomial (`outputs` = K ≥ 3, `.classes`): `ℓ = logsumexp(z) − z[y]`.
///
/// Everything is computed in `Double` (the `Float` features convert exactly). Each item's row is converted
/// once, then `z = W·x + b` and `∇W += (∂ℓ/∂z)·xᵀ` are SIMD dot products and scaled additions on it while
/// it is in cache; with so few outputs this beats a GEMM, which would spend its time packing the features.
/// Rows are split over the context's workers in contiguous ranges, each summing into its own gradient;
/// the workers' sums are added in a fixed order.
struct LogisticObjective {
    enum Targets {
        /// One 0/1 target per row, NaN where unknown.
        case binary([Double])
        /// One class index per row.
        case classes([Int])
    }

    /// `[rows, columns]`.
    let features: Tensor
    let outputs: Int
    let targets: Targets
    let inverseRegularisation: Double
    let context: ComputeContext
    /// Rows whose target is known (`n`).
    let itemCount: Int

    init(features: Tensor, outputs: Int, targets: Targets, inverseRegularisation: Double, context: ComputeContext) {
        self.features = features
        self.outputs = outputs
        self.targets = targets
        self.inverseRegularisation = inverseRegularisation
        self.context = context
        switch targets {
        case .binary(let values): itemCount = values.count(where: { !$0.isNaN })
        case .classes(let labels): itemCount = labels.count
        }
    }

    var rows: Int { features.shape[0] }
    var columns: Int { features.shape[1] }
    var parameterCount: Int { outputs * (columns + 1) }

    /// `f` at `parameters`, with `∇f` written to `gradient`.
    func evaluate(_ parameters: [Double], _ gradient: inout [Double]) -> Double {
        let workers = max(1, min(context.threads, rows / 64))
        var partialGradients = [Double](repeating: 0, count: workers * parameterCount)
        var partialLosses = [Double](repeating: 0, count: workers)
        partialGradients.withUnsafeMutableBufferPointer { gradients in
            partialLosses.withUnsafeMutableBufferPointer { losses in
                let gradientBase = gradients.baseAddress!, lossBase = losses.baseAddress!
                features.withUnsafeBufferPointer { x in
                    parameters.withUnsafeBufferPointer { w in
                        context.parallelFor(workers) { worker in
                            lossBase[worker] = accumulate(rows: rows * worker / workers..<rows * (worker + 1) / workers,
                                                          features: x.baseAddress!, parameters: w.baseAddress!,
                                                          gradient: gradientBase + worker * parameterCount)
                        }
                    }
                }
            }
        }
        let n = Double(itemCount), width = columns + 1
        let penalty = 1 / (inverseRegularisation * n)
        var value = partialLosses.reduce(0, +) / n
        for p in 0..<parameterCount {
            var total = 0.0
            for worker in 0..<workers { total += partialGradients[worker * parameterCount + p] }
            gradient[p] = total / n
            if p % width != columns {
                gradient[p] += penalty * parameters[p]
                value += 0.5 * penalty * parameters[p] * parameters[p]
            }
        }
        return value
    }

    /// Adds the summed loss gradient of `rows` to `gradient` `[outputs, columns + 1]`; returns their summed loss.
    private func accumulate(rows: Range<Int>, features: UnsafePointer<Float>, parameters: UnsafePointer<Double>,
                            gradient: UnsafeMutablePointer<Double>) -> Double {
        let width = columns + 1
        let x = UnsafeMutablePointer<Double>.allocate(capacity: columns)   // [columns]
        let z = UnsafeMutablePointer<Double>.allocate(capacity: outputs)   // [outputs]
        defer { x.deallocate(); z.deallocate() }
        var loss = 0.0
        for row in rows {
            let item = features + row * columns
            for j in 0..<columns { x[j] = Double(item[j]) }
            for k in 0..<outputs { z[k] = Self.dot(parameters + k * width, x, columns) + parameters[k * width + columns] }
            loss += residuals(z, row: row)
            for k in 0..<outputs where z[k] != 0 {
                Self.addScaled(z[k], x, into: gradient + k * width, columns)
                gradient[k * width + columns] += z[k]
            }
        }
        return loss
    }

    /// `Σⱼ a[j]·b[j]` over `count` entries. Multiplies and adds are kept apart (no `addingProduct`): on a CPU
    /// target without FMA instructions a fused multiply-add is a slow library call.
    @inline(__always)
    private static func dot(_ a: UnsafePointer<Double>, _ b: UnsafePointer<Double>, _ count: Int) -> Double {
        var first = SIMD8<Double>(), second = SIMD8<Double>()
        var j = 0
        while j + 16 <= count {
            first += load(a + j) * load(b + j)
            second += load(a + j + 8) * load(b + j + 8)
            j += 16
        }
        if j + 8 <= count { first += load(a + j) * load(b + j); j += 8 }
        var total = (first + second).sum()
        while j < count { total += a[j] * b[j]; j += 1 }
        return total
    }

    /// `target[j] += scale·x[j]` over `count` entries.
    @inline(__always)
    private static func addScaled(_ scale: Double, _ x: UnsafePointer<Double>, into target: UnsafeMutablePointer<Double>, _ count: Int) {
        let factor = SIMD8<Double>(repeating: scale)
        var j = 0
        while j + 8 <= count {
            UnsafeMutableRawPointer(target + j).storeBytes(of: load(target + j) + factor * load(x + j), as: SIMD8<Double>.self)
            j += 8
        }
        while j < count { target[j] += scale * x[j]; j += 1 }
    }

    @inline(__always)
    private static func load(_ pointer: UnsafePointer<Double>) -> SIMD8<Double> {
        UnsafeRawPointer(pointer).loadUnaligned(as: SIMD8<Double>.self)
    }

    /// The loss of one item from its linear outputs `z`, which it replaces by `∂ℓ/∂z` (0 for an unknown target).
    private func residuals(_ z: UnsafeMutablePointer<Double>, row: Int) -> Double {
        switch targets {
        case .binary(let values):
            let logit = z[0], target = values[row]
            guard !target.isNaN else { z[0] = 0; return 0 }
            z[0] = (logit >= 0 ? 1 / (1 + exp(-logit)) : exp(logit) / (1 + exp(logit))) - target
            return max(logit, 0) + log1p(exp(-abs(logit))) - target * logit
        case .classes(let labels):
            var maximum = z[0]
            for k in 1..<outputs { maximum = max(maximum, z[k]) }
            var total = 0.0
            for k in 0..<outputs { total += exp(z[k] - maximum) }
            let logSumExp = maximum + log(total)
            let label = labels[row]
            let loss = logSumExp - z[label]
            for k in 0..<outputs { z[k] = exp(z[k] - logSumExp) }
            z[label] -= 1
            return loss
        }
    }
}
