import ArgumentParser
import Backbones
import Foundation
import MedicalImaging
import Models
import ModelDownloads

/// `--checkpoint FILE` and `--model PRESET`: which backbone a command runs. With a preset the checkpoint
/// must fit it (family, architecture); without `--checkpoint` the preset's file in the download cache is
/// used (`radprobe models download`); without a preset the family is inferred from the keys.
struct BackboneOptions: ParsableArguments {
    @Option(help: "Checkpoint: .pth (zip or legacy), .safetensors or .onnx, of any family radprobe models list shows (default with --model: the file radprobe models download fetched).")
    var checkpoint: String?

    @Option(help: "Preset the checkpoint must fit (radprobe models list): sets the family, its preprocessing and the default size. Without it the family is inferred from the checkpoint's keys.")
    var model: String?

    /// Which evaluation transform images get.
    enum Preprocessing: String, CaseIterable, ExpressibleByArgument {
        /// The transform of the backbone's family (`BackboneFamily.preprocessing`).
        case family
        /// The study's transform for every backbone (`PreprocessingPipeline.study`).
        case study

        /// The evaluation transform for `backbone` at `size`.
        func pipeline(for backbone: Backbone, size: Int, modality: PreprocessingPipeline.Modality) -> PreprocessingPipeline {
            switch self {
            case .family: backbone.preprocessing(size: size, modality: modality)
            case .study: .study(size: size, modality: modality)
            }
        }
    }

    @Option(help: "Image preprocessing: family (the transform the backbone's authors used) or study (the study's for every backbone: square resize, ImageNet mean/std). The same for DINOv2.")
    var preprocessing: Preprocessing = .family

    func validate() throws {
        if checkpoint == nil && model == nil { throw ValidationError("Give --checkpoint FILE, --model PRESET, or both.") }
        if let model, BackboneCatalog.preset(named: model) == nil {
            throw ValidationError("Unknown --model \(model); known presets: \(BackboneCatalog.presets.map(\.name).joined(separator: ", ")).")
        }
    }

    /// The preset named by `--model`, if any.
    var preset: BackbonePreset? { model.flatMap(BackboneCatalog.preset(named:)) }

    /// The checkpoint file: `--checkpoint`, else the preset's file in the download cache.
    func checkpointURL() throws -> URL {
        if let checkpoint { return URL(fileURLWithPath: checkpoint) }
        let preset = preset!
        let cache = try CommandFailure.wrap { try ModelCache.standard() }
        guard let file = preset.cachedFile(in: cache) else {
            throw CommandFailure("preset \(preset.name) is not in the download cache \(cache.directory.path): run radprobe models download \(preset.name), or give --checkpoint")
        }
        return file
    }

    /// The backbone, with `interpolation` overriding a Vision Transformer's position interpolation.
    func load(interpolation: VisionTransformerConfiguration.PositionInterpolation? = nil) throws -> (backbone: Backbone, checkpoint: URL) {
        let url = try checkpointURL()
        let backbone = try CommandFailure.wrap { try Backbone(contentsOf: url, preset: preset, interpolation: interpolation) }
        return (backbone, url)
    }
}
