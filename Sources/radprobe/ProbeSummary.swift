import ClassificationProtocols
import Foundation

/// The lines `radprobe probe` prints: what was chosen on validation and the test metrics with their
/// intervals, per class, and which classes were undefined.
enum ProbeSummary {
    static func text(_ result: ProbeResult, dataset: String) -> String {
        let sizes = result.sizes
        let choice = result.selection.map { selection in
            let best = selection.candidates.first { $0.name == selection.chosen }?.score
            return "chose \(result.chosen) by validation \(selection.metric.rawValue) \(number(best)) of \(selection.candidates.count) candidates"
        } ?? "\(result.chosen) (no validation rows: the single candidate)"
        var lines = [
            "dataset   \(dataset)",
            "protocol  \(result.protocolName): \(choice)",
            "trained   on \(result.finalFit): \(sizes.trainItems) train + \(sizes.validationItems) validation rows; predicted \(sizes.testItems) test rows"
                + (sizes.testPatients.map { " of \($0) patients" } ?? ""),
        ]
        lines += result.test.map(metricLines) ?? ["test      no labels given: probabilities only"]
        return lines.joined(separator: "\n")
    }

    static func text(_ result: FewShotResult, dataset: String) -> String {
        var lines = ["dataset   \(dataset)", "protocol  few-shot linear probe, heads chosen by validation \(result.selectionMetric.rawValue)",
                     "patients/class  draws  test AUROC macro (mean ± sd)  accuracy (mean ± sd)"]
        for point in result.points {
            lines.append(String(format: "%14d  %5d  %28@  %@", point.patientsPerClass, point.draws.count,
                                spread(point.aurocMacroMean, point.aurocMacroStd), spread(point.accuracyMean, point.accuracyStd)))
        }
        return lines.joined(separator: "\n")
    }

    /// Test AUROC (macro with interval, micro, weighted, per class), undefined classes, accuracy.
    static func metricLines(_ test: ClassificationMetrics) -> [String] {
        let boot = test.bootstrap
        var lines = [
            "test      AUROC macro \(interval(test.aurocMacro)) (\(Int((boot.confidence * 100).rounded())) % bootstrap over \(boot.units), \(boot.resamples) resamples, seed \(boot.seed)); micro \(number(test.aurocMicro)), weighted \(number(test.aurocWeighted))",
        ]
        if let accuracy = test.accuracy {
            lines.append("          accuracy \(interval(accuracy)), balanced accuracy \(number(test.balancedAccuracy))")
        }
        let width = max(8, test.classNames.map(\.count).max() ?? 0)
        for (name, estimate) in zip(test.classNames, test.aurocPerClassInterval) {
            lines.append("  " + name.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + interval(estimate))
        }
        if !test.undefinedClasses.isEmpty {
            lines.append("undefined: \(test.undefinedClasses.joined(separator: ", ")) (a single label value in the test set; left out of the macro average)")
        }
        return lines
    }

    static func number(_ value: Double?) -> String { value.map { String(format: "%.4f", $0) } ?? "undefined" }

    static func interval(_ estimate: IntervalEstimate) -> String {
        guard let lower = estimate.lower, let upper = estimate.upper else { return number(estimate.value) }
        return "\(number(estimate.value)) [\(number(lower)), \(number(upper))]"
    }

    static func spread(_ mean: Double?, _ deviation: Double?) -> String {
        guard let mean else { return "-" }
        return deviation.map { String(format: "%.4f ± %.4f", mean, $0) } ?? String(format: "%.4f", mean)
    }
}
