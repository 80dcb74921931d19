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
        let result = try CommandFailure.wrap { () throws -> PerClassAUROC in
            let (scoreShape, scoreValues) = try NumPyArray.readDoubles(contentsOf: URL(fileURLWithPath: scores))
            let (labelShape, labelValues) = try NumPyArray.readDoubles(contentsOf: URL(fileURLWithPath: labels))
            guard scoreShape.count == 1 || scoreShape.count == 2, let rows = scoreShape.first else {
                throw CommandFailure("\(scores): scores must be [N, C] or [N], not \(scoreShape)")
            }
            let matrix = try DoubleMatrix(rows: rows, columns: scoreShape.count == 2 ? scoreShape[1] : 1, values: scoreValues)
            guard labelShape.first == rows else {
                throw CommandFailure("\(labels): \(labelShape.first ?? 0) label rows for \(rows) score rows in \(scores)")
            }
            if multiclass {
                guard labelShape.count == 1, let classes = try? labelValues.map(Self.classIndex) else {
                    throw CommandFailure("\(labels): --multiclass labels must be [N] whole class indices, not shape \(labelShape)")
                }
                return try AUROC.oneVsRest(scores: matrix, labels: classes)
            }
            guard labelShape.count == scoreShape.count, labelShape == scoreShape else {
                throw CommandFailure("\(labels): labels of shape \(labelShape) do not match scores of shape \(scoreShape) (class indices need --multiclass)")
            }
            return try AUROC.multiLabel(scores: matrix, labels: try DoubleMatrix(rows: rows, columns: matrix.columns, values: labelValues))
        }
        let perClass = result.perClass.map { $0.map { $0 as Any } ?? NSNull() }
        let json = try JSONSerialization.data(withJSONObject: ["per_class": perClass, "macro": result.macro.map { $0 as Any } ?? NSNull()],
                                              options: [.sortedKeys])
        print(String(decoding: json, as: UTF8.self))
    }

    /// A whole, non-negative class index.
    static func classIndex(_ value: Double) throws -> Int {
        guard value.isFinite, value >= 0, value == value.rounded(), value < Double(Int32.max) else { throw CommandFailure("not a class index") }
        return Int(value)
    }
}
