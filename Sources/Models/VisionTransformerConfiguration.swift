import Checkpoints
import Layers
import TensorCore
import TensorKernels

/// The architecture of a pre-norm Vision Transformer with a class token: DINOv2 and the other families of
/// `VisionTransformerFamily` (supervised ViT, CLIP, OpenCLIP, MAE, MSN), which differ only in the fields here.
///
/// DINOv2 sizes (width/depth/heads): S 384/12/6, B 768/12/12, L 1024/24/16, g 1536/40/24; patch 14.
/// `init(inferringFrom:)` reads every field a checkpoint records from an official-named state dict, so any size
/// loads by path; what keys do not record (heads, activation, LayerNorm eps) comes from the family.
public struct VisionTransformerConfiguration: Equatable, Sendable, CustomStringConvertible {
    /// How the position grid is resized to the input's patch grid.
    public enum PositionInterpolation: Equatable, Sendable, CustomStringConvertible {
        /// Plain DINOv2: scale factor `(g + offset)/M`, bicubic without antialias (offset 0.1).
        case scaleFactor(offset: Double)
        /// Hugging Face `Dinov2Model`: explicit output size, bicubic without antialias.
        case size
        /// DINOv2 with registers: explicit output size, antialiased bicubic.
        case antialiasedSize

        /// The name used on the command line and in checkpoint metadata.
        public var name: String {
            switch self {
            case let .scaleFactor(offset): offset == 0.1 ? "official" : "scale-factor-\(offset)"
            case .size: "size"
            case .antialiasedSize: "antialiased-size"
            }
        }

        /// Parses `name` (`official`, `size`, `antialiased-size`, `scale-factor-OFFSET`).
        public init?(name: String) {
            switch name {
            case "official": self = .scaleFactor(offset: 0.1)
            case "size": self = .size
            case "antialiased-size": self = .antialiasedSize
            default:
                guard name.hasPrefix("scale-factor-"), let offset = Double(name.dropFirst("scale-factor-".count)) else { return nil }
                self = .scaleFactor(offset: offset)
            }
        }

        public var description: String {
            switch self {
            case let .scaleFactor(offset): "bicubic to scale factor (g + \(offset))/M, no antialias (official DINOv2)"
            case .size: "bicubic to the grid size, no antialias (Hugging Face Dinov2Model)"
            case .antialiasedSize: "bicubic to the grid size, antialiased (official DINOv2 with registers)"
            }
        }

        /// Key under which converted checkpoints record the interpolation in their metadata.
        public static let metadataKey = "radprobe.position_interpolation"
    }

    public var width: Int
    public var depth: Int
    public var heads: Int
    public var patchSize: Int
    public var channels: Int
    /// Side of the square position-embedding grid (37 for the official 518-pixel models).
    public var positionGrid: Int
    public var registers: Int
    public var feedForward: FeedForward.Kind
    public var layerScale: Bool
    public var hasMaskToken: Bool
    public var interpolation: PositionInterpolation
    /// The eps of every LayerNorm (DINOv2 and timm 1e-6, Hugging Face ViT/MAE 1e-12, CLIP 1e-5).
    public var layerNormEps: Float
    /// Whether the patch-embedding convolution has a bias (CLIP's has none).
    public var patchEmbeddingBias: Bool
    /// Whether a LayerNorm `norm_pre` runs over all tokens before the first block (CLIP's `ln_pre`, timm `pre_norm`).
    public var preNorm: Bool

    public init(width: Int, depth: Int, heads: Int, patchSize: Int = 14, channels: Int = 3, positionGrid: Int = 37,
                registers: Int = 0, feedForward: FeedForward.Kind, layerScale: Bool = true, hasMaskToken: Bool = true,
                interpolation: PositionInterpolation? = nil, patchEmbeddingBias: Bool = true, preNorm: Bool = false,
                layerNormEps: Float = 1e-6) {
        self.width = width
        self.depth = depth
        self.heads = heads
        self.patchSize = patchSize
        self.channels = channels
        self.positionGrid = positionGrid
        self.registers = registers
        self.feedForward = feedForward
        self.layerScale = layerScale
        self.hasMaskToken = hasMaskToken
        self.interpolation = interpolation ?? (registers > 0 ? .antialiasedSize : .scaleFactor(offset: 0.1))
        self.patchEmbeddingBias = patchEmbeddingBias
        self.preNorm = preNorm
        self.layerNormEps = layerNormEps
    }

