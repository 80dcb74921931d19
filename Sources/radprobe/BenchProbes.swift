import ArgumentParser
import Foundation
import LinearProbes
import Metrics
import NearestNeighbours
import Randomness
import TensorCore
import TensorKernels

/// `radprobe bench probes`: how fast the classification probes run on seeded synthetic features.
struct BenchProbes: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "probes",
        abstract: "Measure the classification probes (kNN, ML-kNN, the linear-probe grid, logistic regression, bootstrapped AUROC) on synthetic features.",
        discussion: """
        The features are seeded and synthetic: --train + --test items of --blocks blocks × --width class \
        tokens and mean patch tokens, each in one of --classes classes and with --labels multi-label \
        findings. kNN and logistic regression read the last block's class token; the linear probe trains \
        DINOv2's grid of heads for one epoch. Each task runs --repeats times (no warm-up run) and the \
        median is reported. scripts/bench_probes.py draws the same features and runs the same tasks in \
        PyTorch and scikit-learn.
        """
    )

    /// One measured piece of work.
    enum Task: String, CaseIterable, ExpressibleByArgument {
        case knn, mlknn = "ml-knn", linear, logistic, auroc
    }

    @Option(parsing: .upToNextOption, help: "Tasks to measure.")
    var tasks: [Task] = Task.allCases

    @Option(help: "Training (support) items.")
    var train: Int = 10_000

    @Option(help: "Test (query, validation) items.")
    var test: Int = 2_000

    @Option(help: "Feature width D.")
    var width: Int = 384

    @Option(help: "Stored blocks L (heads read the last 1 or L).")
    var blocks: Int = 4

    @Option(help: "Findings of the multi-label variant.")
    var labels: Int = 14

    @Option(help: "Classes of the multi-class variant.")
    var classes: Int = 4

    @Option(parsing: .upToNextOption, help: "Neighbour counts of kNN.")
    var neighbours: [Int] = [10, 20, 100, 200]

    @Option(help: "Neighbours of ML-kNN.")
    var mlknnNeighbours: Int = 10

    @Option(help: "Passes of the linear-probe grid over the training items.")
    var epochs: Int = 1

    @Option(parsing: .upToNextOption, help: "Base learning rates of the linear-probe grid (default: DINOv2's 13; 8 give the 32-head grid).")
    var learningRates: [Double] = LinearProbeConfiguration.dinov2LearningRates

    @Option(help: "Linear-probe batch size.")
    var batchSize: Int = 128

    @Option(parsing: .upToNextOption, help: "Inverse regularisations C of the logistic-regression sweep.")
    var cValues: [Double] = [1e-3, 1e-2, 1e-1, 1]

    @Option(help: "L-BFGS iteration cap per fit.")
    var maxIterations: Int = LogisticRegression.defaultMaxIterations

    @Option(help: "Bootstrap resamples of the AUROC.")
    var resamples: Int = 1_000

    @Option(help: "Seed of the synthetic features and of the bootstrap.")
    var seed: UInt64 = 0

    @Option(help: "Timed runs per task (the median is reported).")
    var repeats: Int = 1

    @Flag(help: "Print JSON lines instead of a table.")
    var json = false

    @OptionGroup var compute: ComputeOptions

    func validate() throws {
        if repeats < 1 { throw ValidationError("--repeats must be at least 1.") }
        if width < 1 || blocks < 1 || labels < 1 || classes < 2 { throw ValidationError("--width, --blocks and --labels must be at least 1 and --classes at least 2.") }
        if test < 2 { throw ValidationError("--test must be at least 2.") }
        if batchSize < 1 || train < batchSize { throw ValidationError("--train (\(train)) must hold at least one batch of --batch-size (\(batchSize)).") }
        if let bad = neighbours.first(where: { $0 < 1 || $0 > train }) { throw ValidationError("neighbour count \(bad) must be in 1...\(train) (--train).") }
        if mlknnNeighbours < 1 || mlknnNeighbours >= train { throw ValidationError("--mlknn-neighbours must be in 1..<\(train) (--train).") }
        if let bad = cValues.first(where: { !($0 > 0 && $0.isFinite) }) { throw ValidationError("C value \(bad) must be finite and > 0.") }
        if cValues.isEmpty || maxIterations < 1 || resamples < 1 { throw ValidationError("--c-values needs a value; --max-iterations and --resamples must be at least 1.") }
    }

    func run() async throws {
        let context = compute.context
        let output = BenchOutput(json: json)
        let data = SyntheticProbeData(train: train, test: test, width: width, blocks: blocks, classes: classes, labels: labels, seed: seed)
        let common: [String: Any] = ["kind": "probe", "implementation": "radprobe", "threads": context.threads, "train": train,
                                     "test": test, "width": width, "blocks": blocks]
        output.emit(nil, text: "task       variant        outputs    seconds   result")
        func emit(_ task: Task, _ variant: String, outputs: Int, seconds: Double, _ fields: [String: Any], summary: String) {
            output.emit(common.merging(fields) { $1 }.merging(["task": task.rawValue, "variant": variant, "outputs": outputs, "seconds": seconds]) { $1 },
                        text: task.rawValue.padding(toLength: 11, withPad: " ", startingAt: 0) + variant.padding(toLength: 13, withPad: " ", startingAt: 0)
                            + String(format: "%9d %10.3f   ", outputs, seconds) + summary)
        }
        for task in Task.allCases where tasks.contains(task) {
            try CommandFailure.wrap {
                switch task {
                case .knn: try measureKNN(data, context: context, emit)
                case .mlknn: try measureMLKNN(data, context: context, emit)
                case .linear: try measureLinearGrid(data, context: context, emit)
                case .logistic: try measureLogisticSweep(data, context: context, emit)
                case .auroc: try measureAUROC(data, emit)
                }
            }
        }
    }

    private typealias Emit = (Task, String, Int, Double, [String: Any], String) -> Void

    /// The median wall time of `repeats` runs of `body` and what the last run returned.
    private func timed<Result>(_ body: () throws -> Result) rethrows -> (seconds: Double, result: Result) {
        var times: [Double] = [], result: Result?
        for _ in 0..<repeats {
            let start = DispatchTime.now().uptimeNanoseconds
            result = try body()
            times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        return (times.sorted()[times.count / 2], result!)
    }

    private func measureKNN(_ data: SyntheticProbeData, context: ComputeContext, _ emit: Emit) throws {
        let (seconds, scores) = try timed {
            let classifier = try WeightedKNNClassifier(support: data.lastClassTokens(data.trainItems), labels: Array(data.classOf[data.trainItems]),
                                                       classCount: classes)
            return try classifier.classify(data.lastClassTokens(data.testItems), neighbourCounts: neighbours, context: context)
        }
        let truth = Array(data.classOf[data.testItems])
        let accuracies = scores.map { score in Double(zip(score.predictions, truth).filter { $0 == $1 }.count) / Double(truth.count) }
        emit(.knn, "multi_class", classes, seconds, ["k": neighbours, "accuracy": accuracies],
             "top-1 " + zip(neighbours, accuracies).map { String(format: "k=%d %.3f", $0, $1) }.joined(separator: ", "))
    }

    private func measureMLKNN(_ data: SyntheticProbeData, context: ComputeContext, _ emit: Emit) throws {
        let (seconds, prediction) = try timed {
            let model = try MultiLabelKNN(support: data.lastClassTokens(data.trainItems), labels: data.findings(data.trainItems),
                                          k: mlknnNeighbours, context: context)
            return try model.predict(data.lastClassTokens(data.testItems), context: context)
        }
        let auroc = try data.macroAUROC(prediction.probabilities, items: data.testItems)
        emit(.mlknn, "multi_label", labels, seconds, ["k": mlknnNeighbours, "macro_auroc": auroc], String(format: "k=%d, macro AUROC %.4f", mlknnNeighbours, auroc))
    }

    private func measureLinearGrid(_ data: SyntheticProbeData, context: ComputeContext, _ emit: Emit) throws {
        let grid = try LinearProbeConfiguration.dinov2Grid(blockChoices: blocks > 1 ? [1, blocks] : [1], learningRates: learningRates,
                                                           batchSize: batchSize)
        let features = try data.probeFeatures(data.trainItems)
        let options = LinearProbeTrainingOptions(epochs: epochs, batchSize: batchSize)
        let steps = train / batchSize * epochs
        for (variant, targets) in [("multi_label", ProbeTargets.multiLabel(data.findings(data.trainItems))),
                                   ("multi_class", .multiClass(labels: Array(data.classOf[data.trainItems]), classes: classes))] {
            let (seconds, _) = try timed { try LinearProbeTrainer.train(grid, features: features, targets: targets, options: options, context: context) }
            emit(.linear, variant, targets.classes, seconds, ["heads": grid.count, "batch_size": batchSize, "steps": steps, "epochs": epochs],
                 String(format: "%d heads, %d steps of %d: %.1f steps/s", grid.count, steps, batchSize, Double(steps) / seconds))
        }
    }

    private func measureLogisticSweep(_ data: SyntheticProbeData, context: ComputeContext, _ emit: Emit) throws {
        let trainFeatures = data.lastClassTokens(data.trainItems), testFeatures = data.lastClassTokens(data.testItems)
        let variants: [(String, ProbeTargets, ProbeTargets, LinearProbeScore)] = [
            ("multi_class", .multiClass(labels: Array(data.classOf[data.trainItems]), classes: classes),
             .multiClass(labels: Array(data.classOf[data.testItems]), classes: classes),
             { probabilities, _ in try Accuracy.overall(scores: SyntheticProbeData.doubleMatrix(probabilities), labels: Array(data.classOf[data.testItems])) }),
            ("multi_label", .multiLabel(data.findings(data.trainItems)), .multiLabel(data.findings(data.testItems)),
             { probabilities, _ in try data.macroAUROC(probabilities, items: data.testItems) }),
        ]
        for (variant, trainTargets, testTargets, score) in variants {
            let (seconds, sweep) = try timed {
                try LogisticRegressionSweep(training: (trainFeatures, trainTargets), validation: (testFeatures, testTargets), values: cValues,
                                            maxIterations: maxIterations, context: context, score: score)
            }
            emit(.logistic, variant, trainTargets.classes, seconds,
                 ["c_values": cValues, "fits": cValues.count + 1, "max_iterations": maxIterations, "scores": sweep.scores,
                  "best_c": sweep.bestInverseRegularisation, "iterations": sweep.iterations + [sweep.finalModel.iterations.reduce(0, +)]],
                 String(format: "%d fits (%d L-BFGS iterations), best C %g, validation %@ %.4f", cValues.count + 1,
                        (sweep.iterations + sweep.finalModel.iterations).reduce(0, +), sweep.bestInverseRegularisation,
                        variant == "multi_class" ? "accuracy" : "macro AUROC", sweep.scores[sweep.bestIndex]))
        }
    }

    private func measureAUROC(_ data: SyntheticProbeData, _ emit: Emit) throws {
        let scores = data.aurocScores, truth = try SyntheticProbeData.doubleMatrix(data.findings(data.testItems))
        let configuration = try BootstrapConfiguration(seed: seed, resamples: resamples)
        let (seconds, estimate) = try timed {
            try Bootstrap.estimate(units: .rows(test), configuration: configuration) { rows in
                try AUROC.multiLabel(scores: scores.selectingRows(rows), labels: truth.selectingRows(rows)).macro
            }
        }
        emit(.auroc, "multi_label", labels, seconds,
             ["resamples": resamples, "macro_auroc": estimate.estimate ?? .nan, "lower": estimate.interval?.lower ?? .nan,
              "upper": estimate.interval?.upper ?? .nan],
             String(format: "%d resamples, macro AUROC %.4f [%.4f, %.4f]", resamples, estimate.estimate ?? .nan,
                    estimate.interval?.lower ?? .nan, estimate.interval?.upper ?? .nan))
    }
}

