import Convolution
import Datasets
import Foundation
import Metrics
import TensorCore

/// Predicts and scores whole cases with a trained head: each slice is decoded at its size in the case's
/// own grid (logits bilinearly resized there by the head), labelled by the arg-max class (the lowest
/// class on a tie), and the slices are put back into the case's grid before scoring — a volume is scored
/// as one case (`SegmentationMetrics.evaluate` with its voxel spacing, HD95 in mm), never slice by slice.
public struct SegmentationPredictor<Head: SegmentationHead>: Sendable {
    public let head: Head
    public let encoder: SegmentationInputEncoder
    /// Slices per forward pass.
    public let batchSize: Int
    /// `K`, background included.
    public let classCount: Int

    public init(head: Head, encoder: SegmentationInputEncoder, batchSize: Int, classCount: Int) {
        self.head = head
        self.encoder = encoder
        self.batchSize = batchSize
        self.classCount = classCount
    }

    /// The predicted label map of `item` in its grid; `encoded` are its inputs when already computed.
    func predict(_ item: SegmentationCase, encoded: EncodedInputs? = nil) throws -> LabelMap {
        var slices: [[Int32]] = []
        for start in stride(from: 0, to: item.inputs.count, by: batchSize) {
            let range = start ..< min(start + batchSize, item.inputs.count)
            let inputs = try encoded?.batch(Array(range)) ?? encoder.encode(Array(item.inputs[range]))
            let logits = try head.forwardInference(inputs, imageSize: item.sliceSize, context: encoder.context)
            slices += Self.argmax(logits)
        }
        return try item.labelMap(fromSlices: slices)
    }

    /// The predicted label map of `item` and its scores against the truth.
    public func evaluate(_ item: SegmentationCase) throws -> (prediction: LabelMap, scores: SegmentationScores) {
        try score(item, prediction: try predict(item))
    }

    func score(_ item: SegmentationCase, prediction: LabelMap) throws -> (prediction: LabelMap, scores: SegmentationScores) {
        (prediction, try SegmentationMetrics.evaluate(prediction: prediction, truth: item.truth, spacing: item.spacing,
                                                      classCount: classCount))
    }

    /// Per item of logits `[B, K, H, W]`, the arg-max class of every pixel (row-major).
    static func argmax(_ logits: Tensor) -> [[Int32]] {
        let (b, k, pixels) = (logits.shape[0], logits.shape[1], logits.shape[2] * logits.shape[3])
        return logits.withUnsafeBufferPointer { values in
            (0..<b).map { item in
                var labels = [Int32](repeating: 0, count: pixels)
                let base = item * k * pixels
                for pixel in 0..<pixels {
                    var best = values[base + pixel], label = 0
                    for c in 1..<max(k, 1) where values[base + c * pixels + pixel] > best {
                        best = values[base + c * pixels + pixel]
                        label = c
                    }
                    labels[pixel] = Int32(label)
                }
                return labels
            }
        }
    }
}

/// One learning rate of the grid: the training loss per epoch and the validation score.
public struct LearningRateTrial: Sendable, Codable, Equatable {
    public let learningRate: Double
    /// Mean training loss of each epoch.
    public let epochLosses: [Float]
    /// Mean over validation cases of each case's mean foreground Dice (nil without validation cases).
    public let validationDice: Double?
    /// Seconds spent training and validating this rate.
    public let seconds: Double
}

/// The protocol of a segmentation experiment: a head per learning rate trained on the training cases,
/// the one with the best validation mean foreground Dice selected (the first of equal scores; a rate
/// without a score ranks last), then evaluated case by case on the test cases. The head is not
/// retrained on training + validation. When the trainer has stored grids, every item of the three parts
/// must be in the store (checked before anything is read) and the backbone never runs.
public struct SegmentationExperiment<Head: SegmentationHead>: Sendable {
    public let trainer: SegmentationTrainer<Head>
    public let reader: SegmentationCaseReader

    /// Progress of a named phase: (phase, unit, done, total).
    public typealias Progress = (String, String, Int, Int) -> Void

    /// The outcome: every rate's trial, the selected head and rate, the test scores, and timings.
    public struct Outcome: Sendable {
        public let trials: [LearningRateTrial]
        public let selectedLearningRate: Double
        public let head: Head
        /// Test cases' ids and scores, in the order given.
        public let testCases: [(id: String, scores: SegmentationScores)]
        /// Seconds per phase: `read`, `encode`, `train`, `test`.
        public let seconds: [String: Double]
    }

