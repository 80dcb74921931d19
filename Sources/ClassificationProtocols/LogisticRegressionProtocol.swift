import Datasets
import LinearProbes
import Metrics
import TensorCore
import TensorKernels

/// DINOv2's logistic-regression protocol (`log_regression.py`) on stored features: an L2-regularised
/// logistic regression fitted by L-BFGS for each inverse regularisation strength C (multinomial for
/// multi-class data, one binary model per finding for multi-label data), each scored on validation,
/// the best C refitted on training + validation and tested. The feature of a row is as `KNNProtocol`'s.
public struct LogisticRegressionProtocol: Sendable {
    /// The C values to compare (DINOv2's 45 values from 1e-6 to 1e5 by default).
    public var inverseRegularisations: [Double]
    /// Class tokens of the last `blocks` blocks form the feature.
    public var blocks: Int
    /// Append the last block's mean patch token.
    public var usesPatchMean: Bool
    /// L-BFGS iterations per fit.
    public var maxIterations: Int

    /// The reference's sweep on the last block's class token.
    public init(inverseRegularisations: [Double] = LogisticRegression.dinov2InverseRegularisations, blocks: Int = 1,
                usesPatchMean: Bool = false, maxIterations: Int = LogisticRegression.defaultMaxIterations) {
        self.inverseRegularisations = inverseRegularisations
        self.blocks = blocks
        self.usesPatchMean = usesPatchMean
        self.maxIterations = maxIterations
    }

    /// Runs the protocol on `data`.
    public func run(on data: ProbeDataset, selectBy metric: SelectionMetric, bootstrap: BootstrapConfiguration,
                    context: ComputeContext, progress: ProbeProgress? = nil) throws -> ProbeOutcome {
        let space = data.labelSpace
        let features = { (part: ProbePart) in try part.features.matrix(blocks: blocks, usesPatchMean: usesPatchMean) }
        let training = (features: try features(data.train), targets: try data.train.targets(space, role: "training"))
        let test = try features(data.test)
        var sweep: LogisticRegressionSweep?
        return try CandidateSearch(
            name: "logistic-regression",
            configuration: ["c_values": inverseRegularisations.map(recordText).joined(separator: ","), "blocks": "\(blocks)",
                            "patch_mean": "\(usesPatchMean)", "max_iterations": "\(maxIterations)", "solver": "l-bfgs"],
            candidates: inverseRegularisations.map { "C=\(recordText($0))" }, refitsOnValidation: true
        ).run(on: data, selectBy: metric, bootstrap: bootstrap, validationScores: { validation, score in
            let finished = try LogisticRegressionSweep(
                training: training, validation: (try features(validation), try validation.targets(space, role: "validation")),
                values: inverseRegularisations, maxIterations: maxIterations, context: context,
                progress: { completed, total in progress?("fitting one model per C value", "fits", completed, total) }) { probabilities, _ in
                let value = try score(probabilities)
                return value.isNaN ? -.infinity : value
            }
            sweep = finished
            return finished.scores.map { $0 == -.infinity ? .nan : $0 }
        }, predictTest: { chosen, _ in
            let model = try sweep?.finalModel ?? LogisticRegression.fit(features: training.features, targets: training.targets,
                                                                       inverseRegularisation: inverseRegularisations[chosen],
                                                                       maxIterations: maxIterations, context: context)
            return try model.probabilities(test)
        })
    }
}
