import TensorCore
import TensorKernels

/// 2-D convolution as `torch.nn.Conv2d` (zero padding, no dilation, no groups), NCHW.
///
/// `input` `[N, C, H, W]` → `output` `[N, O, outH, outW]` with `outH = (H + 2·ph − kh) / sh + 1` (floor),
/// likewise `outW`, and
/// `output[n, o, y, x] = bias[o] + Σ_{c, i, j} weight[o, c, i, j] · input[n, c, y·sh − ph + i, x·sw − pw + j]`
/// (zero outside the image). Each item is one product `weight[O, C·kh·kw] · columns[C·kh·kw, outH·outW]`
/// of its im2col matrix; a 1×1 kernel with unit stride and no padding multiplies the image itself.
/// The batch is spread over the `ComputeContext`.
///
/// Backward, with `g = ∂L/∂output`: `∂L/∂weight = Σ_n g[n] · columns[n]ᵀ`, `∂L/∂bias[o] = Σ_{n, y, x} g[n, o, y, x]`,
/// `∂L/∂input[n] = col2im(weightᵀ · g[n])`.
public struct Conv2d: Sendable, ParameterContainer {
    /// Kernel, laid out as PyTorch: `[out, in, kh, kw]`.
    public var weight: Tensor
    /// Per output channel: `[out]`, or nil for `bias=False`.
    public var bias: Tensor?
    public let stride: Size2D
    public let padding: Size2D

    /// Input channels, from the weight.
    public var inChannels: Int { weight.shape[1] }
    /// Output channels, from the weight.
    public var outChannels: Int { weight.shape[0] }
    /// Kernel height and width, from the weight.
    public var kernel: Size2D { Size2D(height: weight.shape[2], width: weight.shape[3]) }

    /// What `backward` needs from `forward`.
    public struct Cache: Sendable {
        /// The forward input: `[N, C, H, W]`.
        public let input: Tensor
        let geometry: ConvolutionGeometry
    }

    /// `∂L/∂input` `[N, C, H, W]`, `∂L/∂weight` `[out, in, kh, kw]`, `∂L/∂bias` `[out]` (nil without bias).
    public typealias Gradients = ConvolutionGradients

    /// Throws unless `weight` is `[out, in, kh, kw]` with positive extents, `bias` is `[out]`, strides are
    /// at least 1 and paddings at least 0.
    public init(weight: Tensor, bias: Tensor?, stride: Size2D = 1, padding: Size2D = 0) throws {
        self.weight = weight
        self.bias = bias
        self.stride = stride
        self.padding = padding
        try validateParameters()
    }

    public mutating func visitParameters<V: ParameterVisitor>(_ visitor: inout V, scope: ParameterScope) {
        visitor.visit(scope.key("weight"), &weight)
        if bias != nil { visitor.visit(scope.key("bias"), &bias!) }
    }

    private func validateParameters() throws {
        try ConvolutionParameters.validate(weight: weight, bias: bias, biasExtent: weight.shape.first ?? 0,
                                           stride: stride, padding: padding, layer: "Conv2d")
    }

    /// The window geometry over `input` `[N, C, H, W]`, or an error when the channels do not match the
    /// weight or the kernel does not fit in the padded input.
    private func geometry(for input: Tensor) throws -> ConvolutionGeometry {
        try validateParameters()
        let shape = try input.imageBatchShape("Conv2d")
        guard shape.channels == inChannels else {
            throw ConvolutionError("Conv2d: input has \(shape.channels) channels but the weight \(describeShape(weight.shape)) expects \(inChannels)")
        }
        return try ConvolutionGeometry(channels: shape.channels, height: shape.height, width: shape.width,
                                       kernel: kernel, stride: stride, padding: padding, layer: "Conv2d")
    }

    /// `output` `[N, out, outH, outW]` and the cache for `backward`.
    public func forward(_ input: Tensor, context: ComputeContext) throws -> (output: Tensor, cache: Cache) {
        let geometry = try geometry(for: input)
        let batch = input.shape[0]
        let output = ConvolutionKernels.convolve(
            input, batch: batch, geometry: geometry, weight: weight, bias: bias, rows: outChannels, context: context)
        return (output, Cache(input: input, geometry: geometry))
    }

    /// All gradients for `outputGradient` `[N, out, outH, outW]` (the shape `forward` returned).
    public func backward(_ outputGradient: Tensor, cache: Cache, context: ComputeContext) throws -> Gradients {
        let (input, weightGradient, biasGradient) = try gradients(outputGradient, cache: cache, needsInput: true, context: context)
        return Gradients(input: input!, weight: weightGradient, bias: biasGradient)
    }

    /// Only `∂L/∂weight` and `∂L/∂bias`, skipping the input gradient (a layer applied to frozen features).
    public func parameterGradients(_ outputGradient: Tensor, cache: Cache, context: ComputeContext) throws -> (weight: Tensor, bias: Tensor?) {
        let (_, weightGradient, biasGradient) = try gradients(outputGradient, cache: cache, needsInput: false, context: context)
        return (weightGradient, biasGradient)
    }

    private func gradients(_ outputGradient: Tensor, cache: Cache, needsInput: Bool, context: ComputeContext)
        throws -> (input: Tensor?, weight: Tensor, bias: Tensor?) {
        let geometry = cache.geometry
        guard try self.geometry(for: cache.input) == geometry else {
            throw ConvolutionError("Conv2d: the cache was made by a layer of another shape")
        }
        let batch = cache.input.shape[0]
        let outputShape = ImageBatchShape(batch: batch, channels: outChannels, height: geometry.outputHeight, width: geometry.outputWidth)
        try requireGradientShape(outputGradient, outputShape.shape, "Conv2d")
        let weightGradient = ConvolutionKernels.weightGradient(
            images: cache.input, values: outputGradient, batch: batch, geometry: geometry, rows: outChannels, context: context
        ).reshaped(weight.shape)
        let inputGradient = needsInput
            ? ConvolutionKernels.convolveTransposed(outputGradient, batch: batch, geometry: geometry, weight: weight, bias: nil,
                                                    rows: outChannels, context: context)
            : nil
        let biasGradient = bias == nil ? nil : BatchReductions.channelSums(outputGradient, outputShape)
        return (inputGradient, weightGradient, biasGradient)
    }
}

/// The gradients of a `Conv2d` or `ConvTranspose2d`: the input's, the weight's (shaped as the weight) and the
/// bias's (nil without bias).
public struct ConvolutionGradients: Sendable {
    public let input: Tensor
    public let weight: Tensor
    public let bias: Tensor?
}

/// Checks shared by `Conv2d` and `ConvTranspose2d`.
enum ConvolutionParameters {
    static func validate(weight: Tensor, bias: Tensor?, biasExtent: Int, stride: Size2D, padding: Size2D, layer: String) throws {
        guard weight.rank == 4, weight.shape.allSatisfy({ $0 > 0 }) else {
            throw ConvolutionError("\(layer): weight must be rank 4 with positive extents, got \(describeShape(weight.shape))")
        }
        if let bias { try requireParameterShape(bias, [biasExtent], "bias", layer) }
        guard stride.height >= 1, stride.width >= 1 else { throw ConvolutionError("\(layer): stride \(stride) must be at least 1") }
        guard padding.height >= 0, padding.width >= 0 else { throw ConvolutionError("\(layer): padding \(padding) must not be negative") }
    }
}
