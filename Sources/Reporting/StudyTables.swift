import Results

/// The tables of the study (its Tables 3–9), each built only when the database holds results for it:
/// linear probe per dataset, every classification protocol per dataset, per-class AUROC, few-shot,
/// segmentation per dataset, decoders against training from scratch, parameter-efficient fine-tuning with
/// trainable-parameter counts, and the failed results with their errors.
enum StudyTables {
    static func all(_ study: StudyResults) -> [ReportTable] {
        var tables: [ReportTable] = []
        if let table = linearProbe(study) { tables.append(table) }
        tables += study.classificationDatasets.compactMap { classification(study, dataset: $0) }
        tables += study.classificationDatasets.compactMap { perClass(study, dataset: $0) }
        if let table = fewShot(study) { tables.append(table) }
        tables += study.segmentationDatasets.compactMap { segmentation(study, dataset: $0) }
        if let table = decoders(study) { tables.append(table) }
        if let table = parameterEfficient(study) { tables.append(table) }
        if let table = failed(study.all) { tables.append(table) }
        return tables
    }

    static let macroAUROC = "macro AUROC over the dataset's classes on the test split (auroc_macro)"

    /// Table 3: the linear probe's macro AUROC, models × classification datasets.
    static func linearProbe(_ study: StudyResults) -> ReportTable? {
        let records = study.succeeded.filter { $0.protocolName == "linear" }
        guard !records.isEmpty else { return nil }
        let datasets = study.classificationDatasets.filter { dataset in records.contains { $0.dataset == dataset } }
        let rows = study.models.filter { model in records.contains { $0.model == model } }.map { model in
            ReportTable.Row(label: model, cells: datasets.map { cell(study.summary(model, $0, "linear", metric: "auroc_macro")) })
        }
        return ReportTable(id: "linear-probe", title: "Linear probe: macro AUROC per dataset",
                           note: MethodsNote.make(protocols: ["linear"], metric: macroAUROC, interval: MethodsNote.bootstrapInterval, records: records),
                           rowHeader: "Model", columns: datasets.map { ReportTable.Column(label: $0) }, rows: rows)
    }

    /// Tables 4–6: kNN, linear, logistic regression and fine-tuning on one classification dataset, models × protocols.
    static func classification(_ study: StudyResults, dataset: String) -> ReportTable? {
        let protocols = study.protocols(StudyProtocol.classification, on: [dataset])
        guard !protocols.isEmpty else { return nil }
        let records = study.succeeded.filter { $0.dataset == dataset && protocols.contains($0.protocolName) }
        let rows = study.models.filter { model in records.contains { $0.model == model } }.map { model in
            ReportTable.Row(label: model, cells: protocols.map { cell(study.summary(model, dataset, $0, metric: "auroc_macro")) })
        }
        return ReportTable(id: "classification-\(ReportFormat.slug(dataset))", title: "\(dataset): macro AUROC by protocol",
                           note: MethodsNote.make(protocols: protocols, metric: macroAUROC, interval: MethodsNote.bootstrapInterval, records: records),
                           rowHeader: "Model", columns: protocols.map { ReportTable.Column(label: StudyProtocol.label($0)) }, rows: rows)
    }

    /// Per-class AUROC on one dataset: classes × models, each model under its best protocol by macro AUROC.
    static func perClass(_ study: StudyResults, dataset: String) -> ReportTable? {
        let best: [(model: String, record: ResultRecord)] = study.models.compactMap { model in
            let candidates = StudyProtocol.classification.compactMap { study.result(model, dataset, $0) }
                .filter { $0.metrics.contains { $0.name == "auroc" && $0.className != nil } }
            return candidates.max { ($0.summary("auroc_macro")?.value ?? -1) < ($1.summary("auroc_macro")?.value ?? -1) }.map { (model, $0) }
        }
        guard !best.isEmpty else { return nil }
        let classes = StudyResults.firstSeen(best.flatMap { $0.record.metrics.filter { $0.name == "auroc" }.compactMap(\.className) })
        let rows = classes.map { className in
            ReportTable.Row(label: className, cells: best.map { entry in
                let metric = entry.record.metrics.first { $0.name == "auroc" && $0.className == className }
                return cell(metric?.value.map { Estimate(value: $0, lower: metric?.lower, upper: metric?.upper) })
            })
        }
        let columns = best.map { ReportTable.Column(group: $0.model, label: StudyProtocol.label($0.record.protocolName)) }
        return ReportTable(id: "per-class-\(ReportFormat.slug(dataset))", title: "\(dataset): AUROC per class (each model's best protocol by macro AUROC)",
                           note: MethodsNote.make(protocols: StudyResults.firstSeen(best.map(\.record.protocolName)),
                                                  metric: "AUROC of each class, one against the rest (auroc); an undefined AUROC (class absent from the test split) is shown as —",
                                                  interval: MethodsNote.bootstrapInterval, records: best.map(\.record)),
                           rowHeader: "Class", columns: columns, rows: rows)
    }

