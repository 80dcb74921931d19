import Checkpoints
import Layers

extension VisionTransformerConfiguration {
    /// Supervised ViT-L/16 at 224 (`google/vit-large-patch16-224-in21k`, Hugging Face names, eps 1e-12).
    public static let supervisedViTLarge16 = plainViT(.supervised, layout: .huggingFaceViT, width: 1024, depth: 24, patchSize: 16)
    /// OpenAI CLIP ViT-L/14 image tower at 224 (`openai/clip-vit-large-patch14`, quick GELU).
    public static let clipViTLarge14 = plainViT(.clip, layout: .huggingFaceCLIP, width: 1024, depth: 24, patchSize: 14)
    /// OpenCLIP ViT-H/14 image tower at 224 (LAION-2B, width 1280, 32 blocks, 16 heads of width 80).
    public static let openCLIPViTHuge14 = plainViT(.openCLIP, layout: .openCLIP, width: 1280, depth: 32, patchSize: 14)
    /// MAE ViT-L/16 encoder at 224 (`facebook/vit-mae-large`).
    public static let maeViTLarge16 = plainViT(.mae, layout: .huggingFaceViT, width: 1024, depth: 24, patchSize: 16)
    /// MSN ViT-L/16 at 224 (`facebook/vit-msn-large`).
    public static let msnViTLarge16 = plainViT(.msn, layout: .huggingFaceViT, width: 1024, depth: 24, patchSize: 16)

    /// The study's model of `family`: the presets above, and DINOv2 ViT-L/14 (`.dinov2(.large)`) for `dinov2`.
    public static func preset(for family: VisionTransformerFamily) -> VisionTransformerConfiguration {
        switch family {
        case .dinov2: .dinov2(.large)
        case .supervised: supervisedViTLarge16
        case .clip: clipViTLarge14
        case .openCLIP: openCLIPViTHuge14
        case .mae: maeViTLarge16
        case .msn: msnViTLarge16
        }
    }

    /// A ViT without LayerScale, mask token or registers, MLP hidden 4·width, trained at `imageSize`, with the
    /// family's heads, activation, eps, interpolation and embedding.
    static func plainViT(_ family: VisionTransformerFamily, layout: ViTKeyLayout, width: Int, depth: Int, patchSize: Int,
                         imageSize: Int = 224) -> VisionTransformerConfiguration {
        VisionTransformerConfiguration(
            width: width, depth: depth, heads: family.heads(width: width) ?? width / 64, patchSize: patchSize,
            positionGrid: imageSize / patchSize, feedForward: .mlp(hidden: 4 * width, activation: family.activation),
            layerScale: false, hasMaskToken: false, interpolation: family.interpolation(layout: layout, registers: 0),
            patchEmbeddingBias: !family.hasCLIPEmbedding, preNorm: family.hasCLIPEmbedding,
            layerNormEps: family.layerNormEps(layout: layout))
    }
}
