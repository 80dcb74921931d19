import TensorCore

/// Stochastic gradient descent as `torch.optim.SGD` (dampening 0, Nesterov off) over parameter groups.
///
/// Per element, with gradient `g`, parameter `p`, momentum `μ`, weight decay `λ` and the group's scheduled
/// rate `lr_t`: `d = g + λ·p`; with momentum the buffer is `b = d` on the first step and `b = μ·b + d`
/// after, and `d = b`; then `p ← p − lr_t · d`. All arithmetic is in `Float`, as PyTorch on CPU.
public struct SGD: Sendable {
    /// Momentum `μ` (0 for none).
    public let momentum: Float
    /// L2 weight decay `λ`, added to the gradient.
    public let weightDecay: Float
    /// The parameter groups and their base rates.
    public let groups: [ParameterGroup]
    /// The schedule applied to every group's base rate.
    public let schedule: LearningRateSchedule
    /// Updates taken so far (the schedule's `t` for the next update).
    public private(set) var steps = 0
    private var buffers: [Tensor?]

    /// An optimizer for `parameterCount` tensors split into `groups`, which must cover each exactly once.
    public init(parameterCount: Int, groups: [ParameterGroup], momentum: Float = 0, weightDecay: Float = 0,
                schedule: LearningRateSchedule = .constant) throws {
        guard momentum >= 0, momentum < 1 else { throw TrainingError("SGD momentum must be in [0, 1), not \(momentum)") }
        guard weightDecay >= 0, weightDecay.isFinite else { throw TrainingError("weight decay must be finite and ≥ 0, not \(weightDecay)") }
        try groups.validateCoverage(of: parameterCount)
        self.momentum = momentum
        self.weightDecay = weightDecay
        self.groups = groups
        self.schedule = schedule
        buffers = [Tensor?](repeating: nil, count: parameterCount)
    }

    /// The rate group `group` uses on the next update.
    public func currentLearningRate(group: Int) -> Double {
        schedule.learningRate(base: groups[group].learningRate, step: steps)
    }

    /// One update of every parameter from its gradient (same shapes), then the schedule advances.
    public mutating func step(parameters: inout [Tensor], gradients: [Tensor]) throws {
        try parameters.validateGradients(gradients, count: buffers.count)
        for (groupIndex, group) in groups.enumerated() {
            let rate = Float(currentLearningRate(group: groupIndex))
            for index in group.parameters {
                let gradient = gradients[index]
                var buffer = buffers[index] ?? Tensor(shape: gradient.shape)
                let firstStep = buffers[index] == nil
                parameters[index].withUnsafeMutableBufferPointer { p in
                    gradient.withUnsafeBufferPointer { g in
                        buffer.withUnsafeMutableBufferPointer { b in
                            Self.update(parameter: p.baseAddress!, gradient: g.baseAddress!, momentumBuffer: b.baseAddress!,
                                        count: p.count, learningRate: rate, momentum: momentum, weightDecay: weightDecay,
                                        firstStep: firstStep)
                        }
                    }
                }
                buffers[index] = momentum == 0 ? nil : buffer
            }
        }
        steps += 1
    }

    /// The SGD rule on `count` contiguous elements (see the type's documentation). `momentumBuffer` is
    /// written on every step (ignored when `momentum` is 0); on the first step it need not be initialised.
    @inlinable
    public static func update(
        parameter p: UnsafeMutablePointer<Float>, gradient g: UnsafePointer<Float>, momentumBuffer b: UnsafeMutablePointer<Float>,
        count: Int, learningRate: Float, momentum: Float, weightDecay: Float, firstStep: Bool
    ) {
        for i in 0..<count {
            var d = weightDecay == 0 ? g[i] : g[i] + weightDecay * p[i]
            if momentum != 0 {
                d = firstStep ? d : momentum * b[i] + d
                b[i] = d
            }
            p[i] -= learningRate * d
        }
    }
}

extension Array where Element == Tensor {
    /// Checks that there are `count` parameters and one gradient of the same shape and finite values for each.
    func validateGradients(_ gradients: [Tensor], count: Int) throws {
        guard self.count == count, gradients.count == count else {
            throw TrainingError("the optimizer holds \(count) parameters; got \(self.count) parameters and \(gradients.count) gradients")
        }
        for (index, (parameter, gradient)) in zip(self, gradients).enumerated() {
            guard parameter.shape == gradient.shape else {
                throw TrainingError("gradient \(index) has shape \(gradient.shape); its parameter is \(parameter.shape)")
            }
            guard gradient.withUnsafeBufferPointer({ $0.allSatisfy(\.isFinite) }) else {
                throw TrainingError("gradient \(index) holds a NaN or infinite value")
            }
        }
    }
}
