import Convolution
import Randomness
import TensorCore
import TensorKernels

/// The classic U-Net (Ronneberger et al. 2015) trained from scratch on the images: the study's
/// comparison row for the frozen-backbone decoders. Same-size convolutions (padding 1) with BatchNorm.
///
/// Images `[N, C, H, W]`, `H` and `W` multiples of 16 → logits `[N, K, H, W]`. With level channels
/// `cₗ = w·2ˡ` (`l = 0…4`): encoder `eₗ = encoderₗ(l == 0 ? images : maxpool₂(eₗ₋₁))`, each a
/// `DoubleConvNormReLU` `cₗ₋₁ → cₗ` (`c₋₁ = C`); `e₄` is the bottleneck `x₀`. Decoder, `i = 1…4`:
/// `xᵢ = decoderᵢ(cat[upᵢ(xᵢ₋₁), e₄₋ᵢ])` with `upᵢ` a `ConvTranspose2d(c₅₋ᵢ → c₄₋ᵢ, kernel 2, stride 2)` and
/// `decoderᵢ` a `DoubleConvNormReLU` `2c₄₋ᵢ → c₄₋ᵢ`; then `head`, a 1×1 conv `c₀ → K`.
///
/// State-dict keys, as a PyTorch module with `encoders`, `ups`, `decoders` (`nn.ModuleList`s; each
/// encoder or decoder an `nn.Sequential` of two conv-BN-ReLU units with `conv` and `bn`) and `head`:
/// `encoders.{l}.{0,1}.conv.{weight, bias}`, `encoders.{l}.{0,1}.bn.{weight, bias, running_mean, running_var}`
/// (`l = 0…4`); `ups.{j}.weight` `[c₄₋ⱼ, c₃₋ⱼ, 2, 2]`, `ups.{j}.bias` `[c₃₋ⱼ]`; `decoders.{j}.{0,1}.…` (`j = 0…3`,
/// the deepest first); `head.weight` `[K, w, 1, 1]`, `head.bias` `[K]`.
///
/// The API parallels `UNetDecoder`'s, with images in place of feature grids.
public struct ScratchUNet: Sendable, ParameterContainer {
    public let configuration: ScratchUNetConfiguration
    /// `encoderₗ`, `cₗ₋₁ → cₗ` for `l = 0…4`.
    public var encoders: [DoubleConvNormReLU]
    /// `upᵢ`: weight `[c₅₋ᵢ, c₄₋ᵢ, 2, 2]`, bias `[c₄₋ᵢ]`, deepest first.
    public var ups: [ConvTranspose2d]
    /// `decoderᵢ`, `2c₄₋ᵢ → c₄₋ᵢ`, deepest first.
    public var decoders: [DoubleConvNormReLU]
    /// weight `[K, w, 1, 1]`, bias `[K]`.
    public var head: Conv2d

    /// 2×2 max pooling, stride 2, between encoder levels.
    private let pool = try! MaxPool2d(kernel: 2)

    /// What `backward` needs from `forwardTraining`.
    public struct Cache: Sendable {
        let encoders: [DoubleConvNormReLU.Cache]
        let pools: [MaxPool2d.Cache]
        let ups: [ConvTranspose2d.Cache]
        let concatenations: [ChannelConcatenation.Cache]
        let decoders: [DoubleConvNormReLU.Cache]
        let head: Conv2d.Cache
    }

