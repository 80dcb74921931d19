import TensorCore

/// Converts a pre-norm Vision Transformer checkpoint in any `ViTKeyLayout` to the official DINOv2 names.
///
/// The layout is detected from the keys (`ViTKeyLayout.detect`), never from a tensor's shape. DINOv2 layouts go
/// through `DINOv2KeyAdapter`; the others follow declared `Rules`:
/// 1. Tower prefix: when keys start with `vision_model.` (Hugging Face CLIP) or `visual.` (open_clip), every other
///    key (the text tower, projections, `logit_scale`) is dropped and the prefix removed.
/// 2. Wrapper prefixes `module.`, `backbone.`, `vit.` (Hugging Face `ViTFor…`, `ViTMAEForPreTraining`) are removed.
/// 3. Keys are renamed; separate q/k/v projections are concatenated into `attn.qkv`; CLIP's `class_embedding` `[D]`
///    and position embedding `[1 + N, D]` get leading axes (`[1, 1, D]`, `[1, 1 + N, D]`).
/// 4. Declared non-backbone keys (poolers, classifiers, MAE's decoder, `position_ids`, the CLIP projection `proj`)
///    and anything outside the backbone's prefixes are dropped and listed; unrenamed keys under the backbone's
///    prefixes are kept, so the binder reports them as unused instead of losing them silently.
public enum ViTKeyAdapter {
    /// The official-named tensors, the layout they came in, and the keys left out.
    public struct Adapted: Sendable {
        public var stateDict: StateDict
        public var layout: ViTKeyLayout
        public var droppedKeys: [String]
    }

    /// Prefixes ignored when detecting the layout.
    static let detectionWrappers = ["module.", "teacher.", "backbone.", "dinov2.", "vit."]

    /// Adapts `stateDict` to official names; throws, listing the known layouts, when its keys fit none.
    public static func adapt(_ stateDict: StateDict) throws -> Adapted {
        guard let layout = ViTKeyLayout.detect(stateDict.tensors.keys) else {
            let sample = stateDict.sortedKeys.prefix(5).joined(separator: ", ")
            let expected = ViTKeyLayout.allCases.map { "\($0) (\($0.signature))" }.joined(separator: "; ")
            throw CheckpointError(file: stateDict.source, "has keys of no Vision Transformer layout RadProbe reads (first keys: \(sample)); expected one of: \(expected)")
        }
        switch layout {
        case .official, .huggingFaceDinov2:
            let adapted = try DINOv2KeyAdapter.adapt(stateDict)
            return Adapted(stateDict: adapted.stateDict, layout: layout, droppedKeys: adapted.droppedKeys)
        case .huggingFaceViT: return try Rules.huggingFaceViT.adapt(stateDict, layout: layout)
        case .huggingFaceCLIP: return try Rules.huggingFaceCLIP.adapt(stateDict, layout: layout)
        case .openCLIP: return try Rules.openCLIP.adapt(stateDict, layout: layout)
        }
    }

    /// The declared renaming of one layout (see the type's documentation for the order of the steps).
    struct Rules: Sendable {
        /// Keys outside this prefix are another tower's, when any key has it.
        var towerPrefix: String?
        var wrappers: [String]
        var renames: [(String, String)]
        var projection: QKVProjection?
        /// Official keys whose source tensor lacks leading singleton axes, with how many to add.
        var leadingAxes: [String: Int] = [:]
        /// Source keys (after prefixes) that are not part of the backbone.
        var droppedKeys: Set<String>
        /// Source key prefixes of the backbone.
        var backbonePrefixes: [String]

        func adapt(_ stateDict: StateDict, layout: ViTKeyLayout) throws -> Adapted {
            var dropped: [String] = []
            var tensors = stateDict.tensors
            var tower = ""
            if let towerPrefix, tensors.keys.contains(where: { $0.hasPrefix(towerPrefix) }) {
                for key in tensors.keys where !key.hasPrefix(towerPrefix) { dropped.append(key); tensors[key] = nil }
                tower = towerPrefix
            }
            var renamed: [String: Tensor] = [:]
            var projections: [String: [String: Tensor]] = [:]
            for (original, tensor) in tensors {
                let key = KeyRenaming.strippingPrefixes(String(original.dropFirst(tower.count)), wrappers)
                if droppedKeys.contains(key) {
                    dropped.append(original)
                } else if let official = KeyRenaming.firstRename(of: key, in: renames) {
                    renamed[official] = withLeadingAxes(tensor, key: official)
                } else if let target = projection?.target(of: key) {
                    projections[target.target, default: [:]][target.role] = tensor
                } else if backbonePrefixes.contains(where: { key.hasPrefix($0) }) {
                    renamed[key] = tensor
                } else {
                    dropped.append(original)
                }
            }
            if let projection {
                renamed.merge(try KeyRenaming.concatenate(projections, roles: projection.roles, source: stateDict.source)) { a, _ in a }
            }
            return Adapted(stateDict: StateDict(renamed, source: stateDict.source, metadata: stateDict.metadata), layout: layout,
                           droppedKeys: dropped.sorted())
        }

