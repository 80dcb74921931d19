/// The layout of a torchvision convolutional network: what its state-dict keys determine. Channel widths
/// are read from the tensors' shapes, so a layout also describes narrower models with the same blocks.
///
/// - ResNet: the residual block (`BasicBlock`: two 3×3 convolutions; `Bottleneck`: 1×1, 3×3, 1×1 with 4×
///   expansion) and the blocks in each of the stages `layer1…layer4`.
/// - DenseNet: the dense layers in each block `denseblock1…`.
/// - VGG: the 3×3 convolutions in each stage (each stage ends with a 2×2 max pool), and whether each is
///   followed by batch norm.
public enum ConvolutionalArchitecture: Hashable, Sendable, CustomStringConvertible {
    /// ResNet's residual block.
    public enum ResidualBlock: String, Hashable, Sendable {
        case basic, bottleneck
    }

    case resnet(block: ResidualBlock, blocks: [Int])
    case densenet(layers: [Int])
    case vgg(convolutions: [Int], batchNorm: Bool)

    /// torchvision's presets, by the names of its model builders.
    public static let presets: [(name: String, architecture: ConvolutionalArchitecture)] = [
        ("resnet18", .resnet(block: .basic, blocks: [2, 2, 2, 2])),
        ("resnet34", .resnet(block: .basic, blocks: [3, 4, 6, 3])),
        ("resnet50", .resnet(block: .bottleneck, blocks: [3, 4, 6, 3])),
        ("resnet101", .resnet(block: .bottleneck, blocks: [3, 4, 23, 3])),
        ("resnet152", .resnet(block: .bottleneck, blocks: [3, 8, 36, 3])),
        ("densenet121", .densenet(layers: [6, 12, 24, 16])),
        ("densenet161", .densenet(layers: [6, 12, 36, 24])),
        ("densenet169", .densenet(layers: [6, 12, 32, 32])),
        ("densenet201", .densenet(layers: [6, 12, 48, 32])),
        ("vgg11", .vgg(convolutions: [1, 1, 2, 2, 2], batchNorm: false)),
        ("vgg13", .vgg(convolutions: [2, 2, 2, 2, 2], batchNorm: false)),
        ("vgg16", .vgg(convolutions: [2, 2, 3, 3, 3], batchNorm: false)),
        ("vgg19", .vgg(convolutions: [2, 2, 4, 4, 4], batchNorm: false)),
        ("vgg11_bn", .vgg(convolutions: [1, 1, 2, 2, 2], batchNorm: true)),
        ("vgg13_bn", .vgg(convolutions: [2, 2, 2, 2, 2], batchNorm: true)),
        ("vgg16_bn", .vgg(convolutions: [2, 2, 3, 3, 3], batchNorm: true)),
        ("vgg19_bn", .vgg(convolutions: [2, 2, 4, 4, 4], batchNorm: true)),
    ]

    /// The preset called `name` (e.g. `resnet152`), or an error listing the presets.
    public init(preset name: String) throws {
        guard let preset = Self.presets.first(where: { $0.name == name.lowercased() }) else {
            throw ConvolutionalNetworkError("unknown convolutional preset \(name); known: \(Self.presets.map(\.name).joined(separator: ", "))")
        }
        self = preset.architecture
    }

    /// The preset's name, or nil for a layout torchvision has no builder for.
    public var presetName: String? { Self.presets.first { $0.architecture == self }?.name }

    /// `ResNet`, `DenseNet` or `VGG`.
    public var family: String {
        switch self {
        case .resnet: "ResNet"
        case .densenet: "DenseNet"
        case .vgg: "VGG"
        }
    }

    /// The preset name, or the layout, e.g. `ResNet (bottleneck blocks [2, 1, 1, 1])`.
    public var description: String {
        if let presetName { return presetName }
        switch self {
        case let .resnet(block, blocks): return "ResNet (\(block.rawValue) blocks \(blocks))"
        case let .densenet(layers): return "DenseNet (dense layers \(layers))"
        case let .vgg(convolutions, batchNorm): return "VGG (convolutions \(convolutions)\(batchNorm ? ", batch norm" : ""))"
        }
    }

    /// The names of the stage outputs the backbone gives, in order: ResNet `layer1…layer4`, DenseNet
    /// `denseblock1…`, VGG `pool1…` (the output of each stage's max pool).
    public var stageNames: [String] {
        switch self {
        case let .resnet(_, blocks): (1...blocks.count).map { "layer\($0)" }
        case let .densenet(layers): (1...layers.count).map { "denseblock\($0)" }
        case let .vgg(convolutions, _): (1...convolutions.count).map { "pool\($0)" }
        }
    }

    /// The learned parameters of the backbone at torchvision's widths (`parameterShapes` less the
    /// batch-norm running statistics; the last classifier layer is not part of the backbone).
    public var parameterCount: Int {
        parameterShapes.filter { !$0.key.hasSuffix("running_mean") && !$0.key.hasSuffix("running_var") }
            .reduce(0) { $0 + $1.shape.reduce(1, *) }
    }

