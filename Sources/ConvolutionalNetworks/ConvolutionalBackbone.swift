import Checkpoints
import Foundation
import MedicalImaging
import TensorCore
import TensorKernels

/// The features a convolutional backbone gives for a batch of images.
public struct ConvolutionalFeatures: Sendable {
    /// The CLS-like vector `[N, D]`: ResNet and DenseNet the global average pool of the last map,
    /// VGG the penultimate classifier layer.
    public var pooled: Tensor
    /// The stage outputs `[N, C, H, W]` in `ConvolutionalArchitecture.stageNames` order (empty unless asked for).
    public var stages: [(name: String, map: Tensor)]
    /// The last stage's output as tokens `[N, h·w, C]`, pixels row-major: the patch tokens of the protocols.
    public var lastStageTokens: Tensor
}

/// A torchvision ResNet, DenseNet or VGG, loaded from the state dict users have (`.pth` from
/// `torch.save(model.state_dict())`, or `.safetensors`) and run in evaluation mode on NCHW batches.
///
/// The layout is inferred from the keys (`ConvolutionalArchitecture.infer`), the widths from the shapes;
/// a preset, when given, must match the keys. Batch norm uses the running statistics and is folded into
/// the convolution before it (`FoldedConvolution`); the network runs channels-last internally.
public struct ConvolutionalBackbone: Sendable {
    private enum Network: Sendable {
        case resnet(ResNet), densenet(DenseNet), vgg(VGG)
    }

    public let architecture: ConvolutionalArchitecture
    private let network: Network
    /// The learned parameters the backbone uses, as the checkpoint stores them (batch-norm running
    /// statistics and the classification head excluded).
    public let parameterCount: Int

    /// The length of the pooled feature vector (ResNet-152 2048, DenseNet-201 1920, VGG-19 4096).
    public var featureDimension: Int {
        switch network {
        case let .resnet(model): model.featureDimension
        case let .densenet(model): model.featureDimension
        case let .vgg(model): model.featureDimension
        }
    }

    /// The channels of the last stage output (ResNet-152 2048, DenseNet-201 1920, VGG-19 512).
    public var lastStageChannels: Int {
        switch network {
        case let .resnet(model): model.featureDimension
        case let .densenet(model): model.featureDimension
        case let .vgg(model): model.stages.last!.last!.outChannels
        }
    }

    /// A backbone from `stateDict`; throws when the keys fit no family, do not fit `preset`, or a
    /// tensor is missing, misshapen or left over (the classification head and batch-norm counters aside).
    public init(stateDict: StateDict, preset: ConvolutionalArchitecture? = nil) throws {
        var tensors = CheckpointTensors(stateDict)
        let architecture = try ConvolutionalArchitecture(inferringFrom: stateDict.tensors.mapValues(\.shape), preset: preset,
                                                         source: stateDict.source)
        switch architecture {
        case let .resnet(block, blocks): network = .resnet(try ResNet(block: block, blocks: blocks, tensors: &tensors))
        case let .densenet(layers): network = .densenet(try DenseNet(layers: layers, tensors: &tensors))
        case .vgg: network = .vgg(try VGG(architecture: architecture, tensors: &tensors))
        }
        try tensors.requireAllUsed(ignoring: architecture.headPrefixes)
        parameterCount = tensors.usedParameterCount
        self.architecture = architecture
    }

    /// A backbone from the checkpoint file at `url` (read by `CheckpointFile`).
    public init(contentsOf url: URL, preset: ConvolutionalArchitecture? = nil) throws {
        try self.init(stateDict: try CheckpointFile.read(contentsOf: url), preset: preset)
    }

    /// The features of `images` `[N, 3, H, W]` (preprocessed, e.g. by `evaluationPipeline`), with the
    /// stage outputs when `includeStages`.
    public func features(_ images: Tensor, includeStages: Bool = false, context: ComputeContext) throws -> ConvolutionalFeatures {
        let input = try FeatureMap(channelsFirst: images)
        guard input.channels == 3 else {
            throw ConvolutionalNetworkError("\(architecture) takes 3-channel images, got \(describeShape(images.shape))")
        }
        let (pooled, maps, last): (Tensor, [FeatureMap], FeatureMap)
        switch network {
        case let .resnet(model): (pooled, maps, last) = try model(input, keepStages: includeStages, context: context)
        case let .densenet(model): (pooled, maps, last) = try model(input, keepStages: includeStages, context: context)
        case let .vgg(model): (pooled, maps, last) = try model(input, keepStages: includeStages, context: context)
        }
        return ConvolutionalFeatures(pooled: pooled, stages: zip(architecture.stageNames, maps).map { ($0, $1.channelsFirst()) },
                                     lastStageTokens: last.values.reshaped([last.batch, last.height * last.width, last.channels]))
    }
}

extension ConvolutionalArchitecture {
    /// The evaluation transform torchvision's ImageNet weights were made with, after the modality's
    /// clipping and min–max scaling to [0, 1] and grey replicated to 3 channels: shorter side to 256
    /// (bilinear, antialiased), centre crop 224, ImageNet mean/std — the same for ResNet, DenseNet and VGG.
    public static func evaluationPipeline(modality: PreprocessingPipeline.Modality) -> PreprocessingPipeline {
        .evaluation(size: 224, fit: .shorterSideThenCenterCrop(shorterSide: 256), modality: modality)
    }
}