        /// `tensor` with the declared number of leading singleton axes added (none for other keys).
        func withLeadingAxes(_ tensor: Tensor, key: String) -> Tensor {
            guard let added = leadingAxes[key] else { return tensor }
            return tensor.reshaped(Array(repeating: 1, count: added) + tensor.shape)
        }

        /// Hugging Face `ViTModel` / `ViTMAEModel` / `ViTMSNModel` (and their `…For…` wrappers under `vit.`).
        static let huggingFaceViT = Rules(
            wrappers: ["module.", "backbone.", "vit."],
            renames: [
                ("embeddings.cls_token", "cls_token"),
                ("embeddings.position_embeddings", "pos_embed"),
                ("embeddings.patch_embeddings.projection.", "patch_embed.proj."),
                ("encoder.layer.{i}.layernorm_before.", "blocks.{i}.norm1."),
                ("encoder.layer.{i}.attention.output.dense.", "blocks.{i}.attn.proj."),
                ("encoder.layer.{i}.layernorm_after.", "blocks.{i}.norm2."),
                ("encoder.layer.{i}.intermediate.dense.", "blocks.{i}.mlp.fc1."),
                ("encoder.layer.{i}.output.dense.", "blocks.{i}.mlp.fc2."),
                ("layernorm.", "norm."),
            ],
            projection: .huggingFace,
            droppedKeys: ["embeddings.mask_token"],
            backbonePrefixes: ["embeddings.", "encoder.", "layernorm."])

        /// Hugging Face `CLIPVisionModel` (or the vision tower of a `CLIPModel`).
        static let huggingFaceCLIP = Rules(
            towerPrefix: "vision_model.",
            wrappers: ["module."],
            renames: [
                ("embeddings.class_embedding", "cls_token"),
                ("embeddings.position_embedding.weight", "pos_embed"),
                ("embeddings.patch_embedding.weight", "patch_embed.proj.weight"),
                ("pre_layrnorm.", "norm_pre."),
                ("encoder.layers.{i}.layer_norm1.", "blocks.{i}.norm1."),
                ("encoder.layers.{i}.self_attn.out_proj.", "blocks.{i}.attn.proj."),
                ("encoder.layers.{i}.layer_norm2.", "blocks.{i}.norm2."),
                ("encoder.layers.{i}.mlp.fc1.", "blocks.{i}.mlp.fc1."),
                ("encoder.layers.{i}.mlp.fc2.", "blocks.{i}.mlp.fc2."),
                ("post_layernorm.", "norm."),
            ],
            projection: .huggingFaceCLIP,
            leadingAxes: ["cls_token": 2, "pos_embed": 1],
            droppedKeys: ["embeddings.position_ids"],
            backbonePrefixes: ["embeddings.", "pre_layrnorm.", "encoder.", "post_layernorm."])

        /// open_clip `VisionTransformer` (`visual.*` of a CLIP model; OpenAI's state dicts use the same names).
        /// `proj` `[D, E]`, the projection into the joint image–text space, is dropped: features are taken before it.
        static let openCLIP = Rules(
            towerPrefix: "visual.",
            wrappers: ["module."],
            renames: [
                ("class_embedding", "cls_token"),
                ("positional_embedding", "pos_embed"),
                ("conv1.weight", "patch_embed.proj.weight"),
                ("ln_pre.", "norm_pre."),
                ("transformer.resblocks.{i}.ln_1.", "blocks.{i}.norm1."),
                ("transformer.resblocks.{i}.attn.in_proj_weight", "blocks.{i}.attn.qkv.weight"),
                ("transformer.resblocks.{i}.attn.in_proj_bias", "blocks.{i}.attn.qkv.bias"),
                ("transformer.resblocks.{i}.attn.out_proj.", "blocks.{i}.attn.proj."),
                ("transformer.resblocks.{i}.ln_2.", "blocks.{i}.norm2."),
                ("transformer.resblocks.{i}.mlp.c_fc.", "blocks.{i}.mlp.fc1."),
                ("transformer.resblocks.{i}.mlp.c_proj.", "blocks.{i}.mlp.fc2."),
                ("ln_post.", "norm."),
            ],
            leadingAxes: ["cls_token": 2, "pos_embed": 1],
            droppedKeys: ["proj"],
            backbonePrefixes: ["class_embedding", "positional_embedding", "conv1.", "ln_pre.", "transformer.", "ln_post."])
    }
}
