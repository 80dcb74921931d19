import TensorCore
import TensorKernels
import Training

/// A validation score of one head: its logits `[items, classes]` against the targets; higher is better
/// (macro AUROC, accuracy, …). A NaN score is an error.
public typealias LinearProbeScore = (_ logits: Tensor, _ targets: ProbeTargets) throws -> Double

/// The grid after training: every head, its validation score, and the best head.
public struct LinearProbeSearchResult: Sendable {
    /// The trained heads, in grid order.
    public let heads: [LinearHead]
    /// The validation score of each head, in grid order.
    public let scores: [Double]
    /// The head with the highest score (the first in grid order on ties, as the reference's strict `>`).
    public let bestIndex: Int

    /// The chosen configuration.
    public var bestConfiguration: LinearProbeConfiguration { heads[bestIndex].configuration }
    /// The chosen head's validation score.
    public var bestScore: Double { scores[bestIndex] }
}

/// DINOv2's linear-probe protocol: train the grid on the training set, score every head on the
/// validation set, keep the best; then (`refit`) retrain the chosen configuration on training + validation
/// and predict the test set.
public enum LinearProbeSearch {
    /// Trains `configurations` together (`LinearProbeTrainer`) and scores each head on the validation set.
    public static func run(_ configurations: [LinearProbeConfiguration],
                           training: (features: ProbeFeatures, targets: ProbeTargets),
                           validation: (features: ProbeFeatures, targets: ProbeTargets),
                           options: LinearProbeTrainingOptions, context: ComputeContext,
                           score: LinearProbeScore) throws -> LinearProbeSearchResult {
        try validation.targets.validate(itemCount: validation.features.count, role: "the validation set")
        guard validation.features.count > 0 else { throw TrainingError("the validation set is empty") }
        guard validation.targets.classes == training.targets.classes else {
            throw TrainingError("validation targets have \(validation.targets.classes) classes, training targets \(training.targets.classes)")
        }
        let heads = try LinearProbeTrainer.train(configurations, features: training.features, targets: training.targets,
                                                 options: options, context: context)
        let logits = try LinearHead.logits(of: heads, features: validation.features, context: context)
        let scores = try heads.indices.map { index in
            let itemShape = Array(logits.shape.dropFirst())
            let value = try score(logits.slice(outer: index..<index + 1).reshaped(itemShape), validation.targets)
            guard !value.isNaN else { throw TrainingError("the validation score of head \(index) (\(heads[index].configuration)) is NaN") }
            return value
        }
        var best = 0
        for index in scores.indices where scores[index] > scores[best] { best = index }
        return LinearProbeSearchResult(heads: heads, scores: scores, bestIndex: best)
    }

    /// Retrains `configuration` alone on training + validation (same options; its initial weights are the
    /// first draws of `options.initialisationSeed`) and returns the head with its test logits `[items, classes]`.
    public static func refit(_ configuration: LinearProbeConfiguration,
                             training: (features: ProbeFeatures, targets: ProbeTargets),
                             validation: (features: ProbeFeatures, targets: ProbeTargets),
                             test: ProbeFeatures, options: LinearProbeTrainingOptions,
                             context: ComputeContext) throws -> (head: LinearHead, testLogits: Tensor) {
        let features = try training.features.appending(validation.features)
        let targets = try training.targets.appending(validation.targets)
        let head = try LinearProbeTrainer.train([configuration], features: features, targets: targets,
                                                options: options, context: context)[0]
        return (head, try head.logits(test, context: context))
    }
}
