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
                    context: ComputeContext) throws -> ProbeOutcome {
        let matrix = { (part: ProbePart) in try part.features.matrix(blocks: blocks, usesPatchMean: usesPatchMean) }
        let train = try matrix(data.train), test = try matrix(data.test)
        // The support of the test predictions: the training rows, then the validation rows when added.
        let support = { (added: ProbePart?) throws -> Tensor in try added.map { .concatenate([train, try matrix($0)]) } ?? train }
        var configuration = ["k": neighbourCounts.map(String.init).joined(separator: ","), "blocks": "\(blocks)", "patch_mean": "\(usesPatchMean)"]
        let names = neighbourCounts.map { "k=\($0)" }
        switch data.labelSpace {
        case .multiClass(let classes):
            configuration["temperature"] = "\(temperature)"
            let indices = { (part: ProbePart, role: String) in try part.requireLabels(role).map { Int($0[0]) } }
            let classify = { (support: Tensor, labels: [Int], queries: Tensor, ks: [Int]) throws -> [Tensor] in
                try WeightedKNNClassifier(support: support, labels: labels, classCount: classes.count)
                    .classify(queries, neighbourCounts: ks, temperature: temperature, context: context).map(\.scores)
            }
            return try CandidateSearch(name: "knn", configuration: configuration, candidates: names, refitsOnValidation: true)
                .run(on: data, selectBy: metric, bootstrap: bootstrap, validationScores: { validation, score in
                    try classify(train, indices(data.train, "training"), try matrix(validation), neighbourCounts).map(score)
                }, predictTest: { chosen, added in
                    let labels = try indices(data.train, "training") + (added.map { try indices($0, "validation") } ?? [])
                    return try classify(support(added), labels, test, [neighbourCounts[chosen]])[0]
                })
        case .multiLabel, .segmentation:
            configuration["smoothing"] = "1"
            let predict = { (support: Tensor, labels: Tensor, queries: Tensor, k: Int) throws -> Tensor in
                try MultiLabelKNN(support: support, labels: labels, k: k, context: context).predict(queries, context: context).probabilities
            }
            let trainLabels = try data.train.labelMatrix("training")
            return try CandidateSearch(name: "ml-knn", configuration: configuration, candidates: names, refitsOnValidation: true)
                .run(on: data, selectBy: metric, bootstrap: bootstrap, validationScores: { validation, score in
                    let queries = try matrix(validation)
                    return try neighbourCounts.map { try score(predict(train, trainLabels, queries, $0)) }
                }, predictTest: { chosen, added in
                    let labels = try added.map { Tensor.concatenate([trainLabels, try $0.labelMatrix("validation")]) } ?? trainLabels
                    return try predict(support(added), labels, test, neighbourCounts[chosen])
                })
        }
    }
}
