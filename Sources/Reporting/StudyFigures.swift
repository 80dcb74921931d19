import Foundation
import Results

/// A figure of the report: an SVG document with its id (file name), title and caption.
public struct ReportFigure: Sendable, Equatable {
    public var id: String
    public var title: String
    public var caption: String
    public var svg: String
}

/// The study's figures drawn from the results: the cross-task ranking (Figure 1), few-shot curves (Figure 5),
/// frozen-backbone decoders against the U-Net from scratch (Figure 4) and the training curves; each only when
/// the database holds what it needs.
enum StudyFigures {
    static func all(_ study: StudyResults) -> [ReportFigure] {
        var figures: [ReportFigure] = []
        if let figure = ranking(study) { figures.append(figure) }
        figures += study.classificationDatasets.compactMap { fewShot(study, dataset: $0) }
        if let figure = decoders(study) { figures.append(figure) }
        figures += trainingCurves(study)
        return figures
    }

    /// Ranks (1 = best) of `scores`, ties sharing their mean rank.
    static func ranks(_ scores: [String: Double]) -> [String: Double] {
        let ordered = scores.sorted { $0.value > $1.value || ($0.value == $1.value && $0.key < $1.key) }
        var ranks: [String: Double] = [:]
        var start = 0
        while start < ordered.count {
            var end = start
            while end + 1 < ordered.count, ordered[end + 1].value == ordered[start].value { end += 1 }
            for index in start...end { ranks[ordered[index].key] = Double(start + end) / 2 + 1 }
            start = end + 1
        }
        return ranks
    }

    /// Each model's mean rank over `datasets`, scoring a model on a dataset by its best `metric` over `protocols`.
    static func meanRanks(_ study: StudyResults, datasets: [String], protocols: [String], metric: String) -> [String: Double] {
        var sums: [String: (total: Double, count: Int)] = [:]
        for dataset in datasets {
            var scores: [String: Double] = [:]
            for model in study.models {
                let values = protocols.compactMap { study.summary(model, dataset, $0, metric: metric)?.value }
                if let best = values.max() { scores[model] = best }
            }
            for (model, rank) in ranks(scores) { sums[model, default: (0, 0)].total += rank; sums[model, default: (0, 0)].count += 1 }
        }
        return sums.mapValues { $0.total / Double($0.count) }
    }

    /// Figure 1: mean rank over classification datasets (best protocol's macro AUROC) against mean rank over
    /// segmentation datasets (best frozen-backbone decoder's mean Dice), one point per model.
    static func ranking(_ study: StudyResults) -> ReportFigure? {
        let classification = meanRanks(study, datasets: study.classificationDatasets, protocols: StudyProtocol.classification, metric: "auroc_macro")
        let segmentation = meanRanks(study, datasets: study.segmentationDatasets, protocols: ["segment-linear", "segment-unet"], metric: "dice_mean")
        let models = study.models.filter { classification[$0] != nil && segmentation[$0] != nil }
        guard !models.isEmpty else { return nil }
        let top = Double(max(study.models.count, 2)) + 0.5
        let ticks = (1...max(study.models.count, 2)).map { SVGChart.Tick(value: Double($0), label: String($0)) }
        var chart = SVGChart(title: "Ranking across tasks", xLabel: "Mean rank over classification datasets (1 = best)",
                             yLabel: "Mean rank over segmentation datasets", xDomain: 0.5...top, yDomain: 0.5...top, xTicks: ticks, yTicks: ticks)
        for (index, model) in models.enumerated() {
            chart.point(x: classification[model]!, y: segmentation[model]!, color: SVGChart.color(index), label: model)
            chart.addLegend(model, color: SVGChart.color(index))
        }
        return ReportFigure(id: "ranking", title: "Ranking across tasks",
                            caption: "Each model's mean rank over the \(study.classificationDatasets.count) classification datasets, ranked by the macro AUROC of its best protocol among kNN, linear, logistic regression and fine-tuning on each dataset, against its mean rank over the \(study.segmentationDatasets.count) segmentation datasets, ranked by the mean Dice of its better frozen-backbone decoder (linear or U-Net). Ties share their mean rank.",
                            svg: chart.svg(id: "svg-ranking"))
    }

