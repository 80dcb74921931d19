import Foundation
import Training

/// Limited-memory BFGS (Nocedal & Wright, Algorithm 7.4/7.5) in `Double`, with a backtracking line
/// search on the Armijo condition `f(x + αd) ≤ f(x) + 10⁻⁴·α·∇fᵀd` (α from 1, halved; the first
/// iteration starts from `α = 1/‖∇f‖₂`). Pairs with `yᵀs ≤ 10⁻¹⁰·‖y‖²` are not stored. Stops when
/// `max|∇f| ≤ gradientTolerance`, when a step no longer changes `f` in `Double`, or after `maxIterations`.
struct LBFGS {
    var memory = 10
    var maxIterations: Int
    var gradientTolerance: Double

    /// Minimises `objective`, which returns `f(x)` and writes `∇f(x)` into its second argument.
    func minimize(from start: [Double], objective: ([Double], inout [Double]) -> Double) throws -> (x: [Double], value: Double, iterations: Int) {
        var x = start
        var gradient = [Double](repeating: 0, count: x.count)
        var value = objective(x, &gradient)
        guard value.isFinite else { throw TrainingError("the logistic objective is \(value) at the starting point") }
        var steps: [[Double]] = [], changes: [[Double]] = [], curvatures: [Double] = []
        var iteration = 0
        while iteration < maxIterations, gradient.map(abs).max() ?? 0 > gradientTolerance {
            iteration += 1
            let direction = Self.searchDirection(gradient, steps: steps, changes: changes, curvatures: curvatures)
            let slope = Self.dot(gradient, direction)
            var alpha = steps.isEmpty ? 1 / max(Self.dot(gradient, gradient).squareRoot(), 1e-300) : 1
            var candidate = x, candidateGradient = gradient, candidateValue = value
            var accepted = false
            for _ in 0..<60 {
                for i in x.indices { candidate[i] = x[i] + alpha * direction[i] }
                candidateValue = objective(candidate, &candidateGradient)
                if candidateValue.isFinite, candidateValue <= value + 1e-4 * alpha * slope { accepted = true; break }
                alpha /= 2
            }
            guard accepted, candidateValue < value || candidateGradient.map(abs).max()! < gradient.map(abs).max()! else { break }
            let step = zip(candidate, x).map { $0 - $1 }
            let change = zip(candidateGradient, gradient).map { $0 - $1 }
            let curvature = Self.dot(change, step)
            if curvature > 1e-10 * Self.dot(change, change) {
                steps.append(step); changes.append(change); curvatures.append(curvature)
                if steps.count > memory { steps.removeFirst(); changes.removeFirst(); curvatures.removeFirst() }
            }
            x = candidate; gradient = candidateGradient; value = candidateValue
        }
        return (x, value, iteration)
    }

    /// `−H·∇f` by the two-loop recursion, with `H₀ = (sᵀy / yᵀy)·I` from the newest pair.
    private static func searchDirection(_ gradient: [Double], steps: [[Double]], changes: [[Double]], curvatures: [Double]) -> [Double] {
        var q = gradient
        var alphas = [Double](repeating: 0, count: steps.count)
        for k in steps.indices.reversed() {
            alphas[k] = dot(steps[k], q) / curvatures[k]
            for i in q.indices { q[i] -= alphas[k] * changes[k][i] }
        }
        if let last = changes.last {
            let scale = curvatures[curvatures.count - 1] / dot(last, last)
            for i in q.indices { q[i] *= scale }
        }
        for k in steps.indices {
            let beta = dot(changes[k], q) / curvatures[k]
            for i in q.indices { q[i] += (alphas[k] - beta) * steps[k][i] }
        }
        return q.map { -$0 }
    }

    static func dot(_ a: [Double], _ b: [Double]) -> Double {
        var total = 0.0
        for i in a.indices { total += a[i] * b[i] }
        return total
    }
}
