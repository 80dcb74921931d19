import Foundation
import MedicalImaging
import Results

/// A small realistic study for the report tests: three models on two classification datasets (kNN, linear,
/// few-shot draws, LoRA, BitFit and full fine-tuning with per-class AUROCs and bootstrap intervals) and two
/// segmentation datasets (linear and U-Net decoders, a U-Net from scratch), training curves, one failed
/// result, one overlay image and one overlay whose file is missing. Values follow fixed formulas.
enum StudyFixture {
    static let models = ["dinov2-vits14", "dinov2-vitb14", "imagenet-vitb16"]
    static let classification = [("nih-chestxray14", ["Atelectasis", "Effusion", "Nodule"]), ("brain-tumour-mri", ["glioma", "meningioma", "pituitary"])]
    static let segmentation = ["msd-spleen", "msd-hippocampus"]
    static let overlayPath = "overlays/spleen-case1.png"

    static func configuration(_ model: String, _ dataset: String, _ protocolName: String, _ extra: [String: Any] = [:]) -> CanonicalConfiguration {
        var object: [String: Any] = ["model": model, "dataset": dataset, "protocol": protocolName, "size": 224, "seed": 0, "bootstrap": 1000]
        object.merge(extra) { $1 }
        let data = try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        return try! CanonicalConfiguration(json: String(decoding: data, as: UTF8.self))
    }

    /// A value in [0.55, 0.95] that depends on its inputs in a fixed way.
    static func score(_ parts: Int...) -> Double {
        let mixed = parts.enumerated().reduce(17) { ($0 * 31 + $1.element * (7 + $1.offset * 13)) % 9973 }
        return 0.55 + Double(mixed % 400) / 1000
    }

    static func classificationMetrics(_ base: Double, classes: [String]) -> [MetricValue] {
        var metrics = [MetricValue(name: "auroc_macro", value: base, lower: base - 0.021, upper: base + 0.019),
                       MetricValue(name: "accuracy", value: base - 0.1, lower: base - 0.12, upper: base - 0.08)]
        for (index, name) in classes.enumerated() {
            let value = min(0.99, base + Double(index - 1) * 0.03)
            metrics.append(MetricValue(name: "auroc", className: name, value: value, lower: value - 0.04, upper: min(1, value + 0.035)))
        }
        return metrics
    }

