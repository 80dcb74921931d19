import ConvolutionalNetworks
import MedicalImaging
import Models

/// The backbone families of the study's comparison (its Table 2), and what besides the weights decides
/// their features: the evaluation transform their authors used.
///
/// | family | transform after the modality's clipping and min–max (then grey → 3 channels) |
/// |---|---|
/// | `dinov2` | the study's: square resize, bilinear antialiased, ImageNet mean/std |
/// | `vit` (supervised ViT, ImageNet-21k) | square resize, bilinear antialiased, mean 0.5 std 0.5 (`ViTImageProcessor` of `google/vit-*-in21k`, timm's augreg) |
/// | `clip`, `openclip` | shorter side to the size, bicubic antialiased, centre crop, CLIP mean/std |
/// | `mae`, `msn` | square resize, bilinear antialiased, ImageNet mean/std (`ViTImageProcessor`) |
/// | `sam` | resize to the encoder's size (1024), bilinear antialiased, ImageNet mean/std (SAM's 0–255 statistics ÷ 255); SAM pads a non-square image's shorter side instead of stretching it, RadProbe stretches |
/// | `resnet`, `densenet`, `vgg` | shorter side to size · 256/224, bilinear antialiased, centre crop, ImageNet mean/std (torchvision's weights) |
public enum BackboneFamily: String, CaseIterable, Sendable, CustomStringConvertible {
    case dinov2, vit, clip, openclip, mae, msn, sam, resnet, densenet, vgg

    /// The family's name in tables, e.g. `supervised ViT (ImageNet-21k)`.
    public var description: String {
        switch self {
        case .dinov2: "DINOv2"
        case .vit: "supervised ViT (ImageNet-21k)"
        case .clip: "CLIP"
        case .openclip: "OpenCLIP"
        case .mae: "MAE"
        case .msn: "MSN"
        case .sam: "SAM image encoder"
        case .resnet: "ResNet"
        case .densenet: "DenseNet"
        case .vgg: "VGG"
        }
    }

    /// The family's evaluation transform at square input `size` for `modality` (see the table above).
    public func preprocessing(size: Int, modality: PreprocessingPipeline.Modality) -> PreprocessingPipeline {
        switch self {
        case .dinov2: .study(size: size, modality: modality)
        case .vit: .evaluation(size: size, normalization: .inception, modality: modality)
        case .clip, .openclip:
            .evaluation(size: size, fit: .shorterSideThenCenterCrop(shorterSide: size), interpolation: .bicubicAntialiased,
                        normalization: .clip, modality: modality)
        case .mae, .msn, .sam: .evaluation(size: size, modality: modality)
        case .resnet, .densenet, .vgg:
            .evaluation(size: size, fit: .shorterSideThenCenterCrop(shorterSide: (size * 256 + 112) / 224), modality: modality)
        }
    }
}

extension BackboneFamily {
    /// The family of a Vision Transformer family.
    public init(_ family: VisionTransformerFamily) {
        switch family {
        case .dinov2: self = .dinov2
        case .supervised: self = .vit
        case .clip: self = .clip
        case .openCLIP: self = .openclip
        case .mae: self = .mae
        case .msn: self = .msn
        }
    }

    /// The family of a torchvision layout.
    public init(_ architecture: ConvolutionalArchitecture) {
        switch architecture {
        case .resnet: self = .resnet
        case .densenet: self = .densenet
        case .vgg: self = .vgg
        }
    }

    /// The Vision Transformer family, nil for SAM and the CNNs.
    public var transformerFamily: VisionTransformerFamily? {
        switch self {
        case .dinov2: .dinov2
        case .vit: .supervised
        case .clip: .clip
        case .openclip: .openCLIP
        case .mae: .mae
        case .msn: .msn
        case .sam, .resnet, .densenet, .vgg: nil
        }
    }
}
