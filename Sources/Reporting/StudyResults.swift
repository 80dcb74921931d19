import Foundation
import Results

/// The protocols of the study by their names in the results database (docs/results.md), with the labels the
/// report prints.
enum StudyProtocol {
    static let classification = ["knn", "linear", "logreg", "finetune-full", "finetune-lora", "finetune-bitfit"]
    static let fineTuning = ["finetune-full", "finetune-lora", "finetune-bitfit"]
    static let fewShot = "fewshot"
    static let decoders = ["segment-linear", "segment-unet", "segment-scratch"]

    static func label(_ name: String) -> String {
        switch name {
        case "knn": "kNN"
        case "linear": "Linear"
        case "logreg": "Logistic regression"
        case "fewshot": "Few-shot"
        case "finetune-full": "Full fine-tuning"
        case "finetune-lora": "LoRA"
        case "finetune-bitfit": "BitFit"
        case "segment-linear": "Linear decoder"
        case "segment-unet": "U-Net decoder"
        case "segment-scratch": "U-Net from scratch"
        default: name
        }
    }
}

/// The results of a database arranged for the report: the models, classification and segmentation datasets
/// in the order they were first recorded, and look-ups of a summary metric. When a (model, dataset, protocol)
/// was recorded more than once (outside few-shot draws), the latest successful result is the one reported.
struct StudyResults {
    let all: [ResultRecord]
    let succeeded: [ResultRecord]
    let models: [String]
    let classificationDatasets: [String]
    let segmentationDatasets: [String]
    private let latest: [Key: ResultRecord]

    struct Key: Hashable {
        let model: String, dataset: String, protocolName: String
    }

    init(_ records: [ResultRecord]) {
        all = records
        succeeded = records.filter(\.succeeded)
        models = Self.firstSeen(succeeded.map(\.model))
        classificationDatasets = Self.firstSeen(succeeded.filter {
            StudyProtocol.classification.contains($0.protocolName) || $0.protocolName == StudyProtocol.fewShot
        }.map(\.dataset))
        segmentationDatasets = Self.firstSeen(succeeded.filter { StudyProtocol.decoders.contains($0.protocolName) }.map(\.dataset))
        var latest: [Key: ResultRecord] = [:]
        for record in succeeded where record.protocolName != StudyProtocol.fewShot {
            latest[Key(model: record.model, dataset: record.dataset, protocolName: record.protocolName)] = record
        }
        self.latest = latest
    }

    static func firstSeen(_ names: [String]) -> [String] {
        var seen: Set<String> = []
        return names.filter { seen.insert($0).inserted }
    }

    /// The reported result of `model` on `dataset` under `protocolName`.
    func result(_ model: String, _ dataset: String, _ protocolName: String) -> ResultRecord? {
        latest[Key(model: model, dataset: dataset, protocolName: protocolName)]
    }

    /// Summary metric `metric` (class nil) of that result, with its interval.
    func summary(_ model: String, _ dataset: String, _ protocolName: String, metric: String) -> Estimate? {
        result(model, dataset, protocolName).flatMap { $0.summary(metric) }
    }

    /// The protocols among `candidates` that have at least one result on `datasets`.
    func protocols(_ candidates: [String], on datasets: [String]) -> [String] {
        candidates.filter { name in succeeded.contains { $0.protocolName == name && datasets.contains($0.dataset) } }
    }

    /// Few-shot draws of `model` on `dataset`: the macro AUROCs of every draw, by shots (ascending).
    func fewShotDraws(_ model: String, _ dataset: String) -> [(shots: Int, values: [Double])] {
        var byShots: [Int: [Double]] = [:]
        for record in succeeded where record.protocolName == StudyProtocol.fewShot && record.model == model && record.dataset == dataset {
            guard let shots = record.configurationValue("shots") as? Int, let value = record.summary("auroc_macro")?.value else { continue }
            byShots[shots, default: []].append(value)
        }
        return byShots.keys.sorted().map { ($0, byShots[$0]!) }
    }
}

extension ResultRecord {
    /// The summary (class-less) metric `name`, when it has a value.
    func summary(_ name: String) -> Estimate? {
        metrics.first { $0.name == name && $0.className == nil }.flatMap { metric in
            metric.value.map { Estimate(value: $0, lower: metric.lower, upper: metric.upper) }
        }
    }

    /// The configuration's top-level object.
    var configurationObject: [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(configuration.json.utf8))) as? [String: Any] ?? [:]
    }

    /// A top-level configuration value (JSON numbers that are whole come back as `Int`).
    func configurationValue(_ key: String) -> Any? {
        guard let value = configurationObject[key] else { return nil }
        if let number = value as? NSNumber, !(value is Bool), number.doubleValue == number.doubleValue.rounded() {
            return number.intValue
        }
        return value
    }
}
