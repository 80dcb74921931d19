/// Parameters that share a base learning rate, as one entry of a PyTorch optimizer's `param_groups`:
/// `parameters` are indices into the parameter list the optimizer steps.
public struct ParameterGroup: Sendable, Equatable {
    /// Indices of the group's tensors in the optimizer's parameter list.
    public let parameters: [Int]
    /// The group's base learning rate (`lr₀` of its schedule).
    public let learningRate: Double

    public init(parameters: [Int], learningRate: Double) throws {
        guard learningRate > 0, learningRate.isFinite else {
            throw TrainingError("a learning rate must be finite and > 0, not \(learningRate)")
        }
        self.parameters = parameters
        self.learningRate = learningRate
    }
}

extension Array where Element == ParameterGroup {
    /// Checks that the groups cover each of `count` parameters exactly once.
    func validateCoverage(of count: Int) throws {
        var seen = [Bool](repeating: false, count: count)
        for index in flatMap(\.parameters) {
            guard (0..<count).contains(index) else { throw TrainingError("parameter group index \(index) is outside 0..<\(count)") }
            guard !seen[index] else { throw TrainingError("parameter \(index) belongs to more than one group") }
            seen[index] = true
        }
        if let missing = seen.firstIndex(of: false) { throw TrainingError("parameter \(missing) belongs to no group") }
    }
}
