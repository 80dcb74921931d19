import Convolution
import Randomness
import TensorCore
import TensorKernels

/// The study's U-Net decoder on the normed patch grids of a frozen backbone's last five blocks.
///
/// Inputs: five grids `[N, D, h, w]`, oldest block first; the last is the bottleneck `x₀`. Up-block
/// `i = 1…4` takes the skip from grid `4 − i` (the deepest skip first):
/// `xᵢ = fuseᵢ(cat[upᵢ(xᵢ₋₁), resize(skipᵢ(grid₄₋ᵢ), to upᵢ's grid)])`, where `upᵢ` is
/// `ConvTranspose2d(cᵢ₋₁ → cᵢ, kernel 2, stride 2)`, `skipᵢ` is conv3×3-BN-ReLU `D → cᵢ` on the patch grid,
/// the resize is bilinear (align_corners=False) to `2ⁱh × 2ⁱw`, and `fuseᵢ` is conv3×3-BN-ReLU
/// `2cᵢ → cᵢ`. Then `head`, a 1×1 conv `c₄ → K`, and a bilinear resize to the image give logits
/// `[N, K, H, W]`. Channels follow `UNetDecoderConfiguration` (default `D → D/2 → D/4 → D/8 → D/16 → K`).
///
/// State-dict keys, as the PyTorch module with `skips`, `ups`, `fuses` (`nn.ModuleList`s) and `head`:
/// `skips.{i}.conv.weight` `[cᵢ₊₁, D, 3, 3]`, `skips.{i}.conv.bias`, `skips.{i}.bn.{weight, bias, running_mean, running_var}`
/// `[cᵢ₊₁]`; `ups.{i}.weight` `[cᵢ, cᵢ₊₁, 2, 2]`, `ups.{i}.bias` `[cᵢ₊₁]`; `fuses.{i}.conv.weight` `[cᵢ₊₁, 2cᵢ₊₁, 3, 3]`,
/// `fuses.{i}.conv.bias`, `fuses.{i}.bn.*` `[cᵢ₊₁]`; `head.weight` `[K, c₄, 1, 1]`, `head.bias` `[K]` (`i = 0…3`).
public struct UNetDecoder: Sendable, ParameterContainer {
    public let configuration: UNetDecoderConfiguration
    /// `skipᵢ`, reducing a grid `D → cᵢ`.
    public var skips: [ConvNormReLU]
    /// `upᵢ`: weight `[cᵢ₋₁, cᵢ, 2, 2]`, bias `[cᵢ]`.
    public var ups: [ConvTranspose2d]
    /// `fuseᵢ`, `2cᵢ → cᵢ`.
    public var fuses: [ConvNormReLU]
    /// weight `[K, c₄, 1, 1]`, bias `[K]`.
    public var head: Conv2d

    /// What `backward` needs from `forwardTraining`.
    public struct Cache: Sendable {
        let stages: [StageCache]
        let head: Conv2d.Cache
        let resize: BilinearResize
        let resizeCache: BilinearResize.Cache
    }

    struct StageCache: Sendable {
        let up: ConvTranspose2d.Cache
        let skip: ConvNormReLU.Cache
        let skipResize: BilinearResize
        let skipResizeCache: BilinearResize.Cache
        let concatenation: ChannelConcatenation.Cache
        let fuse: ConvNormReLU.Cache
    }

    /// A decoder initialised as PyTorch initialises the module, drawn from `generator` in state-dict order.
    public init(configuration: UNetDecoderConfiguration, generator: inout SeededGenerator) throws {
        self.configuration = configuration
        let d = configuration.embedDimension, channels = [d] + configuration.stageChannels
        skips = try configuration.stageChannels.map { try ConvNormReLU(inputs: d, outputs: $0, generator: &generator) }
        ups = try (1...UNetDecoderConfiguration.depth).map { i in
            let (weight, bias) = KaimingUniform.parameters(weightShape: [channels[i - 1], channels[i], 2, 2], biasExtent: channels[i],
                                                           generator: &generator)
            return try ConvTranspose2d(weight: weight, bias: bias, stride: 2)
        }
        fuses = try configuration.stageChannels.map { try ConvNormReLU(inputs: 2 * $0, outputs: $0, generator: &generator) }
        let (weight, bias) = KaimingUniform.parameters(weightShape: [configuration.classes, channels.last!, 1, 1],
                                                       biasExtent: configuration.classes, generator: &generator)
        head = try Conv2d(weight: weight, bias: bias)
    }

    public mutating func visitParameters<V: ParameterVisitor>(_ visitor: inout V, scope: ParameterScope) {
        for i in skips.indices { skips[i].visitParameters(&visitor, scope: scope.scope("skips").scope("\(i)")) }
        for i in ups.indices { ups[i].visitParameters(&visitor, scope: scope.scope("ups").scope("\(i)")) }
        for i in fuses.indices { fuses[i].visitParameters(&visitor, scope: scope.scope("fuses").scope("\(i)")) }
        head.visitParameters(&visitor, scope: scope.scope("head"))
    }

