import Foundation
import TensorKernels

/// The L2-regularised logistic loss of `outputs` linear functions of `rows × columns` features, scaled
/// per item so that its minimiser is scikit-learn's for the same `C`:
/// `f(W, b) = (1/n) Σᵢ ℓᵢ + ‖W‖² / (2·C·n)` (the intercepts `b` are not penalised). Parameters are laid
/// out `[outputs, columns + 1]`, each row's last entry its intercept.
///
/// - binary (`outputs` = 1, `binaryTargets` in {0, 1}): `ℓ = log(1 + exp(z)) − y·z`;
/// - multinomial (`outputs` = K ≥ 3, `classLabels`): `ℓ = logsumexp(z) − z[y]`.
struct LogisticObjective {
    let features: [Double]
    let rows: Int
    let columns: Int
    let outputs: Int
    let binaryTargets: [Double]
    let classLabels: [Int]
    let inverseRegularisation: Double
    let context: ComputeContext

    var parameterCount: Int { outputs * (columns + 1) }

    /// `f` at `parameters`, with `∇f` written to `gradient`. Rows are split over the workers, each summing
    /// into its own buffer; the buffers are added in a fixed order.
    func evaluate(_ parameters: [Double], _ gradient: inout [Double]) -> Double {
        let chunks = max(1, min(context.threads, rows / 256))
        let width = columns + 1
        var partialGradients = [Double](repeating: 0, count: chunks * parameterCount)
        var partialLosses = [Double](repeating: 0, count: chunks)
        partialGradients.withUnsafeMutableBufferPointer { gradients in
            partialLosses.withUnsafeMutableBufferPointer { losses in
                let gradientBase = gradients.baseAddress!, lossBase = losses.baseAddress!
                features.withUnsafeBufferPointer { x in
                    parameters.withUnsafeBufferPointer { w in
                        context.parallelFor(chunks) { chunk in
                            let g = gradientBase + chunk * parameterCount
                            var z = [Double](repeating: 0, count: outputs)
                            var loss = 0.0
                            for row in rows * chunk / chunks..<rows * (chunk + 1) / chunks {
                                let item = x.baseAddress! + row * columns
                                for k in 0..<outputs {
                                    let weights = w.baseAddress! + k * width
                                    var total = weights[columns]
                                    for j in 0..<columns { total += weights[j] * item[j] }
                                    z[k] = total
                                }
                                loss += residuals(&z, row: row)
                                for k in 0..<outputs where z[k] != 0 {
                                    let target = g + k * width
                                    let r = z[k]
                                    for j in 0..<columns { target[j] += r * item[j] }
                                    target[columns] += r
                                }
                            }
                            lossBase[chunk] = loss
                        }
                    }
                }
            }
        }
        let n = Double(rows)
        let penalty = 1 / (inverseRegularisation * n)
        var value = partialLosses.reduce(0, +) / n
        for p in 0..<parameterCount {
            var total = 0.0
            for chunk in 0..<chunks { total += partialGradients[chunk * parameterCount + p] }
            gradient[p] = total / n
            if p % width != columns {
                gradient[p] += penalty * parameters[p]
                value += 0.5 * penalty * parameters[p] * parameters[p]
            }
        }
        return value
    }

    /// The loss of one item from its linear outputs `z`, which it replaces by `∂ℓ/∂z`.
    private func residuals(_ z: inout [Double], row: Int) -> Double {
        if outputs == 1 {
            let logit = z[0], target = binaryTargets[row]
            let loss = max(logit, 0) + log1p(exp(-abs(logit))) - target * logit
            z[0] = (logit >= 0 ? 1 / (1 + exp(-logit)) : exp(logit) / (1 + exp(logit))) - target
            return loss
        }
        let maximum = z.max()!
        var total = 0.0
        for k in 0..<outputs { total += exp(z[k] - maximum) }
        let logSumExp = maximum + log(total)
        let label = classLabels[row]
        let loss = logSumExp - z[label]
        for k in 0..<outputs { z[k] = exp(z[k] - logSumExp) }
        z[label] -= 1
        return loss
    }
}