    /// Infers the architecture from official DINOv2 keys and shapes: width from `cls_token`, depth from
    /// the block indices, patch size and channels from `patch_embed.proj.weight` `[D, C, p, p]` (a bias when
    /// `patch_embed.proj.bias` is present), the grid from `pos_embed` `[1, 1 + M², D]`, registers from
    /// `register_tokens` `[1, R, D]`, the FFN from `mlp.w12` (SwiGLU) or `mlp.fc1` (MLP with `activation`), a
    /// pre-norm from `norm_pre.weight`, heads = `heads` or else width / 64, and the interpolation as the official
    /// hub builds it (registers → antialiased size, else offset 0.1).
    public init(inferringFrom stateDict: StateDict, heads: Int? = nil, activation: FeedForward.Activation = .gelu,
                layerNormEps: Float = 1e-6) throws {
        let file = stateDict.source
        func shape(_ key: String) throws -> [Int] {
            guard let tensor = stateDict[key] else { throw CheckpointError(file: file, "has no '\(key)' tensor, so the architecture cannot be inferred") }
            return tensor.shape
        }
        let cls = try shape("cls_token")
        guard cls.count == 3, cls[0] == 1, cls[1] == 1 else { throw CheckpointError(file: file, "cls_token has shape \(describeShape(cls)); expected [1, 1, D]") }
        let width = cls[2]
        if let heads {
            guard heads > 0, width % heads == 0 else { throw CheckpointError(file: file, "\(heads) attention heads do not divide the width \(width)") }
        } else {
            guard width % 64 == 0 else { throw CheckpointError(file: file, "width \(width) is not a multiple of 64, so the head count (width/64) is undefined") }
        }
        let projection = try shape("patch_embed.proj.weight")
        guard projection.count == 4, projection[0] == width, projection[2] == projection[3] else {
            throw CheckpointError(file: file, "patch_embed.proj.weight has shape \(describeShape(projection)); expected [\(width), C, p, p]")
        }
        let position = try shape("pos_embed")
        let grid = Int(Double(max(position.count == 3 ? position[1] - 1 : 0, 0)).squareRoot().rounded())
        guard position.count == 3, grid * grid == position[1] - 1, position[2] == width else {
            throw CheckpointError(file: file, "pos_embed has shape \(describeShape(position)); expected [1, 1 + M·M, \(width)]")
        }
        var depth = 0
        while stateDict["blocks.\(depth).norm1.weight"] != nil { depth += 1 }
        guard depth > 0 else { throw CheckpointError(file: file, "has no transformer blocks (no blocks.0.norm1.weight)") }
        let feedForward: FeedForward.Kind
        if let w12 = stateDict["blocks.0.mlp.w12.weight"] {
            feedForward = .swiGLU(hidden: w12.shape[0] / 2)
        } else {
            feedForward = .mlp(hidden: try shape("blocks.0.mlp.fc1.weight")[0], activation: activation)
        }
        let registers = stateDict["register_tokens"]?.shape[1] ?? 0
        self.init(width: width, depth: depth, heads: heads ?? width / 64, patchSize: projection[2], channels: projection[1],
                  positionGrid: grid, registers: registers, feedForward: feedForward,
                  layerScale: stateDict["blocks.0.ls1.gamma"] != nil, hasMaskToken: stateDict["mask_token"] != nil,
                  patchEmbeddingBias: stateDict["patch_embed.proj.bias"] != nil, preNorm: stateDict["norm_pre.weight"] != nil,
                  layerNormEps: layerNormEps)
    }

    /// The official preset name for this width and depth (e.g. "ViT-S/14"), or a description.
    public var sizeName: String {
        let names = [384: "S", 768: "B", 1024: "L", 1280: "H", 1536: "g"]
        return "ViT-\(names[width] ?? "\(width)d")/\(patchSize)"
    }