    /// The side of the last stage output for a square input of side `side`: ResNet and DenseNet halve
    /// it five times as their stride-2 layers do (`(x − 1)/2 + 1` for the padded convolutions and max
    /// pool, `x/2` for DenseNet's average-pooling transitions), VGG's five max pools `x/2` each.
    public func lastStageSide(inputSide side: Int) -> Int {
        let halveWithPadding = { (x: Int) in (x - 1) / 2 + 1 }
        switch self {
        case let .resnet(_, blocks):
            return (0..<1 + blocks.count).reduce(side) { x, _ in halveWithPadding(x) }
        case let .densenet(layers):
            return (0..<layers.count - 1).reduce(halveWithPadding(halveWithPadding(side))) { x, _ in x / 2 }
        case let .vgg(convolutions, _):
            return (0..<convolutions.count).reduce(side) { x, _ in x / 2 }
        }
    }

    /// Key prefixes of the classification head, which the backbones do not use and a checkpoint may lack
    /// or have in any shape (ResNet `fc.`, DenseNet `classifier.`, VGG's last layer `classifier.6.`).
    var headPrefixes: [String] {
        switch self {
        case .resnet: ["fc."]
        case .densenet: ["classifier."]
        case .vgg: ["classifier.6."]
        }
    }

    /// Every state-dict key the backbone needs (normalised names, no `num_batches_tracked`), in module order.
    public var requiredKeys: [String] { parameterShapes.map(\.key) }

    /// The keys the backbone needs with their shapes at torchvision's widths (ResNet stages 64·2ˢ wide,
    /// Bottleneck expansion 4; DenseNet growth 32 from 64 stem channels, DenseNet-161's layout growth 48
    /// from 96, bottlenecks 4× the growth; VGG 64, 128, 256, 512, 512 channels and 4096 hidden units).
    public var parameterShapes: [(key: String, shape: [Int])] {
        var shapes: [(key: String, shape: [Int])] = []
        func convolution(_ key: String, _ out: Int, _ inChannels: Int, _ kernel: Int) { shapes.append((key + ".weight", [out, inChannels, kernel, kernel])) }
        func normalization(_ prefix: String, _ channels: Int) {
            for name in ["weight", "bias", "running_mean", "running_var"] { shapes.append(("\(prefix).\(name)", [channels])) }
        }
        switch self {
        case let .resnet(block, blocks):
            convolution("conv1", 64, 3, 7)
            normalization("bn1", 64)
            var channels = 64
            let expansion = block == .basic ? 1 : 4
            for (stage, count) in blocks.enumerated() {
                let planes = 64 << stage
                for index in 0..<count {
                    let prefix = "layer\(stage + 1).\(index)"
                    let layout = block == .basic ? [(planes, 3), (planes, 3)] : [(planes, 1), (planes, 3), (planes * 4, 1)]
                    var width = channels
                    for (position, (out, kernel)) in layout.enumerated() {
                        convolution("\(prefix).conv\(position + 1)", out, width, kernel)
                        normalization("\(prefix).bn\(position + 1)", out)
                        width = out
                    }
                    if index == 0, stage > 0 || channels != planes * expansion {
                        convolution("\(prefix).downsample.0", planes * expansion, channels, 1)
                        normalization("\(prefix).downsample.1", planes * expansion)
                    }
                    channels = planes * expansion
                }
            }
        case let .densenet(layers):
            let (growth, stem) = layers == [6, 12, 36, 24] ? (48, 96) : (32, 64)
            convolution("features.conv0", stem, 3, 7)
            normalization("features.norm0", stem)
            var channels = stem
            for (block, count) in layers.enumerated() {
                for layer in 1...count {
                    let prefix = "features.denseblock\(block + 1).denselayer\(layer)"
                    normalization("\(prefix).norm1", channels)
                    convolution("\(prefix).conv1", 4 * growth, channels, 1)
                    normalization("\(prefix).norm2", 4 * growth)
                    convolution("\(prefix).conv2", growth, 4 * growth, 3)
                    channels += growth
                }
                if block < layers.count - 1 {
                    normalization("features.transition\(block + 1).norm", channels)
                    convolution("features.transition\(block + 1).conv", channels / 2, channels, 1)
                    channels /= 2
                }
            }
            normalization("features.norm5", channels)
        case let .vgg(_, batchNorm):
            var channels = 3
            for (stage, indices) in vggFeatureIndices.enumerated() {
                let width = min(64 << stage, 512)
                for index in indices {
                    convolution("features.\(index)", width, channels, 3)
                    shapes.append(("features.\(index).bias", [width]))
                    if batchNorm { normalization("features.\(index + 1)", width) }
                    channels = width
                }
            }
            shapes += [("classifier.0.weight", [4096, channels * 49]), ("classifier.0.bias", [4096]),
                       ("classifier.3.weight", [4096, 4096]), ("classifier.3.bias", [4096])]
        }
        return shapes
    }

    /// The index of the convolution module in VGG's `features` for each convolution, stage by stage.
    var vggFeatureIndices: [[Int]] {
        guard case let .vgg(convolutions, batchNorm) = self else { return [] }
        var index = 0
        return convolutions.map { count in
            defer { index += 1 }
            return (0..<count).map { _ in defer { index += batchNorm ? 3 : 2 }; return index }
        }
    }
}