/// Seeded synthetic probe features, drawn from one `SeededGenerator` in this order (each `u` a `uniform()`):
///
///     class prototypes [classes, D] = 2u − 1;  finding prototypes [labels, D] = 2u − 1
///     class of item i = ⌊u · classes⌋;          finding j of item i = 1 if u < 0.2 else 0      ([n, labels])
///     signal[i, d] = classPrototype[class_i, d] + Σ_j finding_ij · findingPrototype[j, d]     (j ascending, in Double)
///     classTokens[i, l, d] = Float((2u − 1) + signal[i, d] · 0.1·(l + 1)/L)                   ([n, L, D])
///     patchMeans[i, l, d]  = Float((2u − 1) + signal[i, d] · 0.05·(l + 1)/L)
///     AUROC scores [test, labels] = finding · 0.5 + u   (over the test items)
///
/// with `n = train + test`, the test items last. scripts/bench_probes.py draws the same values.
struct SyntheticProbeData {
    let trainItems: Range<Int>
    let testItems: Range<Int>
    /// `[n, L, D]`.
    let classTokens: Tensor
    /// `[n, L, D]`.
    let patchMeans: Tensor
    /// `n` class indices.
    let classOf: [Int]
    /// `[n, labels]` 0/1 findings.
    let allFindings: Tensor
    /// `[test, labels]` scores for the AUROC.
    let aurocScores: DoubleMatrix

