import Checkpoints
import Foundation
import TensorCore

/// Loads a DINOv2 backbone from any checkpoint file RadProbe reads: read → adapt names → infer the
/// architecture → bind. `notes` lists what the adapter left out, for the user to see.
public struct LoadedBackbone: Sendable {
    public var model: VisionTransformer
    public var format: CheckpointFile.Format
    public var layout: String
    public var droppedKeys: [String]

    public init(contentsOf url: URL) throws {
        format = try CheckpointFile.format(of: url)
        let adapted = try DINOv2KeyAdapter.adapt(try CheckpointFile.read(contentsOf: url))
        var model = VisionTransformer(configuration: try VisionTransformerConfiguration(inferringFrom: adapted.stateDict))
        try Binder.bind(adapted.stateDict, into: &model)
        self.model = model
        layout = adapted.layout
        droppedKeys = adapted.droppedKeys
    }
}
