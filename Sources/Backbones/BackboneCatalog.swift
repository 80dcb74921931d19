import ConvolutionalNetworks
import Models
import SegmentAnything

/// The presets RadProbe knows: the backbones of the study's comparison (DINOv2 ViT-S/B/L/g and their
/// register variants, supervised ViT-L/16, CLIP ViT-L/14, OpenCLIP ViT-H/14, MAE and MSN ViT-L/16, the
/// SAM image encoders, ResNet-152, DenseNet-201, VGG-19), with their published files.
///
/// Digests: DINOv2, SAM, ResNet-152 and VGG-19 by their full SHA-256 as other projects pin them (SAM's
/// file-name suffix is an MD5 prefix, not a SHA-256 one); DenseNet-201 by the SHA-256 prefix in its
/// torch.hub file name; the Hugging Face files by the digest the user reads on the Hub.
public enum BackboneCatalog {
    public static let presets: [BackbonePreset] = dinov2 + transformers + sam + convolutional

    /// The preset called `name` (case-insensitive), or nil.
    public static func preset(named name: String) -> BackbonePreset? {
        presets.first { $0.name == name.lowercased() }
    }

    static let dinov2Licence = "Apache-2.0"

    static let dinov2: [BackbonePreset] = [
        ("s", VisionTransformerConfiguration.Size.small, "b938bf1bc15cd2ec0feacfe3a1bb553fe8ea9ca46a7e1d8d00217f29aef60cd9", nil as Int64?),
        ("b", .base, "0b8b82f85de91b424aded121c7e1dcc2b7bc6d0adeea651bf73a13307fad8c73", nil),
        ("l", .large, "d5383ea8f4877b2472eb973e0fd72d557c7da5d3611bd527ceeb1d7162cbf428", 1_217_586_395),
        ("g", .giant, "baf8467e50af277596bbbafa06887c177ee899ab46033649c383577d7e9309d3", nil),
    ].map { letter, size, digest, bytes in
        BackbonePreset(name: "dinov2-vit\(letter)14", family: .dinov2, architecture: .transformer(.dinov2(size)), inputSize: 224,
                       weights: "facebookresearch/dinov2 hub model dinov2_vit\(letter)14",
                       file: PublishedFile("https://dl.fbaipublicfiles.com/dinov2/dinov2_vit\(letter)14/dinov2_vit\(letter)14_pretrain.pth",
                                           pin: .sha256(digest), bytes: bytes),
                       licence: dinov2Licence)
    } + [
        ("s", VisionTransformerConfiguration.Size.small, "f433177089a681826f849f194ece3bb48f4d63fb38d32fc837e3dc7a4e5641fb"),
        ("b", .base, "73182a088cf94833c94b1666d1c99e02fe87e2007bff57b564fb6206e25dba71"),
        ("l", .large, "36e4deffbaef061a2576705b0c36f93621e2ae20bf6274694821b0b492551b51"),
        ("g", .giant, "746ecb8c6301c645c5c855be91687d274587d6e48fdaec4a729753160b34a283"),
    ].map { letter, size, digest in
        BackbonePreset(name: "dinov2-vit\(letter)14-reg", family: .dinov2, architecture: .transformer(.dinov2(size, registers: true)), inputSize: 224,
                       weights: "facebookresearch/dinov2 hub model dinov2_vit\(letter)14_reg (4 registers)",
                       file: PublishedFile("https://dl.fbaipublicfiles.com/dinov2/dinov2_vit\(letter)14/dinov2_vit\(letter)14_reg4_pretrain.pth",
                                           pin: .sha256(digest)),
                       licence: dinov2Licence)
    }

    /// A Hugging Face file, cached as `<owner>--<repository>--<file>`.
    static func huggingFace(_ repository: String, _ file: String) -> PublishedFile {
        PublishedFile("https://huggingface.co/\(repository)/resolve/main/\(file)",
                      fileName: repository.replacingOccurrences(of: "/", with: "--") + "--" + file, pin: nil)
    }