    private func validate(_ grids: [Tensor]) throws {
        guard grids.count == UNetDecoderConfiguration.inputCount else {
            throw SegmentationDecoderError("UNetDecoder: needs the grids of the last \(UNetDecoderConfiguration.inputCount) blocks, got \(grids.count)")
        }
        _ = try FeatureGrids.validate(grids, channels: configuration.embedDimension, decoder: "UNetDecoder")
    }

    /// Training mode (BatchNorm on batch statistics, running statistics updated): logits
    /// `[N, K, imageSize.height, imageSize.width]` of five `grids` `[N, D, h, w]`, and the cache for `backward`.
    public mutating func forwardTraining(_ grids: [Tensor], imageSize: Size2D, context: ComputeContext) throws -> (output: Tensor, cache: Cache) {
        try validate(grids)
        var x = grids[UNetDecoderConfiguration.depth]
        var stages: [StageCache] = []
        for i in 0..<UNetDecoderConfiguration.depth {
            let (upsampled, upCache) = try ups[i].forward(x, context: context)
            let (skip, skipCache) = try skips[i].forwardTraining(grids[UNetDecoderConfiguration.depth - 1 - i], context: context)
            let skipResize = try BilinearResize(outputHeight: upsampled.shape[2], outputWidth: upsampled.shape[3])
            let (resized, skipResizeCache) = try skipResize.forward(skip, context: context)
            let (joined, concatenation) = try ChannelConcatenation.forward([upsampled, resized])
            let fuseCache: ConvNormReLU.Cache
            (x, fuseCache) = try fuses[i].forwardTraining(joined, context: context)
            stages.append(StageCache(up: upCache, skip: skipCache, skipResize: skipResize, skipResizeCache: skipResizeCache,
                                     concatenation: concatenation, fuse: fuseCache))
        }
        let (logits, headCache) = try head.forward(x, context: context)
        let resize = try BilinearResize(outputHeight: imageSize.height, outputWidth: imageSize.width)
        let (output, resizeCache) = try resize.forward(logits, context: context)
        return (output, Cache(stages: stages, head: headCache, resize: resize, resizeCache: resizeCache))
    }

    /// Evaluation mode (BatchNorm on running statistics): logits `[N, K, imageSize.height, imageSize.width]`.
    public func forwardInference(_ grids: [Tensor], imageSize: Size2D, context: ComputeContext) throws -> Tensor {
        try validate(grids)
        var x = grids[UNetDecoderConfiguration.depth]
        for i in 0..<UNetDecoderConfiguration.depth {
            let upsampled = try ups[i].forward(x, context: context).output
            let skip = try skips[i].forwardInference(grids[UNetDecoderConfiguration.depth - 1 - i], context: context)
            let resized = try BilinearResize(outputHeight: upsampled.shape[2], outputWidth: upsampled.shape[3]).forward(skip, context: context).output
            x = try fuses[i].forwardInference(try ChannelConcatenation.forward([upsampled, resized]).output, context: context)
        }
        let logits = try head.forward(x, context: context).output
        return try BilinearResize(outputHeight: imageSize.height, outputWidth: imageSize.width).forward(logits, context: context).output
    }

    /// Every trainable parameter's gradient for `outputGradient` `[N, K, H, W]`; with `inputGradients` also
    /// `∂L/∂grid` for the five grids (not needed for a frozen backbone).
    public func backward(_ outputGradient: Tensor, cache: Cache, inputGradients: Bool = false, context: ComputeContext) throws -> DecoderGradients {
        let depth = UNetDecoderConfiguration.depth
        guard cache.stages.count == depth else { throw SegmentationDecoderError("UNetDecoder: the cache holds \(cache.stages.count) stages, not \(depth)") }
        var gradients: [String: Tensor] = [:]
        var grids = [Tensor?](repeating: nil, count: UNetDecoderConfiguration.inputCount)
        let logits = try cache.resize.backward(outputGradient, cache: cache.resizeCache, context: context)
        var x = try head.backward(logits, cache: cache.head, needsInput: true, scope: ParameterScope("head."), gradients: &gradients, context: context)!
        for i in (0..<depth).reversed() {
            let stage = cache.stages[i]
            let joined = try fuses[i].backward(x, cache: stage.fuse, needsInput: true, scope: ParameterScope("fuses.\(i)."),
                                               gradients: &gradients, context: context)!
            let parts = try ChannelConcatenation.backward(joined, cache: stage.concatenation)
            let skip = try stage.skipResize.backward(parts[1], cache: stage.skipResizeCache, context: context)
            grids[depth - 1 - i] = try skips[i].backward(skip, cache: stage.skip, needsInput: inputGradients, scope: ParameterScope("skips.\(i)."),
                                                         gradients: &gradients, context: context)
            let up = try ups[i].backward(parts[0], cache: stage.up, context: context)
            gradients["ups.\(i).weight"] = up.weight
            gradients["ups.\(i).bias"] = up.bias
            x = up.input
        }
        grids[depth] = x
        return DecoderGradients(parameters: gradients, inputs: inputGradients ? grids.map { $0! } : nil)
    }
}