    public init(trainer: SegmentationTrainer<Head>, reader: SegmentationCaseReader) {
        self.trainer = trainer
        self.reader = reader
    }

    /// Runs the protocol on the items of each part; `onTestCase` gets every test case with its predicted
    /// label map and scores as soon as it is scored (to write outputs without keeping them).
    public func run(train: [DatasetItem], validation: [DatasetItem], test: [DatasetItem],
                    progress: Progress = { _, _, _, _ in },
                    onTestCase: (SegmentationCase, LabelMap, SegmentationScores) throws -> Void = { _, _, _ in }) throws -> Outcome {
        let configuration = trainer.configuration
        guard !train.isEmpty, !test.isEmpty else {
            throw SegmentationTrainingError("the split needs training and test cases (it has \(train.count) training and \(test.count) test cases)")
        }
        guard !validation.isEmpty || configuration.learningRates.count == 1 else {
            throw SegmentationTrainingError("choosing among \(configuration.learningRates.count) learning rates needs validation cases; the split has none")
        }
        try trainer.grids?.checkHolds((train + validation + test).map(\.id))
        var seconds: [String: Double] = [:]
        var clock = Date()
        func lap(_ phase: String) { seconds[phase, default: 0] += Date().timeIntervalSince(clock); clock = Date() }

        let trainingCases = try read(train, phase: "reading training cases", progress: progress)
        let validationCases = try read(validation, phase: "reading validation cases", progress: progress)
        lap("read")
        let slices = trainingCases.reduce(0) { $0 + $1.inputs.count }
        var done = 0
        let data = try trainer.trainingSet(trainingCases) { done += $0; progress("encoding training slices", "slices", done, slices) }
        let validationSlices = validationCases.reduce(0) { $0 + $1.inputs.count }
        done = 0
        let validationInputs = try validationCases.map { item in
            try trainer.encodedInputs(of: item) { done += $0; progress("encoding validation slices", "slices", done, validationSlices) }
        }
        lap("encode")

        var trials: [LearningRateTrial] = [], best: (head: Head, rate: Double, score: Double?)?
        for (index, rate) in configuration.learningRates.enumerated() {
            let start = Date()
            let phase = "training at learning rate \(rate) (\(index + 1) of \(configuration.learningRates.count))"
            done = 0
            let (head, losses) = try trainer.train(data, learningRate: rate) {
                done += $0; progress(phase, "slices", done, data.count * configuration.epochs)
            }
            let predictor = SegmentationPredictor(head: head, encoder: trainer.encoder, batchSize: configuration.batchSize,
                                                  classCount: reader.classes.count)
            let scores = try zip(validationCases, validationInputs).map { item, inputs in
                try predictor.score(item, prediction: try predictor.predict(item, encoded: inputs)).scores
            }
            let dice = scores.isEmpty ? nil : try SegmentationCohortScores(cases: scores).meanDice
            trials.append(LearningRateTrial(learningRate: rate, epochLosses: losses, validationDice: dice,
                                            seconds: Date().timeIntervalSince(start)))
            if best == nil || Self.ranks(dice, above: best!.score) { best = (head, rate, dice) }
        }
        lap("train")

        let predictor = SegmentationPredictor(head: best!.head, encoder: trainer.encoder, batchSize: configuration.batchSize,
                                              classCount: reader.classes.count)
        var testCases: [(id: String, scores: SegmentationScores)] = []
        for (index, item) in test.enumerated() {
            let loaded = try reader.read(item)
            let stored = try trainer.grids.map { try $0.inputs(of: loaded) }
            let (prediction, scores) = try predictor.score(loaded, prediction: try predictor.predict(loaded, encoded: stored))
            try onTestCase(loaded, prediction, scores)
            testCases.append((item.id, scores))
            progress("testing", "cases", index + 1, test.count)
        }
        lap("test")
        return Outcome(trials: trials, selectedLearningRate: best!.rate, head: best!.head, testCases: testCases, seconds: seconds)
    }

    /// Whether `score` beats `incumbent` (nil ranks last; ties keep the incumbent).
    static func ranks(_ score: Double?, above incumbent: Double?) -> Bool {
        guard let score else { return false }
        guard let incumbent else { return true }
        return score > incumbent
    }

    private func read(_ items: [DatasetItem], phase: String, progress: Progress) throws -> [SegmentationCase] {
        try items.enumerated().map { index, item in
            defer { progress(phase, "cases", index + 1, items.count) }
            return try reader.read(item)
        }
    }
}
