import ArgumentParser
import Backbones
import Checkpoints
import Foundation
import MedicalImaging
import Models
import TensorCore

/// `radprobe embed`: runs a backbone (any family of `radprobe models list`) on a tensor or an image and
/// writes its features as `.npy`.
struct Embed: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Extract a backbone's features from a float32 NCHW .npy tensor or a medical image file.",
        discussion: """
        Writes float32 .npy files to --out: cls.npy [B,D], patch.npy [B,N,D], registers.npy [B,R,D] \
        (when the model has registers), and with --layers N: layers_cls.npy [N,B,D] and \
        layers_patch.npy [N,B,N_p,D] for the last N blocks (final norm applied unless --no-norm); \
        and embedding.json, which records the checkpoint, the family, the input, the preprocessing and the version. \
        For SAM, cls is the mean of the neck output over the grid and patch its tokens; for ResNet, DenseNet \
        and VGG, cls is the pooled feature vector and patch the last stage's map as tokens (--layers 1 at most). \
        A volume (NIfTI, multi-frame DICOM, a DICOM series folder) is embedded slice by slice along --axis: \
        B is its number of slices.
        """
    )

    @OptionGroup var backboneOptions: BackboneOptions

    @Option(help: "Input tensor: float32 .npy of shape [B, 3, H, W] (a size the backbone takes: for a ViT, multiples of the patch size).")
    var tensor: String?

    @Option(help: "Input image: PNG, JPEG, NIfTI, DICOM, MAT v7.3, or a DICOM series folder; preprocessed as the backbone's family does: clipping by modality, min–max to [0,1], grey → 3 channels, resize, the family's mean/std.")
    var image: String?

    @OptionGroup var intensity: IntensityOptions

    @Option(help: "Slice plane of a volume: axial, coronal or sagittal.")
    var axis: VolumeSlicer.Axis = .axial

    @Option(help: "Frame of a 4D volume (e.g. a time point of an fMRI series).")
    var frame: Int = 0

    @Option(help: "Square size the image is resized to (default: the model's input size; for a ViT a multiple of the patch size).")
    var size: Int?

    @Option(help: "Output directory (created if missing).")
    var out: String

    @Option(help: "Also write the last N blocks' outputs.")
    var layers: Int?

    @Flag(help: "Do not apply the final norm to the --layers outputs.")
    var noNorm = false

    @Option(help: "Images per forward pass.")
    var batchSize: Int = 8

    @Option(help: "Position-embedding interpolation: official, size, antialiased-size or scale-factor-OFFSET (default: from the checkpoint).")
    var interpolation: String?

    @OptionGroup var compute: ComputeOptions

    func validate() throws {
        if (tensor == nil) == (image == nil) { throw ValidationError("Give exactly one of --tensor or --image.") }
        if let layers, layers < 1 { throw ValidationError("--layers must be at least 1 (got \(layers)).") }
        if batchSize < 1 { throw ValidationError("--batch-size must be at least 1 (got \(batchSize)).") }
        if let size, size < 1 { throw ValidationError("--size must be positive (got \(size)).") }
        if frame < 0 { throw ValidationError("--frame must be at least 0 (got \(frame)).") }
        if let interpolation, VisionTransformerConfiguration.PositionInterpolation(name: interpolation) == nil {
            throw ValidationError("--interpolation must be official, size, antialiased-size or scale-factor-OFFSET (got \(interpolation)).")
        }
    }

    func run() async throws {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: out, isDirectory: &isDirectory), !isDirectory.boolValue {
            throw CommandFailure("\(out): --out must be a directory, but a file with that name exists")
        }
        let context = compute.context
        let (backbone, checkpointURL) = try backboneOptions.load(interpolation: interpolation.flatMap(VisionTransformerConfiguration.PositionInterpolation.init(name:)))
        let (input, inputRecord) = try CommandFailure.wrap { try loadInput(for: backbone) }
        if let layers, layers > backbone.layerCount {
            throw CommandFailure("--layers \(layers) exceeds the \(backbone.layerCount) layer\(backbone.layerCount == 1 ? "" : "s") of features \(backbone.architectureName) gives")
        }
        let batch = input.shape[0]
        var cls: [Tensor] = [], patches: [Tensor] = [], registers: [Tensor] = []
        var layerCLS: [[Tensor]] = [], layerPatches: [[Tensor]] = []
        let progress = ProgressReporter(total: batch, unit: "images")
        for start in stride(from: 0, to: batch, by: batchSize) {
            let chunk = input.slice(outer: start..<min(start + batchSize, batch))
            try CommandFailure.wrap {
                let features = try backbone.forward(chunk, lastLayers: layers ?? 0, normedLayers: !noNorm, context: context)
                if layers != nil {
                    layerCLS.append(features.layers.map(\.cls))
                    layerPatches.append(features.layers.map(\.patches))
                }
                cls.append(features.cls)
                patches.append(features.patches)
                if let r = features.registers { registers.append(r) }
            }
            progress.advance(by: chunk.shape[0])
        }
        progress.finish()
        let directory = URL(fileURLWithPath: out)
        let allCLS = Tensor.concatenate(cls)
        var arrays = [("cls.npy", allCLS), ("patch.npy", Tensor.concatenate(patches))]
        if !registers.isEmpty { arrays.append(("registers.npy", Tensor.concatenate(registers))) }
        if let layers {
            let perLayerCLS = (0..<layers).map { l in Tensor.concatenate(layerCLS.map { $0[l] }) }
            let perLayerPatches = (0..<layers).map { l in Tensor.concatenate(layerPatches.map { $0[l] }) }
            arrays += [("layers_cls.npy", Tensor.stack(perLayerCLS)), ("layers_patch.npy", Tensor.stack(perLayerPatches))]
        }
        var record = inputRecord
        record["radprobe_version"] = RadProbeVersion.current
        record["checkpoint"] = checkpointURL.path
        record["model"] = backbone.architectureName
        record["family"] = backbone.family.rawValue
        record["preset"] = backbone.preset?.name ?? NSNull()
        record["position_interpolation"] = backbone.visionTransformer?.configuration.interpolation.name ?? NSNull()
        record["outputs"] = arrays.map { ["file": $0.0, "shape": $0.1.shape] }
        record["layers"] = layers.map { ["last": $0, "normed": !noNorm] as [String: Any] } ?? NSNull()
        let recordData = try JSONSerialization.data(withJSONObject: record, options: [.prettyPrinted, .sortedKeys])
        try Self.writeAll(arrays.map { ($0.0, NumPyArray.encode($0.1)) } + [("embedding.json", recordData)], to: directory)
        let summary = FeatureSummary(cls: allCLS)
        print("""
        model     \(backbone.summary), \(backbone.parameterCount.formatted()) parameters
        input     \(describeShape(input.shape))\(Self.describePreprocessing(inputRecord))
        cls       [\(batch), \(backbone.featureWidth)]  \(summary)
        patches   \(describeShape([batch] + Array(patches[0].shape.dropFirst())))
        written   \(directory.path)
        """)
    }

    /// Writes every output into a staging folder inside `directory`, then renames them into place, so a
    /// failed write (disk full, unwritable folder, a directory in the way) leaves the earlier outputs
    /// untouched. The renames themselves go one by one: only a rename failing midway (which the checks
    /// before it make unlikely) would leave outputs of two runs side by side.
    static func writeAll(_ outputs: [(name: String, data: Data)], to directory: URL) throws {
        let manager = FileManager.default
        do { try manager.createDirectory(at: directory, withIntermediateDirectories: true) } catch {
            throw CommandFailure("\(directory.path): cannot create the output directory (\(error.localizedDescription))")
        }
        let staging = directory.appendingPathComponent(".radprobe-\(UUID().uuidString).partial")
        do { try manager.createDirectory(at: staging, withIntermediateDirectories: false) } catch {
            throw CommandFailure("\(directory.path): cannot write to the output directory (\(error.localizedDescription))")
        }
        defer { try? manager.removeItem(at: staging) }
        try CommandFailure.wrap {
            for output in outputs { try AtomicFile.write(output.data, to: staging.appendingPathComponent(output.name)) }
        }
        for output in outputs {
            var isDirectory: ObjCBool = false
            let target = directory.appendingPathComponent(output.name).path
            if manager.fileExists(atPath: target, isDirectory: &isDirectory), isDirectory.boolValue {
                throw CommandFailure("\(target): is a directory; cannot write the output there (nothing was written)")
            }
        }
        for output in outputs {
            let target = directory.appendingPathComponent(output.name).path
            guard rename(staging.appendingPathComponent(output.name).path, target) == 0 else {
                throw CommandFailure("\(target): cannot be replaced (rename failed, errno \(errno))")
            }
        }
        // Outputs of an earlier run that this run does not produce would mix two runs' results.
        for stale in outputNames where !outputs.contains(where: { $0.name == stale }) {
            try? manager.removeItem(at: directory.appendingPathComponent(stale))
        }
    }

    /// Every file `embed` may write.
    static let outputNames = ["cls.npy", "patch.npy", "registers.npy", "layers_cls.npy", "layers_patch.npy", "embedding.json"]

    /// `  from DICOM (xray): minmax > …` for an image input; nothing for a tensor.
    static func describePreprocessing(_ record: [String: Any]) -> String {
        guard let pipeline = record["preprocessing"] as? String, let format = record["input_format"] as? String else { return "" }
        let slices = (record["slices"] as? Int).map { ", \($0) \(record["axis"] as? String ?? "") slices" } ?? ""
        return "  from \(format) (\(record["modality"] as? String ?? "other")\(slices)): \(pipeline)"
    }

    /// The input tensor `[B, 3, H, W]` and what to record about it in embedding.json.
    func loadInput(for backbone: Backbone) throws -> (Tensor, [String: Any]) {
        if let tensor {
            let array = try NumPyArray.read(contentsOf: URL(fileURLWithPath: tensor), requireFloat32: true)
            guard array.rank == 4, array.shape[1] == 3 else {
                throw CheckpointError(file: tensor, "has shape \(describeShape(array.shape)); expected [B, 3, H, W]")
            }
            do {
                try backbone.checkInputSize(array.shape[2])
                try backbone.checkInputSize(array.shape[3])
            } catch {
                throw CheckpointError(file: tensor, "has spatial size \(array.shape[2])×\(array.shape[3]): \(error)")
            }
            return (array, ["input": tensor, "input_format": "npy", "preprocessing": NSNull()])
        }
        let size = size ?? backbone.defaultInputSize
        do { try backbone.checkInputSize(size) } catch { throw CommandFailure("--size \(size): \(error)") }
        let file = try MedicalImageFile.read(contentsOf: URL(fileURLWithPath: image!))
        let modality = intensity.modality(of: file)
        var pipeline = backboneOptions.preprocessing.pipeline(for: backbone, size: size, modality: modality)
        if let explicit = try intensity.explicitStep() {
            pipeline.steps = [explicit] + pipeline.steps.filter { !$0.clipsIntensities }
        }
        var record: [String: Any] = ["input": image!, "input_format": file.format.rawValue, "modality": modality.rawValue,
                                     "preprocessing": pipeline.description]
        if case .volume(let volume) = file.content {
            guard (0..<volume.frames).contains(frame) else {
                throw CommandFailure("--frame \(frame) is outside the volume's \(volume.frames) frame\(volume.frames == 1 ? "" : "s") (0…\(volume.frames - 1))")
            }
            record["axis"] = axis.rawValue
            record["frame"] = frame
            record["frames"] = volume.frames
        }
        let images = try pipeline.images(of: file.content, axis: axis, frame: frame)
        if record["axis"] != nil { record["slices"] = images.count }
        return (Tensor.stack(images.map(\.tensor)), record)
    }
}