    /// A network initialised as PyTorch initialises the module (Kaiming-uniform convolutions, BatchNorm
    /// γ = 1, β = 0), drawn from `generator` in state-dict order.
    public init(configuration: ScratchUNetConfiguration, generator: inout SeededGenerator) throws {
        self.configuration = configuration
        let channels = configuration.levelChannels, depth = ScratchUNetConfiguration.depth
        let encoderInputs = [configuration.inputChannels] + channels.dropLast()
        encoders = try zip(encoderInputs, channels).map { try DoubleConvNormReLU(inputs: $0, outputs: $1, generator: &generator) }
        ups = try (0..<depth).map { j in
            let (inputs, outputs) = (channels[depth - j], channels[depth - 1 - j])
            let (weight, bias) = KaimingUniform.parameters(weightShape: [inputs, outputs, 2, 2], biasExtent: outputs, generator: &generator)
            return try ConvTranspose2d(weight: weight, bias: bias, stride: 2)
        }
        decoders = try (0..<depth).map { j in
            try DoubleConvNormReLU(inputs: 2 * channels[depth - 1 - j], outputs: channels[depth - 1 - j], generator: &generator)
        }
        let (weight, bias) = KaimingUniform.parameters(weightShape: [configuration.classes, channels[0], 1, 1],
                                                       biasExtent: configuration.classes, generator: &generator)
        head = try Conv2d(weight: weight, bias: bias)
    }

    public mutating func visitParameters<V: ParameterVisitor>(_ visitor: inout V, scope: ParameterScope) {
        for i in encoders.indices { encoders[i].visitParameters(&visitor, scope: scope.scope("encoders").scope("\(i)")) }
        for i in ups.indices { ups[i].visitParameters(&visitor, scope: scope.scope("ups").scope("\(i)")) }
        for i in decoders.indices { decoders[i].visitParameters(&visitor, scope: scope.scope("decoders").scope("\(i)")) }
        head.visitParameters(&visitor, scope: scope.scope("head"))
    }

    /// Trainable parameters (weights and biases; BatchNorm's running statistics excluded).
    public var parameterCount: Int { trainableParameters().tensors.reduce(0) { $0 + $1.count } }

    /// Throws unless `images` is `[N, C, H, W]` with this network's `C` and sides that are positive
    /// multiples of 16.
    private func validate(_ images: Tensor) throws {
        let multiple = ScratchUNetConfiguration.sideMultiple
        guard images.rank == 4, images.shape.allSatisfy({ $0 > 0 }) else {
            throw SegmentationDecoderError("ScratchUNet: images must be [N, C, H, W] with positive extents, got \(describeShape(images.shape))")
        }
        guard images.shape[1] == configuration.inputChannels else {
            throw SegmentationDecoderError("ScratchUNet: images have \(images.shape[1]) channels; the network expects \(configuration.inputChannels)")
        }
        guard images.shape[2] % multiple == 0, images.shape[3] % multiple == 0 else {
            throw SegmentationDecoderError("ScratchUNet: image sides must be multiples of \(multiple), got \(images.shape[2])×\(images.shape[3])")
        }
    }

    /// Training mode (BatchNorm on batch statistics, running statistics updated): logits `[N, K, H, W]` of
    /// `images` `[N, C, H, W]`, and the cache for `backward`.
    public mutating func forwardTraining(_ images: Tensor, context: ComputeContext) throws -> (output: Tensor, cache: Cache) {
        try validate(images)
        var skips: [Tensor] = [], encoderCaches: [DoubleConvNormReLU.Cache] = [], poolCaches: [MaxPool2d.Cache] = []
        var x = images
        for l in encoders.indices {
            if l > 0 {
                let pooled: (output: Tensor, cache: MaxPool2d.Cache) = try pool.forward(x, context: context)
                x = pooled.output
                poolCaches.append(pooled.cache)
            }
            let encoderCache: DoubleConvNormReLU.Cache
            (x, encoderCache) = try encoders[l].forwardTraining(x, context: context)
            encoderCaches.append(encoderCache)
            skips.append(x)
        }
        var upCaches: [ConvTranspose2d.Cache] = [], concatenations: [ChannelConcatenation.Cache] = [], decoderCaches: [DoubleConvNormReLU.Cache] = []
        for j in decoders.indices {
            let (upsampled, upCache) = try ups[j].forward(x, context: context)
            let (joined, concatenation) = try ChannelConcatenation.forward([upsampled, skips[skips.count - 2 - j]])
            let decoderCache: DoubleConvNormReLU.Cache
            (x, decoderCache) = try decoders[j].forwardTraining(joined, context: context)
            upCaches.append(upCache)
            concatenations.append(concatenation)
            decoderCaches.append(decoderCache)
        }
        let (logits, headCache) = try head.forward(x, context: context)
        return (logits, Cache(encoders: encoderCaches, pools: poolCaches, ups: upCaches, concatenations: concatenations,
                              decoders: decoderCaches, head: headCache))
    }

