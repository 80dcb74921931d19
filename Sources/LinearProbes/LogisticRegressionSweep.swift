import TensorCore
import TensorKernels
import Training

/// DINOv2's `sweep_C_values` and final fit: a model per `C` on the training set, each scored on the
/// validation set by the caller's metric of the probabilities (higher is better; ties go to the first `C`
/// in sweep order), then the best `C` refitted on training + validation.
public struct LogisticRegressionSweep: Sendable {
    /// The `C` values tried, in order.
    public let inverseRegularisations: [Double]
    /// The validation score of each.
    public let scores: [Double]
    /// Position of the best `C`.
    public let bestIndex: Int
    /// The model refitted with the best `C` on training + validation.
    public let finalModel: LogisticRegressionModel

    /// The chosen `C`.
    public var bestInverseRegularisation: Double { inverseRegularisations[bestIndex] }

    /// Runs the sweep over `values` (default the reference's 45) with `features` `[items, featureCount]`.
    public init(training: (features: Tensor, targets: ProbeTargets), validation: (features: Tensor, targets: ProbeTargets),
                values: [Double] = LogisticRegression.dinov2InverseRegularisations,
                maxIterations: Int = LogisticRegression.defaultMaxIterations, context: ComputeContext,
                score: LinearProbeScore) throws {
        guard !values.isEmpty else { throw TrainingError("no C value to sweep") }
        guard training.features.rank == 2, validation.features.rank == 2, training.features.shape[1] == validation.features.shape[1] else {
            throw TrainingError("training features \(training.features.shape) and validation features \(validation.features.shape) must be [items, features] of equal width")
        }
        try validation.targets.validate(itemCount: validation.features.shape[0], role: "the validation set")
        scores = try values.map { c in
            let model = try LogisticRegression.fit(features: training.features, targets: training.targets, inverseRegularisation: c,
                                                   maxIterations: maxIterations, context: context)
            let value = try score(model.probabilities(validation.features), validation.targets)
            guard !value.isNaN else { throw TrainingError("the validation score for C = \(c) is NaN") }
            return value
        }
        var best = 0
        for index in scores.indices where scores[index] > scores[best] { best = index }
        inverseRegularisations = values
        bestIndex = best
        finalModel = try LogisticRegression.fit(features: .concatenate([training.features, validation.features]),
                                                targets: training.targets.appending(validation.targets),
                                                inverseRegularisation: values[best], maxIterations: maxIterations, context: context)
    }
}
