import Foundation
import Results

/// The demo's main numbers, one row per model: the test macro AUROC of kNN and of the linear probe on the
/// slice classification, and the test mean Dice of each decoder on the hippocampus segmentation (the
/// latest successful result of each model, protocol; `—` when there is none).
struct DemoSummary {
    /// The columns: a header, the protocol and the metric it reports.
    static let columns = [("kNN AUROC", "knn", "auroc_macro"), ("linear AUROC", "linear", "auroc_macro"),
                          ("Dice (linear)", "segment-linear", "dice_mean"), ("Dice (U-Net)", "segment-unet", "dice_mean")]

    let text: String

    init(records: [ResultRecord], models: [String]) {
        var latest: [String: ResultRecord] = [:]
        for record in records where record.succeeded { latest["\(record.model) \(record.protocolName)"] = record }
        let width = max(models.map(\.count).max() ?? 0, 5) + 2
        func padded(_ text: String, _ width: Int) -> String { text.padding(toLength: max(width, text.count), withPad: " ", startingAt: 0) }
        var lines = [padded("model", width) + Self.columns.map { padded($0.0, 15) }.joined()]
        for model in models {
            let cells = Self.columns.map { _, protocolName, metric -> String in
                let value = latest["\(model) \(protocolName)"]?.metrics.first { $0.name == metric && $0.className == nil }?.value
                return padded(value.map { String(format: "%.3f", $0) } ?? "—", 15)
            }
            lines.append(padded(model, width) + cells.joined())
        }
        text = lines.joined(separator: "\n")
    }
}
