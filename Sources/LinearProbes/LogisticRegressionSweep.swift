import TensorCore
import TensorKernels
import Training

/// DINOv2's `sweep_C_values` and final fit: a model per `C` on the training set, each scored on the
/// validation set by the caller's metric of the probabilities (higher is better; ties go to the first `C`
/// in sweep order), then the best `C` refitted on training + validation.
///
/// Each fit after the first starts from the previous `C`'s solution (a warm start along the path of `C`
/// values), and the refit from the best `C`'s; the objective is strictly convex, so this changes only
/// how many L-BFGS iterations each fit needs, not the models (to the solver's tolerance). DINOv2's
/// reference starts every fit from zero.
public struct LogisticRegressionSweep: Sendable {
    /// The `C` values tried, in order.
    public let inverseRegularisations: [Double]
    /// The validation score of each.
    public let scores: [Double]
    /// Position of the best `C`.
    public let bestIndex: Int
    /// The model refitted with the best `C` on training + validation.
    public let finalModel: LogisticRegressionModel
    /// L-BFGS iterations of each `C`'s fit (summed over labels for multi-label targets).
    public let iterations: [Int]

    /// The chosen `C`.
    public var bestInverseRegularisation: Double { inverseRegularisations[bestIndex] }

    /// Runs the sweep over `values` (default the reference's 45) with `features` `[items, featureCount]`;
    /// `progress` is told `(fits done, fits in all)` after each fit (the final refit included).
    public init(training: (features: Tensor, targets: ProbeTargets), validation: (features: Tensor, targets: ProbeTargets),
                values: [Double] = LogisticRegression.dinov2InverseRegularisations,
                maxIterations: Int = LogisticRegression.defaultMaxIterations, context: ComputeContext,
                progress: ((_ completed: Int, _ total: Int) -> Void)? = nil, score: LinearProbeScore) throws {
        guard !values.isEmpty else { throw TrainingError("no C value to sweep") }
        guard training.features.rank == 2, validation.features.rank == 2, training.features.shape[1] == validation.features.shape[1] else {
            throw TrainingError("training features \(training.features.shape) and validation features \(validation.features.shape) must be [items, features] of equal width")
        }
        try validation.targets.validate(itemCount: validation.features.shape[0], role: "the validation set")
        var models: [LogisticRegressionModel] = [], scores: [Double] = []
        for c in values {
            let model = try LogisticRegression.fit(features: training.features, targets: training.targets, inverseRegularisation: c,
                                                   maxIterations: maxIterations, initialModel: models.last, context: context)
            let value = try score(model.probabilities(validation.features), validation.targets)
            guard !value.isNaN else { throw TrainingError("the validation score for C = \(c) is NaN") }
            models.append(model)
            scores.append(value)
            progress?(models.count, values.count + 1)
        }
        var best = 0
        for index in scores.indices where scores[index] > scores[best] { best = index }
        inverseRegularisations = values
        self.scores = scores
        iterations = models.map { $0.iterations.reduce(0, +) }
        bestIndex = best
        finalModel = try LogisticRegression.fit(features: .concatenate([training.features, validation.features]),
                                                targets: training.targets.appending(validation.targets),
                                                inverseRegularisation: values[best], maxIterations: maxIterations,
                                                initialModel: models[best], context: context)
        progress?(values.count + 1, values.count + 1)
    }
}
