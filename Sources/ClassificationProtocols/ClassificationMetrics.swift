import Datasets
import Metrics
import TensorCore

/// A value with its percentile-bootstrap interval (`lower`/`upper` nil when no resample was usable).
public struct IntervalEstimate: Codable, Sendable, Equatable {
    public let value: Double?
    public let lower: Double?
    public let upper: Double?

    init(_ estimate: BootstrapEstimate) {
        value = estimate.estimate
        lower = estimate.interval?.lower
        upper = estimate.interval?.upper
    }
}

/// How the test metrics' intervals were drawn.
public struct BootstrapRecord: Codable, Sendable, Equatable {
    /// `patients` (a drawn patient brings all its rows) or `rows` (when the patients are unknown).
    public let units: String
    public let resamples: Int
    public let confidence: Double
    public let seed: UInt64
    /// Resamples on which the macro AUROC was undefined (one label value in every class), left out.
    public let skippedResamples: Int
}

/// Test-set metrics of one probe: AUROC per class (nil where a class has a single label value in the
/// test set, named in `undefinedClasses` and left out of the macro average) with its bootstrap interval,
/// macro / micro / weighted AUROC, the macro AUROC's interval, and for multi-class data accuracy and
/// balanced accuracy (with the accuracy's interval). Every interval uses the same resamples (one seed)
/// over patients, or over rows when the patients are unknown.
public struct ClassificationMetrics: Codable, Sendable, Equatable {
    public let classNames: [String]
    public let aurocPerClass: [Double?]
    /// Each class's AUROC with its interval (one-vs-rest for multi-class data).
    public let aurocPerClassInterval: [IntervalEstimate]
    public let undefinedClasses: [String]
    public let aurocMacro: IntervalEstimate
    public let aurocMicro: Double?
    public let aurocWeighted: Double?
    public let accuracy: IntervalEstimate?
    public let balancedAccuracy: Double?
    public let bootstrap: BootstrapRecord
    public let items: Int
    /// Distinct patients among the rows (nil when unknown).
    public let patients: Int?

    /// The metrics of `scores` `[rows, classes]` (probabilities; higher means more likely) against
    /// `labels` (checked by `ProbeDataset`), with intervals from `bootstrap` over `patients` (one per
    /// row), or over rows when they are nil.
    public init(scores: Tensor, labels: [[Float]], patients rowPatients: [String]?, labelSpace: LabelSpace,
                bootstrap: BootstrapConfiguration) throws {
        let matrix = try DoubleMatrix(rows: labels.count, columns: labelSpace.names.count, values: scores.scalars.map(Double.init))
        let units = try rowPatients.map { try ResamplingUnits(patientIDs: $0) } ?? ResamplingUnits.rows(labels.count)
        let record = { (skipped: Int) in
            BootstrapRecord(units: rowPatients == nil ? "rows" : "patients", resamples: bootstrap.resamples,
                            confidence: bootstrap.confidence, seed: bootstrap.seed, skippedResamples: skipped)
        }
        classNames = labelSpace.names
        items = labels.count
        patients = rowPatients.map { Set($0).count }
        switch labelSpace {
        case .multiClass:
            let classes = labels.map { Int($0[0]) }
            let auroc = try AUROC.oneVsRest(scores: matrix, labels: classes, classNames: labelSpace.names)
            let macro = try Bootstrap.estimate(units: units, configuration: bootstrap) { rows in
                try AUROC.oneVsRest(scores: matrix.selectingRows(rows), labels: rows.map { classes[$0] }).macro
            }
            let accuracy = try Bootstrap.estimate(units: units, configuration: bootstrap) { rows in
                try Accuracy.overall(scores: matrix.selectingRows(rows), labels: rows.map { classes[$0] })
            }
            (aurocPerClass, undefinedClasses, aurocMicro, aurocWeighted) = (auroc.perClass, auroc.undefinedClassNames, auroc.micro, auroc.weighted)
            aurocMacro = IntervalEstimate(macro)
            self.accuracy = IntervalEstimate(accuracy)
            balancedAccuracy = try Accuracy.balanced(scores: matrix, labels: classes)
            aurocPerClassInterval = try Self.classIntervals(matrix, units: units, bootstrap: bootstrap) { row, column in
                classes[row] == column ? 1 : 0
            }
            self.bootstrap = record(macro.skippedResamples)
        case .multiLabel, .segmentation:
            let truth = try DoubleMatrix(rows: labels.count, columns: labelSpace.names.count, values: labels.flatMap { $0.map(Double.init) })
            let auroc = try AUROC.multiLabel(scores: matrix, labels: truth, classNames: labelSpace.names)
            let macro = try Bootstrap.estimate(units: units, configuration: bootstrap) { rows in
                try AUROC.multiLabel(scores: matrix.selectingRows(rows), labels: truth.selectingRows(rows)).macro
            }
            (aurocPerClass, undefinedClasses, aurocMicro, aurocWeighted) = (auroc.perClass, auroc.undefinedClassNames, auroc.micro, auroc.weighted)
            aurocMacro = IntervalEstimate(macro)
            accuracy = nil
            balancedAccuracy = nil
            aurocPerClassInterval = try Self.classIntervals(matrix, units: units, bootstrap: bootstrap) { row, column in truth[row, column] }
            self.bootstrap = record(macro.skippedResamples)
        }
    }