    /// Figure 5: few-shot macro AUROC against shots per class (log₂ axis) on one dataset: the mean over draws
    /// per model and the band from the lowest to the highest draw.
    static func fewShot(_ study: StudyResults, dataset: String) -> ReportFigure? {
        let series = study.models.map { ($0, study.fewShotDraws($0, dataset)) }.filter { !$0.1.isEmpty }
        guard !series.isEmpty else { return nil }
        let shots = Set(series.flatMap { $0.1.map(\.shots) }).sorted()
        let values = series.flatMap { $0.1.flatMap(\.values) }
        let (yDomain, yTicks) = SVGChart.niceTicks(values.min()!...values.max()!)
        let xs = shots.map { log2(Double($0)) }
        var chart = SVGChart(title: "Few-shot: \(dataset)", xLabel: "Shots per class (log₂ scale)", yLabel: "Macro AUROC",
                             xDomain: (xs.first! - 0.25)...(xs.last! + 0.25), yDomain: yDomain,
                             xTicks: shots.map { SVGChart.Tick(value: log2(Double($0)), label: String($0)) }, yTicks: yTicks)
        for (index, (model, draws)) in series.enumerated() {
            let spreads = draws.map { DrawSpread($0.values) }
            let x = draws.map { log2(Double($0.shots)) }
            chart.band(x: x, lower: spreads.map(\.minimum), upper: spreads.map(\.maximum), color: SVGChart.color(index))
            chart.line(Array(zip(x, spreads.map(\.mean))).map { (x: $0.0, y: $0.1) }, color: SVGChart.color(index))
            chart.addLegend(model, color: SVGChart.color(index))
        }
        let id = "few-shot-\(ReportFormat.slug(dataset))"
        return ReportFigure(id: id, title: "Few-shot: \(dataset)",
                            caption: "Macro AUROC of the few-shot linear probe on \(dataset) against the number of training images per class: the line is the mean over draws, the band spans the lowest to the highest draw.",
                            svg: chart.svg(id: "svg-\(id)"))
    }

    /// Figure 4: mean Dice of each (model, decoder) per segmentation dataset as grouped bars with their intervals.
    static func decoders(_ study: StudyResults) -> ReportFigure? {
        let datasets = study.segmentationDatasets
        let series: [(model: String, decoder: String)] = StudyProtocol.decoders.flatMap { decoder in
            study.models.filter { model in datasets.contains { study.result(model, $0, decoder) != nil } }.map { ($0, decoder) }
        }
        guard !series.isEmpty else { return nil }
        var chart = SVGChart(title: "Decoders: mean Dice", xLabel: "Dataset", yLabel: "Mean Dice", xDomain: 0...Double(datasets.count),
                             yDomain: 0...1, xTicks: datasets.indices.map { SVGChart.Tick(value: Double($0) + 0.5, label: datasets[$0]) },
                             yTicks: stride(from: 0.0, through: 1.0, by: 0.2).map { SVGChart.Tick(value: $0, label: ReportFormat.number($0, decimals: 1)) })
        let width = 0.8 / Double(series.count)
        for (index, entry) in series.enumerated() {
            let color = SVGChart.color(index)
            for (position, dataset) in datasets.enumerated() {
                guard let dice = study.summary(entry.model, dataset, entry.decoder, metric: "dice_mean") else { continue }
                let x0 = Double(position) + 0.1 + Double(index) * width
                chart.bar(x0: x0, x1: x0 + width, value: dice.value, lower: dice.lower, upper: dice.upper, color: color)
            }
            chart.addLegend("\(entry.model) · \(StudyProtocol.label(entry.decoder))", color: color)
        }
        return ReportFigure(id: "decoders", title: "Decoders: mean Dice",
                            caption: "Mean Dice over the test cases of the linear and U-Net decoders on frozen features and of the U-Net trained from scratch, per dataset; the whiskers are the confidence intervals where stored.",
                            svg: chart.svg(id: "svg-decoders"))
    }

    /// One figure per result with training curves: every curve (`train_loss`, `val_loss`, `val_auroc_macro`, …) against the epoch.
    static func trainingCurves(_ study: StudyResults) -> [ReportFigure] {
        var figures: [ReportFigure] = [], used: [String: Int] = [:]
        for record in study.succeeded where !record.curves.isEmpty {
            var title = "\(record.model) · \(record.dataset) · \(StudyProtocol.label(record.protocolName))"
            if let shots = record.configurationValue("shots"), let draw = record.configurationValue("draw") { title += " · \(shots) shots, draw \(draw)" }
            var id = "curves-" + ReportFormat.slug("\(record.model) \(record.dataset) \(record.protocolName)")
            used[id, default: 0] += 1
            if used[id]! > 1 { id += "-\(used[id]!)" }
            let names = StudyResults.firstSeen(record.curves.map(\.name))
            let epochs = record.curves.map { Double($0.epoch) }, values = record.curves.map(\.value)
            let (xDomain, xTicks) = SVGChart.niceTicks(epochs.min()!...epochs.max()!)
            let (yDomain, yTicks) = SVGChart.niceTicks(values.min()!...values.max()!)
            var chart = SVGChart(title: title, xLabel: "Epoch", yLabel: "Value", xDomain: xDomain, yDomain: yDomain, xTicks: xTicks, yTicks: yTicks)
            for (index, name) in names.enumerated() {
                let points = record.curves.filter { $0.name == name }.sorted { $0.epoch < $1.epoch }.map { (x: Double($0.epoch), y: $0.value) }
                chart.line(points, color: SVGChart.color(index), dashed: name.hasPrefix("train"))
                chart.addLegend(name, color: SVGChart.color(index))
            }
            figures.append(ReportFigure(id: id, title: "Training curves: \(title)",
                                        caption: "Training curves of \(title): \(names.joined(separator: ", ")) by epoch (training curves dashed).",
                                        svg: chart.svg(id: "svg-\(id)")))
        }
        return figures
    }
}
