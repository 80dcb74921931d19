import Foundation

/// The demo's study: data sizes, protocols and their grids, at full size or shrunk for a smoke run.
struct DemoPlan: Sendable {
    /// Input size of every cell (a multiple of 14 and of 7, the fixture models' patch).
    let size: Int
    /// Input size of the PCA figures.
    let pcaSize: Int
    let classificationBlocks: SliceBlocks
    /// Blocks without hippocampus on each side of it, per slice axis.
    let negativeBlocks: Int
    let segmentationBlocks: SliceBlocks
    let bootstrap: Int
    let neighbours: [Int]
    let linearLearningRates: [Double]
    let linearEpochs: Int
    /// Few-shot shots per class and draws; nil for none.
    let fewShot: (shots: [Int], draws: Int)?
    let decoders: [String]
    let segmentationLearningRates: [Double]
    let segmentationEpochs: Int

    /// The demo: blocks of 5 slices with 4 kept (2 mm between parts), four blocks without hippocampus on
    /// each side; kNN, the linear head grid and few-shot; the linear and U-Net decoders.
    static let full = DemoPlan(size: 224, pcaSize: 448, classificationBlocks: SliceBlocks(length: 5, kept: 4), negativeBlocks: 4,
                               segmentationBlocks: SliceBlocks(length: 5, kept: 4), bootstrap: 1000, neighbours: [5, 10, 20],
                               linearLearningRates: [0.001, 0.01, 0.1], linearEpochs: 10, fewShot: (shots: [1, 2, 4], draws: 3),
                               decoders: ["linear", "unet"], segmentationLearningRates: [0.03], segmentationEpochs: 50)

    /// The smoke run: one slice per block, small inputs, one epoch, no few-shot and the linear decoder only.
    static let smoke = DemoPlan(size: 56, pcaSize: 112, classificationBlocks: SliceBlocks(length: 5, kept: 1), negativeBlocks: 4,
                                segmentationBlocks: SliceBlocks(length: 5, kept: 1), bootstrap: 20, neighbours: [3],
                                linearLearningRates: [0.01], linearEpochs: 1, fewShot: nil,
                                decoders: ["linear"], segmentationLearningRates: [0.01], segmentationEpochs: 1)

    /// A model of the experiment: its name and checkpoint (absolute, or relative to the experiment's folder).
    struct Model {
        let name: String
        let checkpoint: String
    }

    /// The experiment file, for a file in the output folder: the slice classification (`manifest`, official
    /// parts from the manifest) and the hippocampus segmentation (`msd-hippocampus`, systematic split of
    /// the blocks: a quarter test, a quarter validation).
    func experimentYAML(models: [Model], classificationRoot: String, segmentationRoot: String) -> String {
        let list = { (values: [Double]) in "[" + values.map { "\($0)" }.joined(separator: ", ") + "]" }
        var protocols = ["  knn: {k: [\(neighbours.map(String.init).joined(separator: ", "))]}",
                         "  linear: {learning_rates: \(list(linearLearningRates)), epochs: \(linearEpochs), batch_size: 32}"]
        var classification = ["knn", "linear"]
        if let fewShot {
            protocols.append("  fewshot: {shots: [\(fewShot.shots.map(String.init).joined(separator: ", "))], draws: \(fewShot.draws), "
                + "learning_rates: \(list(linearLearningRates)), epochs: \(linearEpochs), batch_size: 32}")
            classification.append("fewshot")
        }
        protocols.append("  segment: {decoders: [\(decoders.joined(separator: ", "))], learning_rates: \(list(segmentationLearningRates)), "
            + "epochs: \(segmentationEpochs), batch_size: 8, loss: dice-ce}")
        return """
        # The study of `radprobe demo` (docs/demo.md), run by it through `radprobe run`; paths relative to this file.
        output: .
        bootstrap: \(bootstrap)
        seeds: [0]
        sizes: [\(size)]
        models:
        \(models.map { "  - {name: \($0.name), checkpoint: \(Self.quoted($0.checkpoint))}" }.joined(separator: "\n"))
        datasets:
          - name: manifest
            label: colin27-slices
            root: \(Self.quoted(classificationRoot))
            modality: mri
            split: {method: official}
            protocols: [\(classification.joined(separator: ", "))]
          - name: msd-hippocampus
            label: colin27-hippocampus
            root: \(Self.quoted(segmentationRoot))
            split: {method: systematic, validation: 0.25, test: 0.25}
            protocols: [segment]
        protocols:
        \(protocols.joined(separator: "\n"))

        """
    }

    /// `text` as a YAML double-quoted scalar (JSON string escaping, which YAML accepts).
    static func quoted(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case _ where scalar.value < 0x20: result += String(format: "\\u%04x", scalar.value)
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result + "\""
    }
}
