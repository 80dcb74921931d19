import ArgumentParser
import Checkpoints
import Foundation
import Metrics

/// `radprobe metrics auroc`: AUROC per class and its macro average of saved scores against labels.
struct MetricsAUROC: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "auroc",
        abstract: "AUROC per class and macro average of scores [N, C] against labels, as JSON.",
        discussion: """
        Prints {"per_class": [...], "macro": x}. Multi-label (default): labels [N, C] of 1/0, NaN for \
        unknown (left out of that class). With --multiclass: labels [N] are class indices and scores \
        [N, C] probabilities, one class against the rest. A class whose labels hold a single value is \
        null and left out of the macro average (null when no class is defined). Ties count one half, \
        as scikit-learn's roc_auc_score; float64 arrays are read exactly.
        """
    )

    @Option(help: "Scores .npy, [N, C] (or [N] for one class), higher meaning more likely.")
    var scores: String

    @Option(help: "Labels .npy: [N, C] 1/0/NaN, or [N] class indices with --multiclass.")
    var labels: String

    @Flag(help: "Labels are class indices and the scores one column per class.")
    var multiclass = false

    func run() async throws {
        let result = try CommandFailure.wrap {
            try LabelledScores(scores: scores, labels: labels, multiclass: multiclass).auroc()
        }
        printJSON(["per_class": result.perClass.map(jsonNumber), "macro": jsonNumber(result.macro)])
    }
}

/// `radprobe metrics compare`: two models' scores on the same test rows, compared per class by DeLong's
/// test and on the macro AUROC by a paired bootstrap.
struct MetricsCompare: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Compare two models' scores on the same rows: DeLong's test per class, a paired bootstrap of the macro AUROC.",
        discussion: """
        Prints {"per_class": [{"auroc_a", "auroc_b", "difference", "z", "p_value"} or null, ...], \
        "macro": {"auroc_a", "auroc_b", "difference", "lower", "upper", "p_value", "resamples", "skipped"}}. \
        Per class: DeLong, DeLong & Clarke-Pearson (1988) on the rows whose label is known (null when the \
        class has fewer than two positives or negatives; z and p null when the two models rank the rows \
        identically). Macro: a percentile bootstrap over rows of the difference A − B, both models scored \
        on the same resamples; p = 2·min(fraction ≤ 0, fraction ≥ 0), at most 1. Labels as metrics auroc.
        """
    )

    @Option(help: "Scores of model A .npy, [N, C] (or [N]).")
    var scoresA: String

    @Option(help: "Scores of model B .npy, the same shape as A's.")
    var scoresB: String

    @Option(help: "Labels .npy: [N, C] 1/0/NaN, or [N] class indices with --multiclass.")
    var labels: String

    @Flag(help: "Labels are class indices and the scores one column per class.")
    var multiclass = false

    @Option(help: "Bootstrap resamples of the macro AUROC difference.")
    var bootstrap: Int = 1000

    @Option(help: "Seed of the bootstrap.")
    var seed: UInt64 = 0

    func run() async throws {
        let (perClass, macro) = try CommandFailure.wrap { () throws -> ([Any], PairedBootstrapComparison) in
            let a = try LabelledScores(scores: scoresA, labels: labels, multiclass: multiclass)
            let b = try LabelledScores(scores: scoresB, labels: labels, multiclass: multiclass)
            guard a.scores.rows == b.scores.rows, a.scores.columns == b.scores.columns else {
                throw CommandFailure("\(scoresB): shape [\(b.scores.rows), \(b.scores.columns)] differs from \(scoresA)'s [\(a.scores.rows), \(a.scores.columns)]")
            }
            let perClass = try (0..<a.scores.columns).map { column -> Any in
                let (rows, truth) = a.binaryLabels(column)
                guard let test = try DeLongTest.compare(scoresA: rows.map { a.scores[$0, column] }, scoresB: rows.map { b.scores[$0, column] },
                                                        labels: truth) else { return NSNull() }
                return ["auroc_a": test.aurocA, "auroc_b": test.aurocB, "difference": test.difference,
                        "z": jsonNumber(test.zScore), "p_value": jsonNumber(test.pValue)] as [String: Any]
            }
            let macro = try Bootstrap.pairedComparison(units: ResamplingUnits.rows(a.scores.rows),
                                                       configuration: BootstrapConfiguration(seed: seed, resamples: bootstrap),
                                                       statisticA: { try a.selecting($0).auroc().macro },
                                                       statisticB: { try b.selecting($0).auroc().macro })
            return (perClass, macro)
        }
        printJSON(["per_class": perClass,
                   "macro": ["auroc_a": jsonNumber(macro.estimateA), "auroc_b": jsonNumber(macro.estimateB),
                             "difference": jsonNumber(macro.difference), "lower": jsonNumber(macro.interval?.lower),
                             "upper": jsonNumber(macro.interval?.upper), "p_value": jsonNumber(macro.pValue),
                             "resamples": macro.validResamples, "skipped": macro.skippedResamples] as [String: Any]])
    }
}