    /// Per class (column of `scores`), the binary AUROC of the column against `label(row, column)` (1,
    /// 0, or NaN left out) and its bootstrap interval.
    static func classIntervals(_ scores: DoubleMatrix, units: ResamplingUnits, bootstrap: BootstrapConfiguration,
                               label: (Int, Int) -> Double) throws -> [IntervalEstimate] {
        try (0..<scores.columns).map { column in
            IntervalEstimate(try Bootstrap.estimate(units: units, configuration: bootstrap) { rows in
                let known = rows.filter { !label($0, column).isNaN }
                guard !known.isEmpty else { return nil }
                return try AUROC.binary(scores: known.map { scores[$0, column] }, labels: known.map { Int(label($0, column)) })
            })
        }
    }
}

/// What a probe's candidates (k values, heads, regularisation strengths) are compared by on validation.
public enum SelectionMetric: String, CaseIterable, Codable, Sendable {
    /// Macro AUROC over the classes defined in the validation set.
    case aurocMacro = "auroc-macro"
    /// Top-1 accuracy (multi-class data only).
    case accuracy

    /// The study's choice for a label space: macro AUROC for multi-label data, accuracy (DINOv2's
    /// linear-probe metric) for multi-class data.
    public static func `default`(for space: LabelSpace) -> SelectionMetric {
        if case .multiClass = space { return .accuracy }
        return .aurocMacro
    }

    /// The validation score of probabilities `scores` `[rows, classes]` against `labels` (higher is
    /// better); NaN when the macro AUROC is undefined on every class.
    public func score(_ scores: Tensor, labels: [[Float]], labelSpace: LabelSpace) throws -> Double {
        let matrix = try DoubleMatrix(rows: labels.count, columns: labelSpace.names.count, values: scores.scalars.map(Double.init))
        switch (self, labelSpace) {
        case (.accuracy, .multiClass):
            return try Accuracy.overall(scores: matrix, labels: labels.map { Int($0[0]) })
        case (.accuracy, _):
            throw ProbeProtocolError("accuracy needs multi-class data; select multi-label probes by auroc-macro")
        case (.aurocMacro, .multiClass):
            return try AUROC.oneVsRest(scores: matrix, labels: labels.map { Int($0[0]) }).macro ?? .nan
        case (.aurocMacro, _):
            let truth = try DoubleMatrix(rows: labels.count, columns: labelSpace.names.count, values: labels.flatMap { $0.map(Double.init) })
            return try AUROC.multiLabel(scores: matrix, labels: truth).macro ?? .nan
        }
    }
}
