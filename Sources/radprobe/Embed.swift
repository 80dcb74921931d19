import ArgumentParser
import Checkpoints
import Foundation
import MedicalImaging
import Models
import TensorCore

/// `radprobe embed`: runs a DINOv2 backbone on a tensor or an image and writes its features as `.npy`.
struct Embed: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Extract DINOv2 features from a float32 NCHW .npy tensor or an image file.",
        discussion: """
        Writes float32 .npy files to --out: cls.npy [B,D], patch.npy [B,N,D], registers.npy [B,R,D] \
        (when the model has registers), and with --layers N: layers_cls.npy [N,B,D] and \
        layers_patch.npy [N,B,N_p,D] for the last N blocks (final norm applied unless --no-norm).
        """
    )

    @Option(help: "Checkpoint: .pth (zip or legacy), .safetensors, or .onnx.")
    var checkpoint: String

    @Option(help: "Input tensor: float32 .npy of shape [B, 3, H, W], H and W multiples of the patch size.")
    var tensor: String?

    @Option(help: "Input image (PNG), preprocessed as the study does: min–max to [0,1], grey → 3 channels, square resize, ImageNet mean/std.")
    var image: String?

    @Option(help: "Square size the image is resized to (a multiple of the patch size).")
    var size: Int = 224

    @Option(help: "Output directory (created if missing).")
    var out: String

    @Option(help: "Also write the last N blocks' outputs.")
    var layers: Int?

    @Flag(help: "Do not apply the final norm to the --layers outputs.")
    var noNorm = false

    @Option(help: "Images per forward pass.")
    var batchSize: Int = 8

    @Option(help: "Position-embedding interpolation: official, size, antialiased-size (default: from the checkpoint).")
    var interpolation: String?

    @OptionGroup var compute: ComputeOptions

    func validate() throws {
        if (tensor == nil) == (image == nil) { throw ValidationError("Give exactly one of --tensor or --image.") }
        if let layers, layers < 1 { throw ValidationError("--layers must be at least 1 (got \(layers)).") }
        if batchSize < 1 { throw ValidationError("--batch-size must be at least 1 (got \(batchSize)).") }
        if size < 1 { throw ValidationError("--size must be positive (got \(size)).") }
        if let interpolation, VisionTransformerConfiguration.PositionInterpolation(name: interpolation) == nil {
            throw ValidationError("--interpolation must be official, size, antialiased-size or scale-factor-OFFSET (got \(interpolation)).")
        }
    }

    func run() async throws {
        let context = compute.context
        let backbone = try CommandFailure.wrap { try LoadedBackbone(contentsOf: URL(fileURLWithPath: checkpoint),
                                                                       interpolation: interpolation.flatMap(VisionTransformerConfiguration.PositionInterpolation.init(name:))) }
        let model = backbone.model
        let input = try CommandFailure.wrap { try loadInput(patchSize: model.configuration.patchSize) }
        if let layers, layers > model.configuration.depth {
            throw CommandFailure("--layers \(layers) exceeds the model's \(model.configuration.depth) blocks")
        }
        let batch = input.shape[0]
        var cls: [Tensor] = [], patches: [Tensor] = [], registers: [Tensor] = []
        var layerCLS: [[Tensor]] = [], layerPatches: [[Tensor]] = []
        let progress = ProgressReporter(total: batch, unit: "images")
        for start in stride(from: 0, to: batch, by: batchSize) {
            let chunk = input.slice(outer: start..<min(start + batchSize, batch))
            try CommandFailure.wrap {
                if let layers {
                    let outputs = try model.intermediateLayers(chunk, blockIndices: model.lastBlocks(layers), normed: !noNorm, context: context)
                    layerCLS.append(outputs.map(\.cls))
                    layerPatches.append(outputs.map(\.patches))
                }
                let features = try model.features(chunk, context: context)
                cls.append(features.cls)
                patches.append(features.patches)
                if let r = features.registers { registers.append(r) }
            }
            progress.advance(by: chunk.shape[0])
        }
        progress.finish()
        let directory = URL(fileURLWithPath: out)
        try CommandFailure.wrap {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            try NumPyArray.write(Tensor.concatenate(cls), to: directory.appendingPathComponent("cls.npy"))
            try NumPyArray.write(Tensor.concatenate(patches), to: directory.appendingPathComponent("patch.npy"))
            if !registers.isEmpty { try NumPyArray.write(Tensor.concatenate(registers), to: directory.appendingPathComponent("registers.npy")) }
            if let layers {
                let perLayerCLS = (0..<layers).map { l in Tensor.concatenate(layerCLS.map { $0[l] }) }
                let perLayerPatches = (0..<layers).map { l in Tensor.concatenate(layerPatches.map { $0[l] }) }
                try NumPyArray.write(Tensor.stack(perLayerCLS), to: directory.appendingPathComponent("layers_cls.npy"))
                try NumPyArray.write(Tensor.stack(perLayerPatches), to: directory.appendingPathComponent("layers_patch.npy"))
            }
        }
        let summary = FeatureSummary(cls: Tensor.concatenate(cls))
        print("""
        model     \(model.configuration.sizeName) (\(backbone.layout) names, \(backbone.format.rawValue)), \(model.parameterCount.formatted()) parameters
        input     \(describeShape(input.shape))
        cls       [\(batch), \(model.configuration.width)]  \(summary)
        patches   \(describeShape([batch] + Array(patches[0].shape.dropFirst())))
        written   \(directory.path)
        """)
    }

    func loadInput(patchSize: Int) throws -> Tensor {
        if let tensor {
            let array = try NumPyArray.read(contentsOf: URL(fileURLWithPath: tensor), requireFloat32: true)
            guard array.rank == 4, array.shape[1] == 3 else {
                throw CheckpointError(file: tensor, "has shape \(describeShape(array.shape)); expected [B, 3, H, W]")
            }
            guard array.shape[2] % patchSize == 0, array.shape[3] % patchSize == 0 else {
                throw CheckpointError(file: tensor, "has spatial size \(array.shape[2])×\(array.shape[3]), which is not a multiple of the patch size \(patchSize)")
            }
            return array
        }
        guard size % patchSize == 0 else { throw CommandFailure("--size \(size) is not a multiple of the patch size \(patchSize)") }
        return try Preprocessing(size: size)(contentsOf: URL(fileURLWithPath: image!))
    }
}
