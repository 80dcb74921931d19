import TensorCore

/// The key layouts in which pre-norm Vision Transformer checkpoints are published. `ViTKeyAdapter` renames
/// each to the official DINOv2 names (which timm's `VisionTransformer` shares).
public enum ViTKeyLayout: String, CaseIterable, Sendable, CustomStringConvertible {
    /// Official DINOv2 or timm `VisionTransformer`: `cls_token`, `pos_embed`, `patch_embed.proj`, `norm_pre`,
    /// `blocks.{i}.{norm1,attn.qkv,attn.proj,ls1.gamma,norm2,mlp.fc1,mlp.fc2,ls2.gamma}`, `norm`.
    case official
    /// Hugging Face `Dinov2Model`: `embeddings.*`, `encoder.layer.{i}.{norm1,attention.attention.query,…,mlp.fc1}`.
    case huggingFaceDinov2
    /// Hugging Face `ViTModel`, `ViTMAEModel`, `ViTMSNModel` (optionally under `vit.`):
    /// `encoder.layer.{i}.{layernorm_before,attention.attention.query,…,intermediate.dense,output.dense}`, `layernorm`.
    case huggingFaceViT
    /// Hugging Face `CLIPVisionModel` (optionally a whole `CLIPModel`): `vision_model.embeddings.class_embedding`,
    /// `pre_layrnorm`, `encoder.layers.{i}.{layer_norm1,self_attn.q_proj,…,mlp.fc1}`, `post_layernorm`.
    case huggingFaceCLIP
    /// open_clip (and OpenAI CLIP state dicts, which share its names): `visual.class_embedding`, `visual.conv1`,
    /// `visual.ln_pre`, `visual.transformer.resblocks.{i}.{ln_1,attn.in_proj_weight,…,mlp.c_fc}`, `visual.ln_post`.
    case openCLIP

    public var description: String {
        switch self {
        case .official: "official DINOv2 / timm"
        case .huggingFaceDinov2: "Hugging Face Dinov2Model"
        case .huggingFaceViT: "Hugging Face ViTModel/ViTMAEModel/ViTMSNModel"
        case .huggingFaceCLIP: "Hugging Face CLIPVisionModel"
        case .openCLIP: "OpenCLIP visual.*"
        }
    }

    /// The key that identifies the layout (after the wrapper prefixes), for error messages.
    var signature: String {
        switch self {
        case .official: "patch_embed.proj.weight + cls_token"
        case .huggingFaceDinov2: "embeddings.patch_embeddings.projection.weight + encoder.layer.0.norm1.weight"
        case .huggingFaceViT: "embeddings.patch_embeddings.projection.weight + encoder.layer.0.layernorm_before.weight"
        case .huggingFaceCLIP: "vision_model.embeddings.class_embedding"
        case .openCLIP: "visual.conv1.weight + visual.class_embedding"
        }
    }

    /// The layout of a checkpoint with `keys`, or nil when it has none of the layouts' signatures.
    /// Wrapper prefixes (`module.`, `teacher.`, `backbone.`, `dinov2.`, `vit.`) are ignored.
    public static func detect(_ keys: some Collection<String>) -> ViTKeyLayout? {
        let stripped = Set(keys.map { KeyRenaming.strippingPrefixes($0, ViTKeyAdapter.detectionWrappers) })
        if stripped.contains("visual.conv1.weight") || (stripped.contains("conv1.weight") && stripped.contains("class_embedding")) {
            return .openCLIP
        }
        if stripped.contains("vision_model.embeddings.class_embedding") || stripped.contains("embeddings.class_embedding") {
            return .huggingFaceCLIP
        }
        if stripped.contains("embeddings.patch_embeddings.projection.weight") {
            return stripped.contains("encoder.layer.0.layernorm_before.weight") ? .huggingFaceViT : .huggingFaceDinov2
        }
        return stripped.contains("patch_embed.proj.weight") ? .official : nil
    }
}