    /// Evaluation mode (BatchNorm on running statistics): logits `[N, K, H, W]` of `images` `[N, C, H, W]`.
    public func forwardInference(_ images: Tensor, context: ComputeContext) throws -> Tensor {
        try validate(images)
        var skips: [Tensor] = []
        var x = images
        for l in encoders.indices {
            if l > 0 { x = try pool.forward(x, context: context).output }
            x = try encoders[l].forwardInference(x, context: context)
            skips.append(x)
        }
        for j in decoders.indices {
            let upsampled = try ups[j].forward(x, context: context).output
            x = try decoders[j].forwardInference(try ChannelConcatenation.forward([upsampled, skips[skips.count - 2 - j]]).output, context: context)
        }
        return try head.forward(x, context: context).output
    }

    /// Every trainable parameter's gradient for `outputGradient` `[N, K, H, W]`; with `inputGradients` also
    /// `∂L/∂images` (as the single element of `inputs`).
    public func backward(_ outputGradient: Tensor, cache: Cache, inputGradients: Bool = false, context: ComputeContext) throws -> DecoderGradients {
        let depth = ScratchUNetConfiguration.depth
        guard cache.encoders.count == depth + 1, cache.pools.count == depth, cache.decoders.count == depth else {
            throw SegmentationDecoderError("ScratchUNet: the cache holds \(cache.encoders.count) encoder levels, not \(depth + 1)")
        }
        var gradients: [String: Tensor] = [:]
        var x = try head.backward(outputGradient, cache: cache.head, needsInput: true, scope: ParameterScope("head."),
                                  gradients: &gradients, context: context)!
        var skipGradients = [Tensor?](repeating: nil, count: depth)
        for j in decoders.indices.reversed() {
            let joined = try decoders[j].backward(x, cache: cache.decoders[j], needsInput: true, scope: ParameterScope("decoders.\(j)."),
                                                  gradients: &gradients, context: context)!
            let parts = try ChannelConcatenation.backward(joined, cache: cache.concatenations[j])
            skipGradients[depth - 1 - j] = parts[1]
            let up = try ups[j].backward(parts[0], cache: cache.ups[j], context: context)
            gradients["ups.\(j).weight"] = up.weight
            gradients["ups.\(j).bias"] = up.bias
            x = up.input
        }
        // x is now ∂L/∂e₄; walk the encoder back down, adding each level's skip gradient.
        for l in encoders.indices.reversed() {
            if l < depth { x = try add(x, skipGradients[l]!) }
            let needsInput = l > 0 || inputGradients
            guard let input = try encoders[l].backward(x, cache: cache.encoders[l], needsInput: needsInput,
                                                       scope: ParameterScope("encoders.\(l)."), gradients: &gradients, context: context)
            else { break }
            x = l > 0 ? try pool.backward(input, cache: cache.pools[l - 1], context: context) : input
        }
        return DecoderGradients(parameters: gradients, inputs: inputGradients ? [x] : nil)
    }

    /// `a + b` for two gradients of the same shape.
    private func add(_ a: Tensor, _ b: Tensor) throws -> Tensor {
        guard a.shape == b.shape else {
            throw SegmentationDecoderError("ScratchUNet: skip gradient \(describeShape(b.shape)) does not match \(describeShape(a.shape))")
        }
        var sum = a
        sum.withUnsafeMutableBufferPointer { s in
            b.withUnsafeBufferPointer { t in for i in s.indices { s[i] += t[i] } }
        }
        return sum
    }
}
