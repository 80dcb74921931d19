import Foundation
import Training

/// Limited-memory BFGS (Nocedal & Wright, Algorithm 7.4/7.5) in `Double`, with a backtracking line
/// search (α from 1, halved at most `maxHalvings` times; the first iteration starts from `α = 1/‖∇f‖₂`)
/// that accepts a step on the Armijo condition `f(x + αd) ≤ f(x) + 10⁻⁴·α·∇fᵀd` or, near the optimum where
/// the decrease is below the rounding of `f`, when `f(x + αd) ≤ f(x) + valueNoise·max(|f(x)|, 1)` and
/// `max|∇f|` shrinks. Pairs with `yᵀs ≤ 10⁻¹⁰·‖y‖²` are not stored. Stops when
/// `max|∇f| ≤ gradientTolerance`, when no step is accepted, or after `maxIterations`.
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
        while iteration < maxIterations, Self.maxAbs(gradient) > gradientTolerance {
            iteration += 1
            let direction = Self.searchDirection(gradient, steps: steps, changes: changes, curvatures: curvatures)
            let slope = Self.dot(gradient, direction)
            var alpha = steps.isEmpty ? 1 / max(Self.dot(gradient, gradient).squareRoot(), 1e-300) : 1
            var candidate = x, candidateGradient = gradient, candidateValue = value
            var accepted = false
            for _ in 0..<Self.maxHalvings {
                for i in x.indices { candidate[i] = x[i] + alpha * direction[i] }
                candidateValue = objective(candidate, &candidateGradient)
                if candidateValue.isFinite, candidateValue <= value + 1e-4 * alpha * slope
                    || candidateValue <= value + Self.valueNoise * max(abs(value), 1) && Self.maxAbs(candidateGradient) < Self.maxAbs(gradient) {
                    accepted = true
                    break
                }
                alpha /= 2
            }
            guard accepted else { break }
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

    /// Backtracking halvings before a line search gives up.
    static let maxHalvings = 30

    /// Relative rounding level of `f`: a change below `valueNoise·max(|f|, 1)` is invisible to the Armijo test.
    static let valueNoise = 1e-13

    static func maxAbs(_ values: [Double]) -> Double { values.reduce(0) { max($0, abs($1)) } }

    static func dot(_ a: [Double], _ b: [Double]) -> Double {
        var total = 0.0
        for i in a.indices { total += a[i] * b[i] }
        return total
    }
}