    /// Multiply-accumulate operations ×2 for one image of `height × width` pixels (the usual GFLOP count).
    public func flops(height: Int, width imageWidth: Int) -> Double {
        let patches = Double((height / patchSize) * (imageWidth / patchSize))
        let tokens = patches + 1 + Double(registers)
        let d = Double(width)
        let hidden: Double
        switch feedForward {
        case let .mlp(h, _): hidden = 2 * d * Double(h)
        case let .swiGLU(h): hidden = 3 * d * Double(h)
        }
        let perBlock = tokens * (4 * d * d + hidden) + 2 * tokens * tokens * d
        return 2 * (patches * d * Double(channels * patchSize * patchSize) + Double(depth) * perBlock)
    }

    public var description: String {
        return """
        \(sizeName): width \(width), depth \(depth), heads \(heads), patch \(patchSize), \(channels) channels
        position grid \(positionGrid)×\(positionGrid) (\(positionGrid * patchSize) px), \(registers) register tokens
        feed-forward \(feedForward), LayerScale \(layerScale ? "yes" : "no"), mask token \(hasMaskToken ? "yes" : "no")
        patch-embedding bias \(patchEmbeddingBias ? "yes" : "no"), pre-norm \(preNorm ? "yes" : "no"), LayerNorm eps \(layerNormEps)
        position interpolation: \(interpolation)
        """
    }
}

extension VisionTransformerConfiguration {
    /// The official DINOv2 sizes.
    public enum Size: String, CaseIterable, Sendable {
        case small = "s", base = "b", large = "l", giant = "g"
    }

    /// The architecture of an official hub model (`dinov2_vit{s,b,l,g}14[_reg]`).
    public static func dinov2(_ size: Size, registers: Bool = false) -> VisionTransformerConfiguration {
        let (width, depth): (Int, Int) = switch size {
        case .small: (384, 12)
        case .base: (768, 12)
        case .large: (1024, 24)
        case .giant: (1536, 40)
        }
        let feedForward: FeedForward.Kind = size == .giant
            ? .swiGLU(hidden: (Int(Double(4 * width) * 2 / 3) + 7) / 8 * 8)
            : .mlp(hidden: 4 * width)
        return VisionTransformerConfiguration(width: width, depth: depth, heads: width / 64, registers: registers ? 4 : 0, feedForward: feedForward)
    }
}

extension VisionTransformerConfiguration {
    /// The number of parameters the model holds under these settings, computed without allocating them: the CLS,
    /// mask and register tokens, the position embedding `(1 + M²)·D`, the patch embedding `D·C·p² (+ D)`, the
    /// pre-norm, per block two LayerNorms, `qkv` `3D² + 3D`, `proj` `D² + D`, LayerScale `2D` and the FFN, and
    /// the final norm.
    public var parameterCount: Int {
        let d = width
        let feedForwardCount = switch feedForward {
        case let .mlp(hidden, _): d * hidden + hidden + hidden * d + d
        case let .swiGLU(hidden): d * 2 * hidden + 2 * hidden + hidden * d + d
        }
        let block = 4 * d + (3 * d * d + 3 * d) + (d * d + d) + (layerScale ? 2 * d : 0) + feedForwardCount
        let tokens = d + (hasMaskToken ? d : 0) + registers * d + (1 + positionGrid * positionGrid) * d
        let patch = d * channels * patchSize * patchSize + (patchEmbeddingBias ? d : 0)
        return tokens + patch + (preNorm ? 2 * d : 0) + depth * block + 2 * d
    }

    /// Whether `other` has the same layers and weight shapes, apart from the position grid (the training size),
    /// the position interpolation, the LayerNorm eps and the training-only mask token.
    public func sameArchitecture(as other: VisionTransformerConfiguration) -> Bool {
        width == other.width && depth == other.depth && heads == other.heads && patchSize == other.patchSize
            && channels == other.channels && registers == other.registers && feedForward == other.feedForward
            && layerScale == other.layerScale && patchEmbeddingBias == other.patchEmbeddingBias && preNorm == other.preNorm
    }
}