    /// Few-shot: mean macro AUROC over draws per shots, models × (dataset, shots), the range over draws as the interval.
    static func fewShot(_ study: StudyResults) -> ReportTable? {
        let records = study.succeeded.filter { $0.protocolName == StudyProtocol.fewShot }
        guard !records.isEmpty else { return nil }
        var columns: [ReportTable.Column] = [], keys: [(dataset: String, shots: Int)] = []
        for dataset in study.classificationDatasets {
            let shots = Set(records.filter { $0.dataset == dataset }.compactMap { $0.configurationValue("shots") as? Int }).sorted()
            for count in shots {
                columns.append(ReportTable.Column(group: dataset, label: "\(count)-shot"))
                keys.append((dataset, count))
            }
        }
        let rows = study.models.filter { model in records.contains { $0.model == model } }.map { model in
            ReportTable.Row(label: model, cells: keys.map { key in
                let values = study.fewShotDraws(model, key.dataset).first { $0.shots == key.shots }?.values ?? []
                return values.isEmpty ? .empty : .estimate(DrawSpread(values).estimate)
            })
        }
        return ReportTable(id: "few-shot", title: "Few-shot linear probe: macro AUROC by shots per class",
                           note: MethodsNote.make(protocols: [StudyProtocol.fewShot], metric: "mean over draws of the " + macroAUROC,
                                                  interval: "Intervals: the lowest and highest value over the draws.", records: records),
                           rowHeader: "Model", columns: columns, rows: rows)
    }

    /// Tables 7–8: one segmentation dataset, (model, decoder) × Dice, Jaccard, score and HD95.
    static func segmentation(_ study: StudyResults, dataset: String) -> ReportTable? {
        let decoders = study.protocols(StudyProtocol.decoders, on: [dataset])
        let records = study.succeeded.filter { $0.dataset == dataset && decoders.contains($0.protocolName) }
        guard !records.isEmpty else { return nil }
        let metrics: [(name: String, column: ReportTable.Column)] = [
            ("dice_mean", .init(label: "Dice")), ("jaccard_mean", .init(label: "Jaccard")), ("score", .init(label: "Score")),
            ("hd95_mm_mean", .init(label: "HD95 (mm)", decimals: 2, better: .lower)),
        ]
        let rows = decoders.flatMap { decoder in
            study.models.compactMap { model in
                study.result(model, dataset, decoder).map { record in
                    ReportTable.Row(label: "\(model) · \(StudyProtocol.label(decoder))", cells: metrics.map { cell(record.summary($0.name)) })
                }
            }
        }
        return ReportTable(id: "segmentation-\(ReportFormat.slug(dataset))", title: "\(dataset): segmentation of the test cases",
                           note: MethodsNote.make(protocols: decoders,
                                                  metric: "means over test cases of the foreground classes' mean Dice (dice_mean), Jaccard (jaccard_mean), their average (score) and the 95th-percentile Hausdorff distance in mm (hd95_mm_mean, lower is better)",
                                                  interval: MethodsNote.bootstrapInterval, records: records),
                           rowHeader: "Model · decoder", columns: metrics.map(\.column), rows: rows)
    }

