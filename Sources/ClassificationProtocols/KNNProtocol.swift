import Datasets
import LinearProbes
import Metrics
import NearestNeighbours
import TensorCore
import TensorKernels

/// The kNN protocol: DINOv2's weighted vote for multi-class data (`WeightedKNNClassifier`: cosine
/// similarity, softmax of sim / T over the top max(k), truncated sums per k) and ML-kNN for
/// multi-label data (`MultiLabelKNN`, smoothing 1). Each k is scored on validation with the training
/// rows as the support set; the best k then predicts the test set with training + validation rows as
/// the support set. The feature of a row is the class token of the last `blocks` blocks (then the last
/// block's mean patch token when `usesPatchMean`), as a linear head would read it.
public struct KNNProtocol: Sendable {
    /// The k values to compare (the study used 100, 200, 400, 800, 1000 on its larger sets).
    public var neighbourCounts: [Int]
    /// The vote's temperature T (multi-class only).
    public var temperature: Float
    /// Class tokens of the last `blocks` blocks form the feature.
    public var blocks: Int
    /// Append the last block's mean patch token.
    public var usesPatchMean: Bool

    /// A protocol comparing `neighbourCounts` (DINOv2's defaults 10, 20, 100, 200) at temperature 0.07
    /// on the last block's class token.
    public init(neighbourCounts: [Int] = [10, 20, 100, 200], temperature: Float = 0.07, blocks: Int = 1, usesPatchMean: Bool = false) {
        self.neighbourCounts = neighbourCounts
        self.temperature = temperature
        self.blocks = blocks
        self.usesPatchMean = usesPatchMean
    }

    /// Runs the protocol on `data`.
    public func run(on data: ProbeDataset, selectBy metric: SelectionMetric, bootstrap: BootstrapConfiguration,
                    context: ComputeContext) throws -> ProbeResult {
        guard !neighbourCounts.isEmpty else { throw ProbeProtocolError("no k to compare") }
        let train = try data.train.features.matrix(blocks: blocks, usesPatchMean: usesPatchMean)
        let validation = try data.validation.features.matrix(blocks: blocks, usesPatchMean: usesPatchMean)
        let test = try data.test.features.matrix(blocks: blocks, usesPatchMean: usesPatchMean)
        let both = Tensor.concatenate([train, validation])
        let bothPart = try data.train.appending(data.validation)
        var configuration = ["k": neighbourCounts.map(String.init).joined(separator: ","), "blocks": "\(blocks)",
                             "patch_mean": "\(usesPatchMean)"]
        let name: String, selection: SelectionRecord, testScores: Tensor
        switch data.labelSpace {
        case .multiClass(let classes):
            name = "knn"
            configuration["temperature"] = "\(temperature)"
            let classify = { (support: Tensor, part: ProbePart, queries: Tensor, ks: [Int]) throws -> [KNNClassScores] in
                try WeightedKNNClassifier(support: support, labels: part.labels.map { Int($0[0]) }, classCount: classes.count)
                    .classify(queries, neighbourCounts: ks, temperature: temperature, context: context)
            }
            let validationScores = try classify(train, data.train, validation, neighbourCounts)
            selection = try SelectionRecord(metric: metric, names: neighbourCounts.map { "k=\($0)" }, scores: try validationScores.map {
                try metric.score($0.scores, part: data.validation, labelSpace: data.labelSpace)
            })
            testScores = try classify(both, bothPart, test, [neighbourCounts[selection.chosenIndex]])[0].scores
        case .multiLabel, .segmentation:
            name = "ml-knn"
            configuration["smoothing"] = "1"
            let predict = { (support: Tensor, part: ProbePart, queries: Tensor, k: Int) throws -> Tensor in
                try MultiLabelKNN(support: support, labels: part.labelMatrix, k: k, context: context).predict(queries, context: context).probabilities
            }
            selection = try SelectionRecord(metric: metric, names: neighbourCounts.map { "k=\($0)" }, scores: try neighbourCounts.map {
                try metric.score(predict(train, data.train, validation, $0), part: data.validation, labelSpace: data.labelSpace)
            })
            testScores = try predict(both, bothPart, test, neighbourCounts[selection.chosenIndex])
        }
        return ProbeResult(protocolName: name, configuration: configuration, selection: selection, finalFit: "train+validation",
                           sizes: PartSizes(train: data.train, validation: data.validation, test: data.test),
                           test: try ClassificationMetrics(scores: testScores, part: data.test, labelSpace: data.labelSpace,
                                                           bootstrap: bootstrap))
    }
}
