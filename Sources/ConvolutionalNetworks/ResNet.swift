import Convolution
import TensorCore
import TensorKernels

/// torchvision's ResNet (v1.5: the stride of a Bottleneck sits on its 3×3 convolution) in evaluation
/// mode, up to the global average pool: stem `conv1` 7×7/2 + `bn1` + ReLU, 3×3/2 max pool (padding 1),
/// stages `layer1…layer4` (strides 1, 2, 2, 2) of residual blocks
/// `y = ReLU(F(x) + shortcut(x))` (`F`: BasicBlock 3×3 → 3×3, Bottleneck 1×1 → 3×3 → 1×1, each
/// convolution with its batch norm folded in, ReLU between; `shortcut`: `downsample` = 1×1 convolution
/// + batch norm when present, else the identity), then the mean over pixels: `[N, 4·512]` for
/// Bottleneck presets (2048), `[N, 512]` for BasicBlock ones, what the model gives with `fc` replaced
/// by the identity.
struct ResNet: Sendable {
    /// One residual block; `convolutions.last` adds the shortcut and applies the ReLU.
    struct Block: Sendable {
        let convolutions: [FoldedConvolution]
        let downsample: FoldedConvolution?

        func callAsFunction(_ input: FeatureMap, context: ComputeContext) throws -> FeatureMap {
            let shortcut = try downsample?(input, context: context) ?? input
            var y = input
            for convolution in convolutions.dropLast() { y = try convolution(y, context: context) }
            return try convolutions.last!(y, residual: shortcut, context: context)
        }
    }

    let stem: FoldedConvolution
    /// `layer1…layer4`.
    let stages: [[Block]]

    /// The channels of the pooled feature vector.
    var featureDimension: Int { stages.last?.last?.convolutions.last?.outChannels ?? stem.outChannels }

    init(block kind: ConvolutionalArchitecture.ResidualBlock, blocks: [Int], tensors: inout CheckpointTensors) throws {
        stem = try Self.convolution("conv1", norm: "bn1", inChannels: 3, kernel: 7, stride: 2, padding: 3, relu: true, &tensors)
        var channels = stem.outChannels
        var stages: [[Block]] = []
        for (stage, count) in blocks.enumerated() {
            stages.append(try (0..<count).map { index in
                let prefix = "layer\(stage + 1).\(index)"
                let stride = index == 0 && stage > 0 ? 2 : 1
                let kernels = kind == .basic ? [3, 3] : [1, 3, 1]
                var convolutions: [FoldedConvolution] = []
                var width = channels
                for (position, kernel) in kernels.enumerated() {
                    let strided = kind == .basic ? position == 0 : position == 1
                    let convolution = try Self.convolution("\(prefix).conv\(position + 1)", norm: "\(prefix).bn\(position + 1)",
                                                           inChannels: width, kernel: kernel, stride: strided ? stride : 1,
                                                           padding: kernel / 2, relu: true, &tensors)
                    convolutions.append(convolution)
                    width = convolution.outChannels
                }
                let downsample = tensors.tensors["\(prefix).downsample.0.weight"] == nil ? nil
                    : try Self.convolution("\(prefix).downsample.0", norm: "\(prefix).downsample.1", inChannels: channels, kernel: 1,
                                           stride: stride, padding: 0, relu: false, &tensors)
                guard (downsample?.outChannels ?? channels) == width, downsample != nil || stride == 1 else {
                    throw ConvolutionalNetworkError("\(tensors.source): block \(prefix) maps \(channels) to \(width) channels\(stride > 1 ? " with stride \(stride)" : "") but has no downsample that matches")
                }
                channels = width
                return Block(convolutions: convolutions, downsample: downsample)
            })
        }
        self.stages = stages
    }

    private static func convolution(_ prefix: String, norm: String, inChannels: Int, kernel: Int, stride: Int, padding: Int,
                                    relu: Bool, _ tensors: inout CheckpointTensors) throws -> FoldedConvolution {
        let (weight, _) = try tensors.convolution(prefix, inChannels: inChannels, kernel: kernel, hasBias: false)
        let normalization = try tensors.batchNorm(norm, channels: weight.shape[0])
        return FoldedConvolution(weight: weight, bias: nil, normalization: normalization, stride: Size2D(stride),
                                 padding: Size2D(padding), appliesReLU: relu)
    }

    /// The pooled features `[N, D]`, each stage's output map when `keepStages`, and the last stage's.
    func callAsFunction(_ input: FeatureMap, keepStages: Bool, context: ComputeContext) throws -> (pooled: Tensor, stages: [FeatureMap], last: FeatureMap) {
        var x = try ChannelsLastPooling.maxPool(try stem(input, context: context), kernel: 3, stride: 2, padding: 1, context: context)
        var outputs: [FeatureMap] = []
        for stage in stages {
            for block in stage { x = try block(x, context: context) }
            if keepStages { outputs.append(x) }
        }
        return (ChannelsLastPooling.globalAveragePool(x, context: context), outputs, x)
    }
}