    /// Table 9 (decoders): mean Dice of every (model, decoder), frozen-backbone decoders and U-Nets trained from scratch, × segmentation datasets.
    static func decoders(_ study: StudyResults) -> ReportTable? {
        let datasets = study.segmentationDatasets
        let decoders = study.protocols(StudyProtocol.decoders, on: datasets)
        guard !decoders.isEmpty else { return nil }
        let records = study.succeeded.filter { decoders.contains($0.protocolName) }
        let rows = decoders.flatMap { decoder in
            study.models.filter { model in records.contains { $0.model == model && $0.protocolName == decoder } }.map { model in
                ReportTable.Row(label: "\(model) · \(StudyProtocol.label(decoder))",
                                cells: datasets.map { cell(study.summary(model, $0, decoder, metric: "dice_mean")) })
            }
        }
        return ReportTable(id: "decoders", title: "Decoders on frozen features against a U-Net trained from scratch: mean Dice",
                           note: MethodsNote.make(protocols: decoders, metric: "mean Dice over the test cases (dice_mean)",
                                                  interval: MethodsNote.bootstrapInterval, records: records),
                           rowHeader: "Model · decoder", columns: datasets.map { ReportTable.Column(label: $0) }, rows: rows)
    }

    /// Parameter-efficient fine-tuning: (model, method) × trainable parameters (count and share) and macro AUROC per dataset.
    static func parameterEfficient(_ study: StudyResults) -> ReportTable? {
        let methods = study.protocols(StudyProtocol.fineTuning, on: study.classificationDatasets)
        guard !methods.isEmpty else { return nil }
        let records = study.succeeded.filter { methods.contains($0.protocolName) }
        let datasets = study.classificationDatasets.filter { dataset in records.contains { $0.dataset == dataset } }
        var columns = [ReportTable.Column(label: "Trainable parameters", better: nil), ReportTable.Column(label: "Share of all", better: nil)]
        columns += datasets.map { ReportTable.Column(group: "macro AUROC", label: $0) }
        let rows = methods.flatMap { method in
            study.models.compactMap { model -> ReportTable.Row? in
                let own = records.filter { $0.model == model && $0.protocolName == method }
                guard let counted = own.first(where: { $0.summary("trainable_parameters") != nil }) ?? own.first else { return nil }
                let trainable = counted.summary("trainable_parameters")?.value, total = counted.summary("total_parameters")?.value
                let count: ReportTable.Cell = trainable.map { .text(ReportFormat.count(Int($0))) } ?? .empty
                let share: ReportTable.Cell = trainable.flatMap { t in total.map { .text(ReportFormat.number(100 * t / $0, decimals: 2) + "%") } } ?? .empty
                return ReportTable.Row(label: "\(model) · \(StudyProtocol.label(method))",
                                       cells: [count, share] + datasets.map { cell(study.summary(model, $0, method, metric: "auroc_macro")) })
            }
        }
        return ReportTable(id: "fine-tuning", title: "Fine-tuning: trainable parameters and macro AUROC",
                           note: MethodsNote.make(protocols: methods, metric: macroAUROC + "; trainable and total parameter counts as recorded (trainable_parameters, total_parameters)",
                                                  interval: MethodsNote.bootstrapInterval, records: records),
                           rowHeader: "Model · method", columns: columns, rows: rows)
    }

    /// The failed results with their errors, in the order they were recorded.
    static func failed(_ records: [ResultRecord]) -> ReportTable? {
        let failures = records.filter { !$0.succeeded }
        guard !failures.isEmpty else { return nil }
        let columns = ["Dataset", "Protocol", "Error"].map { ReportTable.Column(label: $0, better: nil) }
        let rows = failures.map { record in
            ReportTable.Row(label: record.model, cells: [.text(record.dataset), .text(StudyProtocol.label(record.protocolName)), .text(record.error ?? "")])
        }
        return ReportTable(id: "failed", title: "Failed results", note: "Results whose evaluation failed, with the error recorded; they are left out of every other table.",
                           rowHeader: "Model", columns: columns, rows: rows)
    }

    static func cell(_ estimate: Estimate?) -> ReportTable.Cell { estimate.map { .estimate($0) } ?? .empty }
}

/// Mean, range and standard deviation of the values of a few-shot setting over its draws.
struct DrawSpread {
    let mean: Double, minimum: Double, maximum: Double

    init(_ values: [Double]) {
        mean = values.reduce(0, +) / Double(values.count)
        minimum = values.min()!
        maximum = values.max()!
    }

    /// The mean with the min–max range as its interval.
    var estimate: Estimate { Estimate(value: mean, lower: minimum, upper: maximum) }
}