    init(train: Int, test: Int, width: Int, blocks: Int, classes: Int, labels: Int, seed: UInt64) {
        var generator = SeededGenerator(seed: seed)
        let n = train + test
        func centred(_ count: Int) -> [Double] { (0..<count).map { _ in 2 * generator.uniform() - 1 } }
        let classPrototypes = centred(classes * width), findingPrototypes = centred(labels * width)
        classOf = (0..<n).map { _ in Int(generator.uniform() * Double(classes)) }
        let findings = (0..<(n * labels)).map { _ in generator.uniform() < 0.2 ? 1.0 : 0.0 }
        var signal = [Double](repeating: 0, count: n * width)
        for item in 0..<n {
            for d in 0..<width {
                var value = classPrototypes[classOf[item] * width + d]
                for j in 0..<labels { value += findings[item * labels + j] * findingPrototypes[j * width + d] }
                signal[item * width + d] = value
            }
        }
        func tokens(scale: Double) -> Tensor {
            Tensor(uninitializedShape: [n, blocks, width]) { values in
                for item in 0..<n {
                    for block in 0..<blocks {
                        let factor = scale * Double(block + 1) / Double(blocks)
                        for d in 0..<width {
                            values[(item * blocks + block) * width + d] = Float((2 * generator.uniform() - 1) + signal[item * width + d] * factor)
                        }
                    }
                }
            }
        }
        classTokens = tokens(scale: 0.1)
        patchMeans = tokens(scale: 0.05)
        allFindings = Tensor(shape: [n, labels], values: findings.map(Float.init))
        aurocScores = try! DoubleMatrix(rows: test, columns: labels,
                                        values: (train * labels..<n * labels).map { findings[$0] * 0.5 + generator.uniform() })
        trainItems = 0..<train
        testItems = train..<n
    }

