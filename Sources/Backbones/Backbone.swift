import Checkpoints
import ConvolutionalNetworks
import Foundation
import MedicalImaging
import Models
import SegmentAnything
import TensorCore
import TensorKernels

/// Any backbone of the study, loaded from the checkpoint file its users have, behind one interface:
/// the evaluation transform of its family, the input sizes it takes, and `forward`, which gives the
/// class-like vector, the patch tokens and the chosen blocks' outputs (`BackboneOutput`).
///
/// The family comes from `preset` when given (and the checkpoint must fit it), else from the keys:
/// torchvision ResNet/DenseNet/VGG names, SAM's `image_encoder.*` (or its encoder's own names), else a
/// Vision Transformer layout (`LoadedBackbone`). Keys that fit none are an error naming the file.
public struct Backbone: Sendable {
    enum Network: Sendable {
        case transformer(VisionTransformer)
        case sam(SAMImageEncoder)
        case convolutional(ConvolutionalBackbone)
    }

    let network: Network
    public let family: BackboneFamily
    /// The preset the checkpoint was loaded as, when one was named.
    public let preset: BackbonePreset?
    /// The checkpoint's format; nil for a model built in memory.
    public let format: CheckpointFile.Format?
    /// The key layout the checkpoint was read in, e.g. `Hugging Face ViTModel`.
    public let layout: String
    /// Keys of the file that are not part of the backbone (heads, decoders, text towers), left out.
    public let droppedKeys: [String]

    /// The backbone in the checkpoint at `url`, checked against `preset` when given. `family` names the
    /// family when no preset does (keys shared by several families, such as Hugging Face ViT, MAE and MSN,
    /// are otherwise read as the first). For a Vision Transformer, `interpolation` overrides the
    /// position-embedding interpolation and `heads` the head count (for models whose width does not
    /// follow their family's rule, such as small test models).
    public init(contentsOf url: URL, preset: BackbonePreset? = nil, family: BackboneFamily? = nil,
                interpolation: VisionTransformerConfiguration.PositionInterpolation? = nil, heads: Int? = nil) throws {
        let format = try CheckpointFile.format(of: url)
        let stateDict = try CheckpointFile.read(contentsOf: url)
        switch preset?.family ?? family ?? Self.nonTransformerFamily(of: stateDict) {
        case .resnet?, .densenet?, .vgg?:
            let architecture: ConvolutionalArchitecture? = if case let .convolutional(value) = preset?.architecture { value } else { nil }
            let model = try ConvolutionalBackbone(stateDict: stateDict, preset: architecture)
            network = .convolutional(model)
            self.family = BackboneFamily(model.architecture)
            layout = "torchvision \(model.architecture.family)"
            droppedKeys = []
        case .sam?:
            let loaded = try LoadedSAMEncoder(stateDict: stateDict)
            network = .sam(loaded.model)
            self.family = .sam
            layout = "Segment Anything"
            droppedKeys = loaded.droppedKeys
        case let transformerFamily:
            if transformerFamily == nil, ViTKeyLayout.detect(stateDict.tensors.keys) == nil {
                let sample = stateDict.sortedKeys.prefix(3).joined(separator: ", ")
                throw CheckpointError(file: url.path, "holds no backbone RadProbe reads: its keys (\(sample)\(stateDict.tensors.count > 3 ? ", …" : "")) fit no Vision Transformer layout (\(ViTKeyLayout.allCases.map(\.description).joined(separator: ", "))), no torchvision ResNet, DenseNet or VGG, and no SAM image encoder")
            }
            let loaded = try LoadedBackbone(stateDict: stateDict, format: format, family: transformerFamily?.transformerFamily,
                                            interpolation: interpolation, heads: heads)
            network = .transformer(loaded.model)
            self.family = BackboneFamily(loaded.family)
            layout = loaded.layout
            droppedKeys = loaded.droppedKeys
        }
        if let preset { try Self.check(network, fits: preset, source: url.path) }
        self.format = format
        self.preset = preset
    }