/// Scores `[N, C]` and their labels read from `.npy` files (float64 exactly): class indices `[N]`
/// (`multiclass`) or findings `[N, C]` of 1/0/NaN. Errors name the file and the problem.
struct LabelledScores {
    /// What the rows are: one class index each, or one 1/0/NaN value per finding.
    enum Truth {
        case classes([Int])
        case findings(DoubleMatrix)
    }

    let scores: DoubleMatrix
    let truth: Truth

    init(scores scoreFile: String, labels labelFile: String, multiclass: Bool) throws {
        let (scoreShape, scoreValues) = try NumPyArray.readDoubles(contentsOf: URL(fileURLWithPath: scoreFile))
        let (labelShape, labelValues) = try NumPyArray.readDoubles(contentsOf: URL(fileURLWithPath: labelFile))
        guard scoreShape.count == 1 || scoreShape.count == 2, let rows = scoreShape.first else {
            throw CommandFailure("\(scoreFile): scores must be [N, C] or [N], not \(scoreShape)")
        }
        scores = try DoubleMatrix(rows: rows, columns: scoreShape.count == 2 ? scoreShape[1] : 1, values: scoreValues)
        guard labelShape.first == rows else {
            throw CommandFailure("\(labelFile): \(labelShape.first ?? 0) label rows for \(rows) score rows in \(scoreFile)")
        }
        if multiclass {
            guard labelShape.count == 1, let indices = try? labelValues.map(Self.classIndex) else {
                throw CommandFailure("\(labelFile): --multiclass labels must be [N] whole class indices, not shape \(labelShape)")
            }
            truth = .classes(indices)
        } else {
            guard labelShape == scoreShape else {
                throw CommandFailure("\(labelFile): labels of shape \(labelShape) do not match scores of shape \(scoreShape) (class indices need --multiclass)")
            }
            truth = .findings(try DoubleMatrix(rows: rows, columns: scores.columns, values: labelValues))
        }
    }

    private init(scores: DoubleMatrix, truth: Truth) {
        (self.scores, self.truth) = (scores, truth)
    }

    /// Per-class and macro AUROC (one-vs-rest for class indices).
    func auroc() throws -> PerClassAUROC {
        switch truth {
        case .classes(let classes): try AUROC.oneVsRest(scores: scores, labels: classes)
        case .findings(let findings): try AUROC.multiLabel(scores: scores, labels: findings)
        }
    }

    /// The rows at `rows` (repeats allowed), for a bootstrap resample.
    func selecting(_ rows: [Int]) -> LabelledScores {
        switch truth {
        case .classes(let classes): LabelledScores(scores: scores.selectingRows(rows), truth: .classes(rows.map { classes[$0] }))
        case .findings(let findings): LabelledScores(scores: scores.selectingRows(rows), truth: .findings(findings.selectingRows(rows)))
        }
    }

    /// Class `column` against the rest: the rows with a known label and their 0/1 labels.
    func binaryLabels(_ column: Int) -> (rows: [Int], labels: [Int]) {
        switch truth {
        case .classes(let classes):
            return (Array(classes.indices), classes.map { $0 == column ? 1 : 0 })
        case .findings(let findings):
            let rows = (0..<scores.rows).filter { !findings[$0, column].isNaN }
            return (rows, rows.map { Int(findings[$0, column]) })
        }
    }

    /// A whole, non-negative class index.
    static func classIndex(_ value: Double) throws -> Int {
        guard value.isFinite, value >= 0, value == value.rounded(), value < Double(Int32.max) else { throw CommandFailure("not a class index") }
        return Int(value)
    }
}

/// A number, or JSON null.
func jsonNumber(_ value: Double?) -> Any { value.map { $0 as Any } ?? NSNull() }

/// Prints `object` as one line of JSON with sorted keys.
func printJSON(_ object: [String: Any]) {
    let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
    print(String(decoding: data, as: UTF8.self))
}
