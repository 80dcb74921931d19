import TensorCore

/// Trainable and total parameter counts of a fine-tuning method, as in Table 9 of the study:
/// full: all trainable; BitFit: the biases; LoRA: `Σ r·(in + out)` over the targeted Linears, added to the total.
public struct ParameterBudget: Sendable, Equatable {
    /// Elements that receive updates.
    public let trainable: Int
    /// Elements of the model as trained (LoRA's `A`, `B` included).
    public let total: Int

    public init(trainable: Int, total: Int) {
        self.trainable = trainable
        self.total = total
    }

    /// `trainable / total`.
    public var trainableFraction: Double { total == 0 ? 0 : Double(trainable) / Double(total) }

    /// Every parameter trains.
    public static func full(_ model: some ParameterContainer) -> ParameterBudget {
        ParameterBudget(trainable: model.parameterCount, total: model.parameterCount)
    }

    /// Only `….bias` parameters train; throws when the model has none.
    public static func bitFit(_ model: some ParameterContainer) throws -> ParameterBudget {
        let shapes = model.parameterShapes()
        let frozen = try FrozenParameters.bitFit(among: shapes.map(\.key))
        let trainable = shapes.filter { !frozen.isFrozen($0.key) }.reduce(0) { $0 + Tensor.elementCount($1.shape) }
        return ParameterBudget(trainable: trainable, total: model.parameterCount)
    }

    /// The model frozen, `A` and `B` added to each targeted Linear; throws when a target matches no Linear.
    public static func lora(_ model: some ParameterContainer, configuration: LoRAConfiguration) throws -> ParameterBudget {
        let targets = try LoRATarget.select(configuration.targets, among: model.parameterShapes())
        let added = targets.reduce(0) { $0 + $1.addedParameters(rank: configuration.rank) }
        return ParameterBudget(trainable: added, total: model.parameterCount + added)
    }
}