    static let transformers: [BackbonePreset] = [
        BackbonePreset(name: "vit-l16-in21k", family: .vit, architecture: .transformer(.supervisedViTLarge16), inputSize: 224,
                       weights: "Hugging Face google/vit-large-patch16-224-in21k (ViTModel)",
                       file: huggingFace("google/vit-large-patch16-224-in21k", "pytorch_model.bin"), licence: "Apache-2.0"),
        BackbonePreset(name: "vit-l16-in21k-timm", family: .vit, architecture: .transformer(timmViTLarge16), inputSize: 224,
                       weights: "timm vit_large_patch16_224.augreg_in21k",
                       file: huggingFace("timm/vit_large_patch16_224.augreg_in21k", "model.safetensors"), licence: "Apache-2.0"),
        BackbonePreset(name: "clip-vit-l14", family: .clip, architecture: .transformer(.clipViTLarge14), inputSize: 224,
                       weights: "Hugging Face openai/clip-vit-large-patch14 (vision tower of CLIPModel)",
                       file: huggingFace("openai/clip-vit-large-patch14", "pytorch_model.bin"), licence: "MIT"),
        BackbonePreset(name: "openclip-vit-h14", family: .openclip, architecture: .transformer(.openCLIPViTHuge14), inputSize: 224,
                       weights: "OpenCLIP ViT-H-14 laion2b_s32b_b79k (visual tower)",
                       file: huggingFace("laion/CLIP-ViT-H-14-laion2B-s32B-b79K", "open_clip_pytorch_model.bin"), licence: "MIT"),
        BackbonePreset(name: "mae-vit-l16", family: .mae, architecture: .transformer(.maeViTLarge16), inputSize: 224,
                       weights: "Hugging Face facebook/vit-mae-large (encoder of ViTMAEForPreTraining)",
                       file: huggingFace("facebook/vit-mae-large", "pytorch_model.bin"),
                       licence: "Apache-2.0 (model card; the MAE repository's own weights are CC BY-NC 4.0)"),
        BackbonePreset(name: "msn-vit-l16", family: .msn, architecture: .transformer(.msnViTLarge16), inputSize: 224,
                       weights: "Hugging Face facebook/vit-msn-large (ViTMSNModel)",
                       file: huggingFace("facebook/vit-msn-large", "pytorch_model.bin"),
                       licence: "Apache-2.0 (model card; the MSN repository's own weights are CC BY-NC 4.0)"),
    ]

    /// timm's ViT-L/16: the supervised preset with timm's LayerNorm eps (1e-6, Hugging Face's is 1e-12).
    static var timmViTLarge16: VisionTransformerConfiguration {
        var configuration = VisionTransformerConfiguration.supervisedViTLarge16
        configuration.layerNormEps = 1e-6
        return configuration
    }

    static let sam: [BackbonePreset] = [
        ("b", SAMEncoderConfiguration.vitB, "01ec64", "ec2df62732614e57411cdcf32a23ffdf28910380d03139ee0f4fcbe91eb8c912", 375_042_383 as Int64?),
        ("l", .vitL, "0b3195", "3adcc4315b642a4d2101128f611684e8734c41232a17c648ed1693702a49a622", nil),
        ("h", .vitH, "4b8939", "a7bf3b02f3ebf1267aba913ff637d9a2d5c33d3173bb679e46d9f338c26f262e", 2_564_550_879),
    ].map { letter, configuration, suffix, digest, bytes in
        BackbonePreset(name: "sam-vit-\(letter)", family: .sam, architecture: .sam(configuration), inputSize: configuration.imageSize,
                       weights: "facebookresearch/segment-anything sam_vit_\(letter) (image encoder)",
                       file: PublishedFile("https://dl.fbaipublicfiles.com/segment_anything/sam_vit_\(letter)_\(suffix).pth",
                                           pin: .sha256(digest), bytes: bytes),
                       licence: "Apache-2.0")
    }

    static let convolutional: [BackbonePreset] = [
        BackbonePreset(name: "resnet152", family: .resnet, architecture: .convolutional(.resnet(block: .bottleneck, blocks: [3, 8, 36, 3])),
                       inputSize: 224, weights: "torchvision ResNet152_Weights.IMAGENET1K_V1",
                       file: PublishedFile("https://download.pytorch.org/models/resnet152-394f9c45.pth",
                                           pin: .sha256("394f9c45966e3651a89bbb78a48410a6755854ce4a5ab64927cf1c7247f85e58")),
                       licence: "BSD-3-Clause (torchvision)"),
        BackbonePreset(name: "densenet201", family: .densenet, architecture: .convolutional(.densenet(layers: [6, 12, 48, 32])),
                       inputSize: 224, weights: "torchvision DenseNet201_Weights.IMAGENET1K_V1",
                       file: PublishedFile("https://download.pytorch.org/models/densenet201-c1103571.pth", pin: .sha256Prefix("c1103571")),
                       licence: "BSD-3-Clause (torchvision)"),
        BackbonePreset(name: "vgg19", family: .vgg, architecture: .convolutional(.vgg(convolutions: [2, 2, 4, 4, 4], batchNorm: false)),
                       inputSize: 224, weights: "torchvision VGG19_Weights.IMAGENET1K_V1",
                       file: PublishedFile("https://download.pytorch.org/models/vgg19-dcbb9e9d.pth",
                                           pin: .sha256("dcbb9e9dad569fff7a846263a77324fc34978fea2bfb039c012d710e1776ae44"), bytes: 574_673_361),
                       licence: "BSD-3-Clause (torchvision)"),
    ]
}