    /// The last block's class tokens of `items`, `[items.count, D]`.
    func lastClassTokens(_ items: Range<Int>) -> Tensor {
        let (blocks, width) = (classTokens.shape[1], classTokens.shape[2])
        return classTokens.withUnsafeBufferPointer { all in
            Tensor(uninitializedShape: [items.count, width]) { rows in
                for (row, item) in items.enumerated() {
                    for d in 0..<width { rows[row * width + d] = all[(item * blocks + blocks - 1) * width + d] }
                }
            }
        }
    }

    /// Class tokens and patch means of `items`.
    func probeFeatures(_ items: Range<Int>) throws -> ProbeFeatures {
        try ProbeFeatures(classTokens: classTokens.slice(outer: items), patchMeans: patchMeans.slice(outer: items))
    }

    /// Findings of `items`, `[items.count, labels]`.
    func findings(_ items: Range<Int>) -> Tensor { allFindings.slice(outer: items) }

    /// Macro AUROC of `probabilities` `[items.count, labels]` against the findings of `items`.
    func macroAUROC(_ probabilities: Tensor, items: Range<Int>) throws -> Double {
        try AUROC.multiLabel(scores: Self.doubleMatrix(probabilities), labels: Self.doubleMatrix(findings(items))).macro ?? .nan
    }

    /// A rank-2 tensor as a `DoubleMatrix`.
    static func doubleMatrix(_ tensor: Tensor) throws -> DoubleMatrix {
        try DoubleMatrix(rows: tensor.shape[0], columns: tensor.shape[1], values: tensor.scalars.map(Double.init))
    }
}