    /// A Vision Transformer already in memory (a randomly initialised model for benchmarks, a model
    /// just trained) as a backbone of `family`.
    public init(_ model: VisionTransformer, family: BackboneFamily = .dinov2) {
        self.init(network: .transformer(model), family: family)
    }

    /// A SAM image encoder already in memory.
    public init(_ model: SAMImageEncoder) {
        self.init(network: .sam(model), family: .sam)
    }

    /// A torchvision network already in memory.
    public init(_ model: ConvolutionalBackbone) {
        self.init(network: .convolutional(model), family: BackboneFamily(model.architecture))
    }

    private init(network: Network, family: BackboneFamily) {
        self.network = network
        self.family = family
        preset = nil
        format = nil
        layout = "in memory"
        droppedKeys = []
    }

    /// The family of a state dict whose keys are torchvision's or SAM's; nil for anything else, which is
    /// read as a Vision Transformer (whose loader names the layouts it knows when the keys fit none).
    static func nonTransformerFamily(of stateDict: StateDict) -> BackboneFamily? {
        let shapes = stateDict.tensors.mapValues(\.shape)
        if let architecture = try? ConvolutionalArchitecture(inferringFrom: shapes, source: stateDict.source) {
            return BackboneFamily(architecture)
        }
        return LoadedSAMEncoder.holdsEncoder(keys: Set(shapes.keys)) ? .sam : nil
    }

    /// Refuses a checkpoint whose architecture differs from the preset's (a ViT-B file as `dinov2-vitl14`).
    static func check(_ network: Network, fits preset: BackbonePreset, source: String) throws {
        let differs: String? = switch (network, preset.architecture) {
        case let (.transformer(model), .transformer(expected)):
            model.configuration.sameArchitecture(as: expected) ? nil : model.configuration.sizeName
        case let (.sam(model), .sam(expected)):
            model.configuration == expected ? nil : model.configuration.sizeName
        case let (.convolutional(model), .convolutional(expected)):
            model.architecture == expected ? nil : model.architecture.description
        default: "another family"
        }
        if let differs {
            throw CheckpointError(file: source, "does not fit preset \(preset.name) (\(preset.family)): the checkpoint holds \(differs)")
        }
    }

    /// The Vision Transformer, for the protocols that train or inspect one (fine-tuning, segmentation
    /// with the backbone in the loop); nil for SAM and the CNNs.
    public var visionTransformer: VisionTransformer? {
        if case let .transformer(model) = network { return model }
        return nil
    }

    /// The architecture in words: `ViT-L/16`, `SAM ViT-L`, `resnet152`.
    public var architectureName: String {
        switch network {
        case let .transformer(model): model.configuration.sizeName
        case let .sam(model): model.configuration.sizeName
        case let .convolutional(model): model.architecture.description
        }
    }

    /// A one-line description: preset or family, architecture, layout.
    public var summary: String {
        "\(preset?.name ?? family.rawValue) — \(family), \(architectureName) (\(layout)\(format.map { " names, \($0.rawValue)" } ?? ""))"
    }

    public var parameterCount: Int {
        switch network {
        case let .transformer(model): model.parameterCount
        case let .sam(model): model.configuration.parameterCount
        case let .convolutional(model): model.parameterCount
        }
    }

    /// The width of the class-like vector `D`.
    public var featureWidth: Int {
        switch network {
        case let .transformer(model): model.configuration.width
        case let .sam(model): model.configuration.neckChannels
        case let .convolutional(model): model.featureDimension
        }
    }

    /// The width of a patch token (differs from `featureWidth` for VGG: pool5 512 vs 4096).
    public var patchWidth: Int {
        switch network {
        case let .transformer(model): model.configuration.width
        case let .sam(model): model.configuration.neckChannels
        case let .convolutional(model): model.lastStageChannels
        }
    }

    /// How many blocks `forward` can give outputs of: a transformer's depth; SAM and the CNNs give one
    /// level (the neck, the last stage).
    public var layerCount: Int {
        if case let .transformer(model) = network { return model.configuration.depth }
        return 1
    }

