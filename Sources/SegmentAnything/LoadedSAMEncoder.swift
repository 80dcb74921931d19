import Checkpoints
import Foundation
import TensorCore

/// A SAM image encoder loaded from a checkpoint: the official whole-model state dicts
/// (`sam_vit_b_01ec64.pth`, `sam_vit_l_0b3195.pth`, `sam_vit_h_4b8939.pth`, keys `image_encoder.*`,
/// `prompt_encoder.*`, `mask_decoder.*`), whose encoder keys are kept without the prefix and the rest listed
/// in `droppedKeys`, or an encoder-only state dict (keys without the prefix). The configuration is inferred
/// from the shapes (`SAMEncoderConfiguration(inferringFrom:)`), then the tensors are bound.
public struct LoadedSAMEncoder: Sendable {
    public var model: SAMImageEncoder
    /// The file format; nil when built from a state dict in memory.
    public var format: CheckpointFile.Format?
    /// Keys that are not the image encoder's (the prompt encoder and mask decoder), sorted.
    public var droppedKeys: [String]

    /// The prefix of the image encoder's keys in a whole-SAM state dict.
    public static let encoderPrefix = "image_encoder."

    /// Keys every SAM image encoder has (without the prefix).
    static let requiredKeys = ["patch_embed.proj.weight", "pos_embed", "blocks.0.attn.rel_pos_h", "neck.0.weight"]

    /// Whether `keys` look like a SAM image encoder's, with or without the prefix: they hold the keys only it
    /// has, the neck and the relative position tables (a checkpoint that then misses others is reported by
    /// the loader, key by key).
    public static func holdsEncoder(keys: Set<String>) -> Bool {
        ["neck.0.weight", "blocks.0.attn.rel_pos_h"].allSatisfy { keys.contains($0) || keys.contains(encoderPrefix + $0) }
    }

    /// Reads `url` (any format `CheckpointFile` reads) and loads the encoder from it.
    public init(contentsOf url: URL) throws {
        let format = try CheckpointFile.format(of: url)
        try self.init(stateDict: try CheckpointFile.read(contentsOf: url))
        self.format = format
    }

    /// Loads the encoder from a whole-SAM or encoder-only state dict; throws when it is neither.
    public init(stateDict: StateDict) throws {
        let (encoder, dropped) = try Self.encoderStateDict(stateDict)
        var model = try SAMImageEncoder(configuration: try SAMEncoderConfiguration(inferringFrom: encoder))
        try Binder.bind(encoder, into: &model)
        self.model = model
        format = nil
        droppedKeys = dropped
    }

    /// The image encoder's tensors without the prefix, and the keys left out.
    static func encoderStateDict(_ stateDict: StateDict) throws -> (StateDict, dropped: [String]) {
        let prefixed = stateDict.tensors.filter { $0.key.hasPrefix(encoderPrefix) }
        if !prefixed.isEmpty {
            let tensors = Dictionary(uniqueKeysWithValues: prefixed.map { (String($0.key.dropFirst(encoderPrefix.count)), $0.value) })
            let dropped = stateDict.tensors.keys.filter { !$0.hasPrefix(encoderPrefix) }.sorted()
            return (StateDict(tensors, source: stateDict.source, metadata: stateDict.metadata), dropped)
        }
        guard requiredKeys.allSatisfy({ stateDict.tensors[$0] != nil }) else {
            let sample = stateDict.sortedKeys.prefix(4).joined(separator: ", ")
            throw SAMError("\(stateDict.source) is not a Segment Anything checkpoint: expected the image encoder's keys "
                + requiredKeys.map { encoderPrefix + $0 }.joined(separator: ", ")
                + " (a sam_vit_*.pth state dict), or the same keys without the prefix; found "
                + (sample.isEmpty ? "no tensors" : "keys such as \(sample)"))
        }
        return (stateDict, [])
    }
}
