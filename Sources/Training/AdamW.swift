import Foundation
import TensorCore

/// Adam with decoupled weight decay, as `torch.optim.AdamW` (amsgrad off) over parameter groups.
///
/// At update `k` (1-based) with the group's scheduled rate `lr`: `p ← p · (1 − lr·λ)`;
/// `m ← β₁·m + (1 − β₁)·g`; `v ← β₂·v + (1 − β₂)·g²`;
/// `p ← p − (lr / (1 − β₁ᵏ)) · m / (√v / √(1 − β₂ᵏ) + ε)` (ε outside the square root). The scalars are
/// computed in `Double` and applied in `Float`, as PyTorch on CPU.
public struct AdamW: Sendable {
    /// `β₁`, `β₂`.
    public let betas: (Float, Float)
    /// `ε`.
    public let epsilon: Float
    /// Decoupled weight decay `λ`.
    public let weightDecay: Float
    /// The parameter groups and their base rates.
    public let groups: [ParameterGroup]
    /// The schedule applied to every group's base rate.
    public let schedule: LearningRateSchedule
    /// Updates taken so far.
    public private(set) var steps = 0
    private var firstMoments: [Tensor?]
    private var secondMoments: [Tensor?]

    /// Defaults are PyTorch's: betas (0.9, 0.999), ε 1e-8, weight decay 0.01.
    public init(parameterCount: Int, groups: [ParameterGroup], betas: (Float, Float) = (0.9, 0.999),
                epsilon: Float = 1e-8, weightDecay: Float = 0.01, schedule: LearningRateSchedule = .constant) throws {
        guard (0..<1).contains(betas.0), (0..<1).contains(betas.1) else { throw TrainingError("AdamW betas must be in [0, 1), not \(betas)") }
        guard epsilon > 0 else { throw TrainingError("AdamW epsilon must be > 0, not \(epsilon)") }
        guard weightDecay >= 0, weightDecay.isFinite else { throw TrainingError("weight decay must be finite and ≥ 0, not \(weightDecay)") }
        try groups.validateCoverage(of: parameterCount)
        self.betas = betas
        self.epsilon = epsilon
        self.weightDecay = weightDecay
        self.groups = groups
        self.schedule = schedule
        firstMoments = [Tensor?](repeating: nil, count: parameterCount)
        secondMoments = firstMoments
    }

    /// What an optimiser carries from one update to the next, to save a run and resume it: the updates taken and
    /// each parameter's first and second moments (nil before its first update), in parameter order.
    public struct State: Sendable {
        public var steps: Int
        public var firstMoments: [Tensor?]
        public var secondMoments: [Tensor?]

        public init(steps: Int, firstMoments: [Tensor?], secondMoments: [Tensor?]) {
            self.steps = steps
            self.firstMoments = firstMoments
            self.secondMoments = secondMoments
        }
    }

    /// The running state (see `restore(_:)`).
    public var state: State { State(steps: steps, firstMoments: firstMoments, secondMoments: secondMoments) }

    /// Continues from `state`, saved from an optimiser over the same parameters: the next update is number
    /// `state.steps + 1`, with those moments. Throws when the state's moment counts differ from the parameter
    /// count, the step count is negative, or a parameter has one moment without the other.
    public mutating func restore(_ state: State) throws {
        let count = firstMoments.count
        guard state.firstMoments.count == count, state.secondMoments.count == count else {
            throw TrainingError("an AdamW state of \(state.firstMoments.count)/\(state.secondMoments.count) moments cannot resume an optimiser of \(count) parameters")
        }
        guard state.steps >= 0 else { throw TrainingError("an AdamW state cannot have \(state.steps) steps") }
        for index in 0..<count where (state.firstMoments[index] == nil) != (state.secondMoments[index] == nil)
            || state.firstMoments[index]?.shape != state.secondMoments[index]?.shape {
            throw TrainingError("the AdamW state's moments of parameter \(index) do not match")
        }
        steps = state.steps
        firstMoments = state.firstMoments
        secondMoments = state.secondMoments
    }

    /// The rate group `group` uses on the next update.
    public func currentLearningRate(group: Int) -> Double {
        schedule.learningRate(base: groups[group].learningRate, step: steps)
    }

    /// One update of every parameter from its gradient (same shapes), then the schedule advances.
    public mutating func step(parameters: inout [Tensor], gradients: [Tensor]) throws {
        try parameters.validateGradients(gradients, count: firstMoments.count)
        let k = Double(steps + 1)
        let (beta1, beta2) = (Double(betas.0), Double(betas.1))
        let correction2Root = Float((1 - pow(beta2, k)).squareRoot())
        for (groupIndex, group) in groups.enumerated() {
            let rate = currentLearningRate(group: groupIndex)
            let decay = Float(1 - rate * Double(weightDecay))
            let stepSize = Float(rate / (1 - pow(beta1, k)))
            for index in group.parameters {
                let gradient = gradients[index]
                var m = firstMoments[index] ?? Tensor(shape: gradient.shape)
                var v = secondMoments[index] ?? Tensor(shape: gradient.shape)
                parameters[index].withUnsafeMutableBufferPointer { p in
                    gradient.withUnsafeBufferPointer { g in
                        m.withUnsafeMutableBufferPointer { m in
                            v.withUnsafeMutableBufferPointer { v in
                                for i in 0..<p.count {
                                    p[i] *= decay
                                    m[i] = m[i] * betas.0 + g[i] * (1 - betas.0)
                                    v[i] = v[i] * betas.1 + g[i] * g[i] * (1 - betas.1)
                                    p[i] -= stepSize * m[i] / (v[i].squareRoot() / correction2Root + epsilon)
                                }
                            }
                        }
                    }
                }
                firstMoments[index] = m
                secondMoments[index] = v
            }
        }
        steps += 1
    }
}
