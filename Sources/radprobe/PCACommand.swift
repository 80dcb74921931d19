import ArgumentParser
import Foundation
import MedicalImaging
import Models
import Reporting

/// `radprobe pca`: the study's Figure 2 — a joint PCA of several images' patch features drawn as RGB tiles.
struct PCACommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pca",
        abstract: "Draw a PCA of the patch features of images (the study's Figure 2) as a PNG.",
        discussion: """
        The images go through the study's preprocessing at --size and the model; the last block's normed patch \
        tokens of all images are analysed together. The first component separates background (the side of the \
        threshold that holds the grid borders) from foreground; the next three components, min-max scaled over the \
        foreground, are its red, green and blue. Background is black. A volume gives its middle axial slice.
        """
    )

    @Option(help: "Model checkpoint (.pth, .safetensors or .onnx).")
    var checkpoint: String

    @Option(parsing: .upToNextOption, help: "Image files (PNG, JPEG, DICOM, NIfTI, …), analysed together.")
    var images: [String]

    @Option(help: "Input size in pixels, a multiple of the patch size.")
    var size: Int = 448

    @Option(help: "Foreground threshold on the min-max scaled first component.")
    var threshold: Double = PCAFigure.defaultThreshold

    @Option(help: "The PNG file to write.")
    var out: String

    @OptionGroup var compute: ComputeOptions

    func validate() throws {
        if images.isEmpty { throw ValidationError("--images needs at least one image.") }
        if !(0...1).contains(threshold) { throw ValidationError("--threshold must lie in [0, 1] (got \(threshold)).") }
    }

    func run() async throws {
        let png = try PCARendering.png(checkpoint: checkpoint, images: images, size: size, threshold: threshold, options: compute)
        try CommandFailure.wrap { try png.write(to: URL(fileURLWithPath: out), options: .atomic) }
        print("Wrote \(out) (\(images.count) images)")
    }
}

/// The PCA figure of image files under a checkpoint, as PNG bytes (shared by `pca` and `report`).
enum PCARendering {
    static func png(checkpoint: String, images: [String], size: Int, threshold: Double, options: ComputeOptions) throws -> Data {
        try CommandFailure.wrap {
            let model = try LoadedBackbone(contentsOf: URL(fileURLWithPath: checkpoint)).model
            return try PatchFeatureReader(model: model, size: size)
                .pcaPNG(of: images.map { URL(fileURLWithPath: $0) }, threshold: threshold, context: options.context)
        }
    }
}
