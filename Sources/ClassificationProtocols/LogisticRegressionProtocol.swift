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
                    context: ComputeContext) throws -> ProbeResult {
        let space = data.labelSpace
        let features = { (part: ProbePart) in try part.features.matrix(blocks: blocks, usesPatchMean: usesPatchMean) }
        let sweep = try LogisticRegressionSweep(
            training: (try features(data.train), data.train.targets(space)),
            validation: (try features(data.validation), data.validation.targets(space)),
            values: inverseRegularisations, maxIterations: maxIterations, context: context) { probabilities, _ in
            let value = try metric.score(probabilities, part: data.validation, labelSpace: space)
            return value.isNaN ? -.infinity : value
        }
        let selection = try SelectionRecord(metric: metric, names: inverseRegularisations.map { "C=\(recordText($0))" },
                                            scores: sweep.scores.map { $0 == -.infinity ? .nan : $0 })
        return ProbeResult(
            protocolName: "logistic-regression",
            configuration: ["c_values": inverseRegularisations.map(recordText).joined(separator: ","), "blocks": "\(blocks)",
                            "patch_mean": "\(usesPatchMean)", "max_iterations": "\(maxIterations)", "solver": "l-bfgs"],
            selection: selection, finalFit: "train+validation",
            sizes: PartSizes(train: data.train, validation: data.validation, test: data.test),
            test: try ClassificationMetrics(scores: sweep.finalModel.probabilities(try features(data.test)), part: data.test,
                                            labelSpace: space, bootstrap: bootstrap))
    }
}
