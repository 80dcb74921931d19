import TensorCore

/// Converts DINOv2 checkpoints from the layouts they are published in to the official key names
/// of `facebookresearch/dinov2` (`cls_token`, `pos_embed`, `blocks.{i}.attn.qkv.weight`, …).
///
/// Declared rules, applied in order; each is a pure function of the key set, and no layout is ever
/// guessed from a tensor's shape:
/// 1. Training checkpoints: when keys start with `teacher.`, only the teacher is kept.
/// 2. Wrapper prefixes `module.`, `teacher.`, `backbone.` (and Hugging Face `dinov2.`) are dropped.
/// 3. Hugging Face `Dinov2Model` names are renamed by `huggingFaceRenames`; the separate
///    `query`/`key`/`value` projections are concatenated (in that order, along the output
///    dimension) into `attn.qkv`.
/// 4. Chunked blocks `blocks.{chunk}.{i}.` (FSDP training layout) become `blocks.{i}.`.
/// 5. Keys outside the backbone (heads of a larger model) are dropped and listed in `dropped`.
public enum DINOv2KeyAdapter {
    /// Result of adapting: the official-named tensors and the keys left out, with the reason.
    public struct Adapted: Sendable {
        public var stateDict: StateDict
        public var layout: String
        public var droppedKeys: [String]
    }

    /// `Adapted.layout` of checkpoints with Hugging Face names.
    public static let huggingFaceLayout = "Hugging Face Dinov2Model"
    /// `Adapted.layout` of checkpoints with official names.
    public static let officialLayout = "official DINOv2"

    static let wrapperPrefixes = ["module.", "teacher.", "backbone.", "dinov2."]

    /// Hugging Face `Dinov2Model` → official names; `{i}` stands for a block index.
    static let huggingFaceRenames: [(String, String)] = [
        ("embeddings.cls_token", "cls_token"),
        ("embeddings.mask_token", "mask_token"),
        ("embeddings.register_tokens", "register_tokens"),
        ("embeddings.position_embeddings", "pos_embed"),
        ("embeddings.patch_embeddings.projection.", "patch_embed.proj."),
        ("encoder.layer.{i}.norm1.", "blocks.{i}.norm1."),
        ("encoder.layer.{i}.norm2.", "blocks.{i}.norm2."),
        ("encoder.layer.{i}.attention.output.dense.", "blocks.{i}.attn.proj."),
        ("encoder.layer.{i}.layer_scale1.lambda1", "blocks.{i}.ls1.gamma"),
        ("encoder.layer.{i}.layer_scale2.lambda1", "blocks.{i}.ls2.gamma"),
        ("encoder.layer.{i}.mlp.fc1.", "blocks.{i}.mlp.fc1."),
        ("encoder.layer.{i}.mlp.fc2.", "blocks.{i}.mlp.fc2."),
        ("encoder.layer.{i}.mlp.weights_in.", "blocks.{i}.mlp.w12."),
        ("encoder.layer.{i}.mlp.weights_out.", "blocks.{i}.mlp.w3."),
        ("layernorm.", "norm."),
    ]

    /// Official top-level keys and block-key prefixes; anything else is not part of the backbone.
    static let officialTopLevel: Set<String> = ["cls_token", "mask_token", "register_tokens", "pos_embed"]
    static let officialPrefixes = ["patch_embed.", "norm_pre.", "blocks.", "norm."]

    /// Adapts `stateDict` to official DINOv2 names.
    public static func adapt(_ stateDict: StateDict) throws -> Adapted {
        var tensors = stateDict.tensors
        var dropped: [String] = []
        if tensors.keys.contains(where: { $0.hasPrefix("teacher.") }) {
            for key in tensors.keys where !key.hasPrefix("teacher.") { dropped.append(key); tensors[key] = nil }
        }
        tensors = Dictionary(uniqueKeysWithValues: tensors.map { (KeyRenaming.strippingPrefixes($0.key, wrapperPrefixes), $0.value) })

        var layout = officialLayout
        if tensors.keys.contains("embeddings.patch_embeddings.projection.weight") {
            layout = huggingFaceLayout
            tensors = try renameHuggingFace(tensors, source: stateDict.source)
        }
        tensors = unchunkBlocks(tensors)
        for key in tensors.keys where !isBackboneKey(key) { dropped.append(key); tensors[key] = nil }
        guard tensors["patch_embed.proj.weight"] != nil, tensors["cls_token"] != nil else {
            throw CheckpointError(file: stateDict.source, "does not look like a DINOv2 backbone: no patch_embed.proj.weight / cls_token (or Hugging Face embeddings.*) keys among \(stateDict.tensors.count) tensors")
        }
        return Adapted(stateDict: StateDict(tensors, source: stateDict.source, metadata: stateDict.metadata), layout: layout, droppedKeys: dropped.sorted())
    }

    static func isBackboneKey(_ key: String) -> Bool {
        officialTopLevel.contains(key) || officialPrefixes.contains(where: { key.hasPrefix($0) })
    }

    static func renameHuggingFace(_ tensors: [String: Tensor], source: String) throws -> [String: Tensor] {
        var renamed: [String: Tensor] = [:]
        var projections: [String: [String: Tensor]] = [:] // "blocks.{i}.attn.qkv.weight" → query/key/value
        for (key, tensor) in tensors {
            if let official = KeyRenaming.firstRename(of: key, in: huggingFaceRenames) {
                renamed[official] = tensor
            } else if let projection = QKVProjection.huggingFace.target(of: key) {
                projections[projection.target, default: [:]][projection.role] = tensor
            } else {
                renamed[key] = tensor
            }
        }
        return renamed.merging(try KeyRenaming.concatenate(projections, roles: QKVProjection.huggingFace.roles, source: source)) { a, _ in a }
    }

    /// `blocks.{chunk}.{i}.rest` → `blocks.{i}.rest`, when every block key has two indices.
    static func unchunkBlocks(_ tensors: [String: Tensor]) -> [String: Tensor] {
        let blockKeys = tensors.keys.filter { $0.hasPrefix("blocks.") }
        let chunked = !blockKeys.isEmpty && blockKeys.allSatisfy { key in
            let parts = key.split(separator: ".")
            return parts.count > 3 && Int(parts[1]) != nil && Int(parts[2]) != nil
        }
        guard chunked else { return tensors }
        return Dictionary(uniqueKeysWithValues: tensors.map { key, tensor in
            guard key.hasPrefix("blocks.") else { return (key, tensor) }
            let parts = key.split(separator: ".")
            return ((["blocks"] + parts[2...]).joined(separator: "."), tensor)
        })
    }
}
