import TensorCore
import TensorKernels

/// Transposed 2-D convolution as `torch.nn.ConvTranspose2d` (no output padding, dilation or groups), NCHW:
/// the adjoint of a `Conv2d` with the same kernel, stride and padding, plus a bias. The U-Net decoder
/// upsamples with kernel 2, stride 2.
///
/// `input` `[N, C, H, W]` → `output` `[N, O, outH, outW]` with `outH = (H − 1)·sh − 2·ph + kh`, likewise `outW`, and
/// `output[n, o, y·sh − ph + i, x·sw − pw + j] += input[n, c, y, x] · weight[c, o, i, j]` summed over `c, y, x, i, j`,
/// plus `bias[o]`. Per item: `col2im(weightᵀ · input[n])` with the weight viewed `[C, O·kh·kw]`.
///
/// Backward, with `g = ∂L/∂output` and `columns(g[n])` its im2col matrix `[O·kh·kw, H·W]`:
/// `∂L/∂input[n] = weight · columns(g[n])`, `∂L/∂weight = Σ_n input[n] · columns(g[n])ᵀ`,
/// `∂L/∂bias[o] = Σ_{n, y, x} g[n, o, y, x]`.
public struct ConvTranspose2d: Sendable, ParameterContainer {
    /// Kernel, laid out as PyTorch: `[in, out, kh, kw]`.
    public var weight: Tensor
    /// Per output channel: `[out]`, or nil for `bias=False`.
    public var bias: Tensor?
    public let stride: Size2D
    public let padding: Size2D

    /// Input channels, from the weight.
    public var inChannels: Int { weight.shape[0] }
    /// Output channels, from the weight.
    public var outChannels: Int { weight.shape[1] }
    /// Kernel height and width, from the weight.
    public var kernel: Size2D { Size2D(height: weight.shape[2], width: weight.shape[3]) }

    /// What `backward` needs from `forward`.
    public struct Cache: Sendable {
        /// The forward input: `[N, C, H, W]`.
        public let input: Tensor
        /// The window geometry over the output image `[O, outH, outW]`.
        let geometry: ConvolutionGeometry
    }

    /// `∂L/∂input` `[N, C, H, W]`, `∂L/∂weight` `[in, out, kh, kw]`, `∂L/∂bias` `[out]` (nil without bias).
    public typealias Gradients = ConvolutionGradients

    /// Throws unless `weight` is `[in, out, kh, kw]` with positive extents, `bias` is `[out]`, strides are
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
        try ConvolutionParameters.validate(weight: weight, bias: bias, biasExtent: weight.rank > 1 ? weight.shape[1] : 0,
                                           stride: stride, padding: padding, layer: "ConvTranspose2d")
    }

    /// The window geometry over the output image of `input` `[N, C, H, W]`, or an error when the channels
    /// do not match the weight or the padding leaves no output.
    private func geometry(for input: Tensor) throws -> ConvolutionGeometry {
        try validateParameters()
        let shape = try input.imageBatchShape("ConvTranspose2d")
        guard shape.channels == inChannels else {
            throw ConvolutionError("ConvTranspose2d: input has \(shape.channels) channels but the weight \(describeShape(weight.shape)) expects \(inChannels)")
        }
        let outputHeight = (shape.height - 1) * stride.height - 2 * padding.height + kernel.height
        let outputWidth = (shape.width - 1) * stride.width - 2 * padding.width + kernel.width
        guard shape.height > 0, shape.width > 0, outputHeight > 0, outputWidth > 0 else {
            throw ConvolutionError("ConvTranspose2d: input \(shape.height)×\(shape.width) with kernel \(kernel), stride \(stride), padding \(padding) gives an empty output \(outputHeight)×\(outputWidth)")
        }
        return try ConvolutionGeometry(channels: outChannels, height: outputHeight, width: outputWidth,
                                       kernel: kernel, stride: stride, padding: padding, layer: "ConvTranspose2d")
    }

    /// `output` `[N, out, outH, outW]` and the cache for `backward`.
    public func forward(_ input: Tensor, context: ComputeContext) throws -> (output: Tensor, cache: Cache) {
        let geometry = try geometry(for: input)
        let output = ConvolutionKernels.convolveTransposed(
            input, batch: input.shape[0], geometry: geometry, weight: weight, bias: bias, rows: inChannels, context: context)
        return (output, Cache(input: input, geometry: geometry))
    }

    /// All gradients for `outputGradient` `[N, out, outH, outW]` (the shape `forward` returned).
    public func backward(_ outputGradient: Tensor, cache: Cache, context: ComputeContext) throws -> Gradients {
        let geometry = cache.geometry
        guard try self.geometry(for: cache.input) == geometry else {
            throw ConvolutionError("ConvTranspose2d: the cache was made by a layer of another shape")
        }
        let batch = cache.input.shape[0]
        let outputShape = ImageBatchShape(batch: batch, channels: outChannels, height: geometry.height, width: geometry.width)
        try requireGradientShape(outputGradient, outputShape.shape, "ConvTranspose2d")
        let inputGradient = ConvolutionKernels.convolve(
            outputGradient, batch: batch, geometry: geometry, weight: weight, bias: nil, rows: inChannels, context: context)
        let weightGradient = ConvolutionKernels.weightGradient(
            images: outputGradient, values: cache.input, batch: batch, geometry: geometry, rows: inChannels, context: context)
        return Gradients(input: inputGradient, weight: weightGradient.reshaped(weight.shape),
                         bias: bias == nil ? nil : BatchReductions.channelSums(outputGradient, outputShape))
    }
}
