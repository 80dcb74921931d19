import Checkpoints
import Layers
import TensorCore

/// The Vision Transformer families of the study. All are pre-norm ViTs with a class token and run on one engine
/// (`VisionTransformer`); a family fixes what a checkpoint's keys do not record:
///
/// | family | key layouts | LayerNorm eps | MLP activation | heads | position interpolation |
/// |---|---|---|---|---|---|
/// | `dinov2` | official, HF `Dinov2Model` | 1e-6 | GELU | width/64 | official: `(g+0.1)/M` scale factor, registers: antialiased size; HF: size |
/// | `supervised` | HF `ViTModel`, timm | HF 1e-12, timm 1e-6 | GELU | width/64 | HF: `(g+0.1)/M` scale factor; timm: antialiased size |
/// | `clip` | HF `CLIPVisionModel`, OpenAI/open_clip `visual.*` | 1e-5 | quick GELU | width/64 | antialiased size |
/// | `openCLIP` | open_clip `visual.*`, HF `CLIPVisionModel` | 1e-5 | GELU | width/head width | antialiased size |
/// | `mae` | HF `ViTMAEModel` | 1e-12 | GELU | width/64 | size |
/// | `msn` | HF `ViTMSNModel` | 1e-6 | GELU | width/64 | `(g+0.1)/M` scale factor |
///
/// Where the values come from: eps — `layer_norm_eps` of the published configs (`google/vit-large-patch16-224-in21k`
/// 1e-12; `facebook/vit-mae-large` 1e-12; `facebook/vit-msn-*` 1e-6, also `ViTMSNConfig`'s default; `CLIPVisionConfig`
/// 1e-5), `nn.LayerNorm`'s default 1e-5 in open_clip, `partial(nn.LayerNorm, eps=1e-6)` in timm and DINOv2. Activation —
/// `hidden_act: quick_gelu` of `openai/clip-vit-large-patch14` (OpenAI's `QuickGELU`); open_clip's ViT-H/14 uses
/// `nn.GELU`. Heads — every model of the study has head width 64 except open_clip's ViT-H/14 (`head_width` 80 in its
/// model config; also 88 for ViT-g/14 at width 1408 and 104 for ViT-bigG/14 at width 1664). Interpolation — what the
/// reference does at a size other than the training size: transformers 4.36 `ViTEmbeddings` / `ViTMSNEmbeddings`
/// `interpolate_pos_encoding` (bicubic to scale factor `(g + 0.1)/M`, no antialias, as DINO); timm 0.9
/// `resample_abs_pos_embed` (bicubic to the size, antialiased); open_clip `resize_pos_embed` (the same); transformers
/// 4.36 has no interpolation for `ViTMAEModel` or `CLIPVisionModel`, so MAE follows the MAE repository's
/// `interpolate_pos_embed` (bicubic to the size, no antialias) and CLIP follows open_clip. At the training size no
/// interpolation is applied.
///
/// Hugging Face ViT, MAE and MSN checkpoints share their key names: inferred from keys they are `supervised` unless the
/// family is given.
public enum VisionTransformerFamily: String, CaseIterable, Sendable, CustomStringConvertible {
    case dinov2
    /// ViT trained with labels on ImageNet-21k (`google/vit-*-in21k`, timm `*.augreg_in21k`).
    case supervised
    /// OpenAI CLIP's image tower.
    case clip
    /// OpenCLIP's image tower (LAION-2B ViT-H/14).
    case openCLIP = "openclip"
    /// MAE's encoder, run without masking.
    case mae
    /// MSN's target encoder.
    case msn

    public var description: String {
        switch self {
        case .dinov2: "DINOv2"
        case .supervised: "supervised ViT"
        case .clip: "CLIP"
        case .openCLIP: "OpenCLIP"
        case .mae: "MAE"
        case .msn: "MSN"
        }
    }

    /// The key layouts the family's checkpoints are published in.
    public var layouts: [ViTKeyLayout] {
        switch self {
        case .dinov2: [.official, .huggingFaceDinov2]
        case .supervised: [.huggingFaceViT, .official]
        case .clip: [.huggingFaceCLIP, .openCLIP]
        case .openCLIP: [.openCLIP, .huggingFaceCLIP]
        case .mae, .msn: [.huggingFaceViT]
        }
    }

    /// The MLP activation (see the table).
    public var activation: FeedForward.Activation { self == .clip ? .quickGELU : .gelu }

    /// Whether the model has CLIP's embedding: a patch convolution without bias and a LayerNorm before the blocks.
    public var hasCLIPEmbedding: Bool { self == .clip || self == .openCLIP }

    /// The LayerNorm eps of checkpoints in `layout` (see the table).
    public func layerNormEps(layout: ViTKeyLayout) -> Float {
        switch self {
        case .dinov2: 1e-6
        case .supervised: layout == .huggingFaceViT ? 1e-12 : 1e-6
        case .clip, .openCLIP: 1e-5
        case .mae: 1e-12
        case .msn: 1e-6
        }
    }

    /// The width of one attention head: 64, except OpenCLIP's ViT-H (80), ViT-g (88) and ViT-bigG (104).
    public func headWidth(width: Int) -> Int {
        guard self == .openCLIP else { return 64 }
        return [1280: 80, 1408: 88, 1664: 104][width] ?? 64
    }

    /// The number of attention heads at `width`, or nil when the head width does not divide it.
    public func heads(width: Int) -> Int? {
        let headWidth = headWidth(width: width)
        return width % headWidth == 0 ? width / headWidth : nil
    }

    /// The position-embedding interpolation of checkpoints in `layout` (see the table).
    public func interpolation(layout: ViTKeyLayout, registers: Int) -> VisionTransformerConfiguration.PositionInterpolation {
        switch self {
        case .dinov2:
            registers > 0 ? .antialiasedSize : layout == .huggingFaceDinov2 ? .size : .scaleFactor(offset: 0.1)
        case .supervised: layout == .huggingFaceViT ? .scaleFactor(offset: 0.1) : .antialiasedSize
        case .clip, .openCLIP: .antialiasedSize
        case .mae: .size
        case .msn: .scaleFactor(offset: 0.1)
        }
    }

    /// The family a checkpoint's keys point to: Hugging Face `Dinov2Model` → `dinov2`, `ViTModel` names → `supervised`,
    /// CLIP names → `clip`, open_clip names → `openCLIP`; official/timm names are `dinov2` when they hold a
    /// `mask_token` or `register_tokens` (only DINOv2 has them), or LayerScale (`blocks.0.ls1.gamma`) with patch 14,
    /// and `supervised` (timm) otherwise. `stateDict` holds official names.
    public static func inferred(layout: ViTKeyLayout, stateDict: StateDict) -> VisionTransformerFamily {
        switch layout {
        case .huggingFaceDinov2: return .dinov2
        case .huggingFaceViT: return .supervised
        case .huggingFaceCLIP: return .clip
        case .openCLIP: return .openCLIP
        case .official:
            if stateDict["mask_token"] != nil || stateDict["register_tokens"] != nil { return .dinov2 }
            let patch = stateDict["patch_embed.proj.weight"]?.shape.last
            return stateDict["blocks.0.ls1.gamma"] != nil && patch == 14 ? .dinov2 : .supervised
        }
    }

    /// Key under which files with official names record the family in their metadata.
    public static let metadataKey = "radprobe.vit_family"
}
