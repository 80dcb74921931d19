import Convolution
import TensorCore
import TensorKernels

/// torchvision's DenseNet in evaluation mode, up to the global average pool: stem `conv0` 7×7/2 +
/// `norm0` + ReLU, 3×3/2 max pool (padding 1); dense blocks whose layer `l` appends
/// `conv2(ReLU(norm2(conv1(ReLU(norm1(x))))))` (1×1 to `bn_size·k` channels, then 3×3 to the growth `k`)
/// to the concatenation `x` of the block input and all earlier layers' outputs; between blocks a
/// transition `AvgPool2d(2)(conv(ReLU(norm(x))))` (1×1, halving the channels); finally
/// `ReLU(norm5(x))` and the mean over pixels: `[N, 1920]` for DenseNet-201, the model's output with
/// `classifier` replaced by the identity.
///
/// Each block writes into one channels-last buffer of its final width: layer `l` reads the leading
/// channels (the concatenation so far) and writes its `k` channels after them, so nothing is copied.
/// `norm2` is folded into `conv1`; `norm1` and the transitions' `norm` act on shared features and run
/// while gathering (ReLU(norm1)) or before the pool. The transition pools before its 1×1 convolution:
/// both are linear per pixel, so they commute, and the convolution then sees a quarter of the pixels.
struct DenseNet: Sendable {
    struct Layer: Sendable {
        /// `norm1`, applied (with ReLU) to the layer's input as it is read.
        let inputNorm: ChannelAffine
        /// `conv1` with `norm2` folded in, then ReLU.
        let bottleneck: FoldedConvolution
        /// `conv2`, 3×3, padding 1.
        let growth: FoldedConvolution
    }

    struct Transition: Sendable {
        let norm: ChannelAffine
        let convolution: FoldedConvolution
    }

    let stem: FoldedConvolution
    let blocks: [[Layer]]
    let transitions: [Transition]
    let finalNorm: ChannelAffine

    var featureDimension: Int { finalNorm.channels }

    init(layers layerCounts: [Int], tensors: inout CheckpointTensors) throws {
        let (stemWeight, _) = try tensors.convolution("features.conv0", inChannels: 3, kernel: 7, hasBias: false)
        stem = FoldedConvolution(weight: stemWeight, bias: nil, normalization: try tensors.batchNorm("features.norm0", channels: stemWeight.shape[0]),
                                 stride: 2, padding: 3, appliesReLU: true)
        var channels = stem.outChannels
        var blocks: [[Layer]] = [], transitions: [Transition] = []
        for (block, count) in layerCounts.enumerated() {
            var layers: [Layer] = []
            for layer in 1...count {
                let prefix = "features.denseblock\(block + 1).denselayer\(layer)"
                let inputNorm = try tensors.batchNorm("\(prefix).norm1", channels: channels)
                let (weight1, _) = try tensors.convolution("\(prefix).conv1", inChannels: channels, kernel: 1, hasBias: false)
                let bottleneck = FoldedConvolution(weight: weight1, bias: nil,
                                                   normalization: try tensors.batchNorm("\(prefix).norm2", channels: weight1.shape[0]),
                                                   stride: 1, padding: 0, appliesReLU: true)
                let (weight2, _) = try tensors.convolution("\(prefix).conv2", inChannels: weight1.shape[0], kernel: 3, hasBias: false)
                let growth = FoldedConvolution(weight: weight2, bias: nil, normalization: nil, stride: 1, padding: 1, appliesReLU: false)
                layers.append(Layer(inputNorm: inputNorm, bottleneck: bottleneck, growth: growth))
                channels += growth.outChannels
            }
            blocks.append(layers)
            if block + 1 < layerCounts.count {
                let prefix = "features.transition\(block + 1)"
                let norm = try tensors.batchNorm("\(prefix).norm", channels: channels)
                let (weight, _) = try tensors.convolution("\(prefix).conv", inChannels: channels, kernel: 1, hasBias: false)
                transitions.append(Transition(norm: norm, convolution: FoldedConvolution(weight: weight, bias: nil, normalization: nil, stride: 1,
                                                                                         padding: 0, appliesReLU: false)))
                channels = weight.shape[0]
            }
        }
        (self.blocks, self.transitions) = (blocks, transitions)
        finalNorm = try tensors.batchNorm("features.norm5", channels: channels)
    }

    /// The pooled features `[N, D]`, each dense block's output map when `keepStages`, and the last block's.
    func callAsFunction(_ input: FeatureMap, keepStages: Bool, context: ComputeContext) throws -> (pooled: Tensor, stages: [FeatureMap], last: FeatureMap) {
        var x = try ChannelsLastPooling.maxPool(try stem(input, context: context), kernel: 3, stride: 2, padding: 1, context: context)
        var outputs: [FeatureMap] = []
        for (index, block) in blocks.enumerated() {
            x = Self.denseBlock(block, x, context: context)
            if keepStages { outputs.append(x) }
            if index < transitions.count {
                let transition = transitions[index]
                let pooled = try ChannelsLastPooling.averagePool(Self.activated(x, transition.norm, context: context), kernel: 2, stride: 2,
                                                                 context: context)
                x = try transition.convolution(pooled, context: context)
            }
        }
        return (ChannelsLastPooling.globalAveragePool(Self.activated(x, finalNorm, context: context), context: context), outputs, x)
    }

    /// The block's output: `input` followed by every layer's new channels, `[N·H·W, C + L·k]`.
    private static func denseBlock(_ layers: [Layer], _ input: FeatureMap, context: ComputeContext) -> FeatureMap {
        let total = input.channels + layers.reduce(0) { $0 + $1.growth.outChannels }
        let (n, h, w) = (input.batch, input.height, input.width)
        return FeatureMap(batch: n, height: h, width: w, channels: total) { buffer in
            input.values.withUnsafeBufferPointer { x in
                for pixel in 0..<input.pixels {
                    (buffer.baseAddress! + pixel * total).update(from: x.baseAddress! + pixel * input.channels, count: input.channels)
                }
            }
            var channels = input.channels
            for layer in layers {
                let width = layer.bottleneck.outChannels
                let bottleneck = Tensor(uninitializedShape: [input.pixels, width]) { middle in
                    layer.bottleneck.run(PixelRows(base: UnsafePointer(buffer.baseAddress!), stride: total), batch: n, height: h, width: w,
                                         prologue: layer.inputNorm, into: middle.baseAddress!, outputStride: width, residual: nil,
                                         context: context)
                }
                bottleneck.withUnsafeBufferPointer { middle in
                    layer.growth.run(PixelRows(base: middle.baseAddress!, stride: width), batch: n, height: h, width: w, prologue: nil,
                                     into: buffer.baseAddress! + channels, outputStride: total, residual: nil, context: context)
                }
                channels += layer.growth.outChannels
            }
        }
    }

    /// `ReLU(norm(x))` for every pixel.
    private static func activated(_ input: FeatureMap, _ norm: ChannelAffine, context: ComputeContext) -> FeatureMap {
        let channels = input.channels
        return FeatureMap(batch: input.batch, height: input.height, width: input.width, channels: channels) { output in
            input.values.withUnsafeBufferPointer { x in
                context.parallelRanges(input.pixels) { pixels in
                    for p in pixels {
                        for c in 0..<channels { output[p * channels + c] = max(norm.scale[c] * x[p * channels + c] + norm.shift[c], 0) }
                    }
                }
            }
        }
    }
}