    static func records() -> [ResultRecord] {
        var records: [ResultRecord] = []
        let parameters = ["dinov2-vits14": 21_678_720.0, "dinov2-vitb14": 86_580_480.0, "imagenet-vitb16": 85_798_656.0]
        let budgets = ["finetune-full": 1.0, "finetune-lora": 0.0612, "finetune-bitfit": 0.0017]
        for (m, model) in models.enumerated() {
            for (d, (dataset, classes)) in classification.enumerated() {
                for (p, protocolName) in ["knn", "linear", "finetune-lora", "finetune-bitfit", "finetune-full"].enumerated() {
                    if model == "imagenet-vitb16", dataset == "brain-tumour-mri", protocolName == "finetune-full" {
                        records.append(ResultRecord(configuration: configuration(model, dataset, protocolName, ["epochs": 3]), model: model, dataset: dataset,
                                                    protocolName: protocolName, seed: 0, error: "training diverged: the loss became NaN at epoch 2"))
                        continue
                    }
                    let fineTuning = protocolName.hasPrefix("finetune")
                    var metrics = classificationMetrics(score(m, d, p), classes: classes)
                    if fineTuning {
                        let total = parameters[model]!
                        metrics += [MetricValue(name: "trainable_parameters", value: (total * budgets[protocolName]!).rounded()),
                                    MetricValue(name: "total_parameters", value: total)]
                    }
                    let curves = fineTuning && m == 0 && d == 0 && protocolName == "finetune-lora"
                        ? (0..<5).flatMap { epoch in [CurvePoint(name: "train_loss", epoch: epoch, value: 0.7 - 0.08 * Double(epoch)),
                                                      CurvePoint(name: "val_loss", epoch: epoch, value: 0.72 - 0.06 * Double(epoch)),
                                                      CurvePoint(name: "val_auroc_macro", epoch: epoch, value: 0.6 + 0.05 * Double(epoch))] }
                        : []
                    records.append(ResultRecord(configuration: configuration(model, dataset, protocolName, fineTuning ? ["epochs": 3] : [:]), model: model,
                                                dataset: dataset, protocolName: protocolName, seed: 0, metrics: metrics, curves: curves,
                                                timings: [PhaseTiming(phase: "train", seconds: 12.5)]))
                }
                for shots in [1, 4, 16] {
                    for draw in 0..<3 {
                        let value = min(0.95, 0.5 + 0.08 * log2(Double(shots)) / 2 + Double(draw) * 0.012 + Double(2 - m) * 0.02)
                        records.append(ResultRecord(configuration: configuration(model, dataset, "fewshot", ["shots": shots, "draw": draw]), model: model,
                                                    dataset: dataset, protocolName: "fewshot", seed: draw,
                                                    metrics: [MetricValue(name: "auroc_macro", value: value)]))
                    }
                }
            }
            for (d, dataset) in segmentation.enumerated() {
                for (p, decoder) in ["segment-linear", "segment-unet"].enumerated() {
                    let dice = score(m, d, p, 5)
                    var artifacts: [Artifact] = []
                    if m == 0, d == 0, decoder == "segment-unet" { artifacts.append(Artifact(kind: "overlay", path: overlayPath)) }
                    if m == 1, d == 0, decoder == "segment-unet" { artifacts.append(Artifact(kind: "overlay", path: "overlays/never-written.png")) }
                    let curves = artifacts.isEmpty || m != 0 ? [] : (0..<4).flatMap { epoch in
                        [CurvePoint(name: "train_loss", epoch: epoch, value: 1.2 - 0.2 * Double(epoch)), CurvePoint(name: "val_dice_mean", epoch: epoch, value: 0.3 + 0.15 * Double(epoch))]
                    }
                    records.append(ResultRecord(configuration: configuration(model, dataset, decoder, ["epochs": 20]), model: model, dataset: dataset,
                                                protocolName: decoder, seed: 0,
                                                metrics: segmentationMetrics(dice) + [MetricValue(name: "trainable_parameters", value: decoder == "segment-linear" ? 770 : 1_950_000)],
                                                curves: curves, artifacts: artifacts))
                }
            }
        }
        for (d, dataset) in segmentation.enumerated() {
            records.append(ResultRecord(configuration: configuration("unet-scratch", dataset, "segment-scratch", ["epochs": 20]), model: "unet-scratch",
                                        dataset: dataset, protocolName: "segment-scratch", seed: 0, metrics: segmentationMetrics(score(9, d, 2, 5))))
        }
        return records
    }

    static func segmentationMetrics(_ dice: Double) -> [MetricValue] {
        let jaccard = dice / (2 - dice)
        return [MetricValue(name: "dice_mean", value: dice, lower: dice - 0.03, upper: dice + 0.025),
                MetricValue(name: "jaccard_mean", value: jaccard),
                MetricValue(name: "score", value: (dice + jaccard) / 2),
                MetricValue(name: "hd95_mm_mean", value: 40 * (1 - dice), lower: 35 * (1 - dice), upper: 46 * (1 - dice)),
                MetricValue(name: "dice", className: "spleen", value: dice)]
    }

    /// A 12 × 12 RGB overlay picture.
    static func overlayPNG() throws -> Data {
        var pixels: [Float] = []
        for channel in 0..<3 {
            for index in 0..<144 { pixels.append(Float((index * (channel + 2) * 7) % 256)) }
        }
        return try PNGWriter.encode(Image2D(width: 12, height: 12, channels: 3, pixels: pixels, bitDepth: 8))
    }

    /// Writes the study into `folder`: `results.sqlite` (fixed run and record times) and the overlay image.
    @discardableResult
    static func write(into folder: URL) throws -> URL {
        let url = folder.appendingPathComponent("results.sqlite")
        let database = try ResultsDatabase(url: url)
        let date = Date(timeIntervalSince1970: 1_790_000_000)
        let run = try database.beginRun(command: "radprobe run study.yaml", radProbeVersion: "0.1.0", at: date)
        for record in records() { _ = try database.record(record, runID: run, at: date) }
        try database.finishRun(run, at: date)
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("overlays"), withIntermediateDirectories: true)
        try overlayPNG().write(to: folder.appendingPathComponent(overlayPath))
        return url
    }
}