    /// The default input size: the preset's, else SAM's fixed size, else 224.
    public var defaultInputSize: Int {
        if let preset { return preset.inputSize }
        if case let .sam(model) = network { return model.configuration.imageSize }
        return 224
    }

    /// Throws unless the backbone takes square inputs of side `size`: a multiple of the patch size for a
    /// Vision Transformer, exactly the encoder's size for SAM, at least 32 for the CNNs.
    public func checkInputSize(_ size: Int) throws {
        switch network {
        case let .transformer(model):
            let patch = model.configuration.patchSize
            guard size > 0, size % patch == 0 else {
                throw BackboneError("input size \(size) is not a multiple of the patch size \(patch) of \(architectureName); use e.g. \(max(size / patch, 1) * patch) or \((size / patch + 1) * patch)")
            }
        case let .sam(model):
            let side = model.configuration.imageSize
            guard size == side else {
                throw BackboneError("the SAM image encoder takes \(side)×\(side) inputs only (its position embedding is not interpolated), not \(size)×\(size)")
            }
        case .convolutional:
            guard size >= 32 else { throw BackboneError("input size \(size) is too small for \(architectureName): at least 32") }
        }
    }

    /// The side of the patch grid at input `size` (`N` = side²).
    public func gridSide(inputSize size: Int) -> Int {
        switch network {
        case let .transformer(model): size / model.configuration.patchSize
        case let .sam(model): size / model.configuration.patchSize
        case let .convolutional(model): model.architecture.lastStageSide(inputSide: size)
        }
    }

    /// The family's evaluation transform (`BackboneFamily.preprocessing`).
    public func preprocessing(size: Int, modality: PreprocessingPipeline.Modality) -> PreprocessingPipeline {
        family.preprocessing(size: size, modality: modality)
    }

    /// The features of `images` `[B, 3, S, S]` (preprocessed): final outputs, and those of the last
    /// `lastLayers` blocks (at most `layerCount`), with the final norm when `normedLayers`.
    public func forward(_ images: Tensor, lastLayers: Int = 0, normedLayers: Bool = true, context: ComputeContext) throws -> BackboneOutput {
        guard images.rank == 4 else { throw BackboneError("input has shape \(describeShape(images.shape)); expected [B, 3, H, W]") }
        guard (0...layerCount).contains(lastLayers) else {
            throw BackboneError("\(architectureName) gives \(layerCount) layer\(layerCount == 1 ? "" : "s") of features; \(lastLayers) were asked for")
        }
        switch network {
        case let .transformer(model):
            let (features, layers) = try model.forward(images, layers: model.lastBlocks(lastLayers), normedLayers: normedLayers, context: context)
            return BackboneOutput(cls: features.cls, patches: features.patches, registers: features.registers,
                                  layers: layers.map { .init(index: $0.block, cls: $0.cls, patches: $0.patches) })
        case let .sam(model):
            let output = try model.forward(images, context: context)
            return single(cls: output.pooled, patches: output.neckTokens, index: model.configuration.depth, lastLayers: lastLayers)
        case let .convolutional(model):
            let output = try model.features(images, context: context)
            return single(cls: output.pooled, patches: output.lastStageTokens, index: model.architecture.stageNames.count - 1, lastLayers: lastLayers)
        }
    }

    /// Output with the final features as its one layer when a layer is asked for.
    private func single(cls: Tensor, patches: Tensor, index: Int, lastLayers: Int) -> BackboneOutput {
        BackboneOutput(cls: cls, patches: patches, registers: nil,
                       layers: lastLayers > 0 ? [.init(index: index, cls: cls, patches: patches)] : [])
    }
}

/// A backbone that cannot take an input or a request, with the reason.
public struct BackboneError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

extension SAMEncoderConfiguration {
    /// `SAM ViT-L` for the official sizes, else `SAM ViT (width W, depth N)`.
    var sizeName: String {
        presetName ?? "SAM ViT (width \(width), depth \(depth))"
    }
}
