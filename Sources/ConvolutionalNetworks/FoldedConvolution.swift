import Convolution
import TensorCore
import TensorKernels

/// Per-channel `y = scale[c]·x + shift[c]`: batch norm in evaluation mode,
/// `scale = γ / √(runningVariance + ε)`, `shift = β − runningMean·scale` (computed in Double).
struct ChannelAffine: Sendable {
    /// `[C]`.
    let scale: [Float]
    /// `[C]`.
    let shift: [Float]

    var channels: Int { scale.count }

    /// Batch norm's inference transform from its `[C]` parameters and running statistics.
    init(weight: Tensor, bias: Tensor, runningMean: Tensor, runningVariance: Tensor, epsilon: Double = 1e-5) {
        let (gamma, beta, mean, variance) = (weight.scalars, bias.scalars, runningMean.scalars, runningVariance.scalars)
        var scale = [Float](repeating: 0, count: gamma.count), shift = scale
        for c in gamma.indices {
            let factor = Double(gamma[c]) / (Double(variance[c]) + epsilon).squareRoot()
            scale[c] = Float(factor)
            shift[c] = Float(Double(beta[c]) - Double(mean[c]) * factor)
        }
        (self.scale, self.shift) = (scale, shift)
    }
}

/// Rows of pixels in channels-last layout: pixel `p`'s first `channels` values start at `base + p·stride`
/// (`stride > channels` reads the leading channels of a wider map, as a DenseNet layer reads its block).
struct PixelRows {
    let base: UnsafePointer<Float>
    let stride: Int
}

/// A 2-D convolution (zero padding, no dilation, no groups) with the batch norm that follows it folded
/// in and an optional ReLU, inference only, on channels-last maps:
///
/// `y[p, o] = act( Σ_{i, j, c} W'[(i·kw + j)·C + c, o] · x[n, oy·sh − ph + i, ox·sw − pw + j, c] + b'[o] (+ r[p, o]) )`
///
/// with the folded `W'[·, o] = scale[o]·W[o, ·]` and `b'[o] = scale[o]·b[o] + shift[o]` (batch norm's
/// `ChannelAffine`; `b = 0` for `bias=False`), an optional residual `r` added before the activation, and
/// `act` ReLU or the identity. Folding changes results only by float rounding. An optional input
/// `prologue` (ReLU(batch norm) of the input, DenseNet's pre-activation) is applied while gathering.
///
/// The output pixels `M = N·outH·outW` are processed in chunks spread over the `ComputeContext`: each
/// chunk gathers its im2col rows `[rows, kh·kw·C]` (or, for a 1×1 stride-1 unpadded kernel without
/// prologue, reads the map itself), multiplies them by `W'` `[kh·kw·C, O]` in one GEMM, then adds bias
/// and residual and applies the ReLU while the rows are in cache.
struct FoldedConvolution: Sendable {
    let inChannels: Int, outChannels: Int
    let kernel: Size2D, stride: Size2D, padding: Size2D
    /// `W'`: `[kh·kw·C, O]`, row `(i·kw + j)·C + c`.
    let weight: Tensor
    /// `b'`: `[O]`.
    let bias: [Float]
    let appliesReLU: Bool

    /// Folds `normalization` (the batch norm after the convolution, if any) into `weight`
    /// `[O, C, kh, kw]` (PyTorch's layout) and `bias` `[O]`.
    init(weight: Tensor, bias: Tensor?, normalization: ChannelAffine?, stride: Size2D, padding: Size2D, appliesReLU: Bool) {
        let (o, c, kh, kw) = (weight.shape[0], weight.shape[1], weight.shape[2], weight.shape[3])
        let scale = normalization?.scale ?? [Float](repeating: 1, count: o)
        let shift = normalization?.shift ?? [Float](repeating: 0, count: o)
        let rawBias = bias?.scalars ?? [Float](repeating: 0, count: o)
        self.bias = (0..<o).map { scale[$0] * rawBias[$0] + shift[$0] }
        self.weight = Tensor(uninitializedShape: [kh * kw * c, o]) { folded in
            weight.withUnsafeBufferPointer { w in
                for out in 0..<o {
                    for channel in 0..<c {
                        for i in 0..<kh {
                            for j in 0..<kw {
                                folded[((i * kw + j) * c + channel) * o + out] = scale[out] * w[((out * c + channel) * kh + i) * kw + j]
                            }
                        }
                    }
                }
            }
        }
        (inChannels, outChannels) = (c, o)
        kernel = Size2D(height: kh, width: kw)
        (self.stride, self.padding, self.appliesReLU) = (stride, padding, appliesReLU)
    }

    /// Output height and width for an input of `height`×`width`, or nil when the kernel does not fit.
    func outputSize(height: Int, width: Int) -> (height: Int, width: Int)? {
        let (paddedHeight, paddedWidth) = (height + 2 * padding.height, width + 2 * padding.width)
        guard paddedHeight >= kernel.height, paddedWidth >= kernel.width else { return nil }
        return ((paddedHeight - kernel.height) / stride.height + 1, (paddedWidth - kernel.width) / stride.width + 1)
    }

    /// The convolution of `input`, with `residual` (shaped as the output) added before the activation.
    func callAsFunction(_ input: FeatureMap, residual: FeatureMap? = nil, context: ComputeContext) throws -> FeatureMap {
        guard input.channels == inChannels else {
            throw ConvolutionalNetworkError("a convolution with \(inChannels) input channels got a map of \(input.channels)")
        }
        guard let size = outputSize(height: input.height, width: input.width) else {
            throw ConvolutionalNetworkError("the input (\(input.height)×\(input.width) at this layer) is smaller than the \(kernel) kernel")
        }
        return FeatureMap(batch: input.batch, height: size.height, width: size.width, channels: outChannels) { output in
            input.values.withUnsafeBufferPointer { x in
                withOptionalPointer(residual?.values) { r in
                    run(PixelRows(base: x.baseAddress!, stride: input.channels), batch: input.batch, height: input.height,
                        width: input.width, prologue: nil, into: output.baseAddress!, outputStride: outChannels, residual: r,
                        context: context)
                }
            }
        }
    }

    /// The convolution of the first `inChannels` channels of `input` (`batch`×`height`×`width` pixels),
    /// each gathered value first mapped by `prologue` (ReLU of its affine transform) if given, written to
    /// `output` with `outputStride` floats between pixels. The caller checks that the kernel fits.
    func run(_ input: PixelRows, batch: Int, height: Int, width: Int, prologue: ChannelAffine?,
             into output: UnsafeMutablePointer<Float>, outputStride: Int, residual: UnsafePointer<Float>?, context: ComputeContext) {
        let (outH, outW) = outputSize(height: height, width: width)!
        let pixels = batch * outH * outW
        let patch = kernel.height * kernel.width * inChannels
        let readsMapDirectly = kernel == 1 && stride == 1 && padding == 0 && prologue == nil
        let chunkRows = readsMapDirectly ? 256 : max(16, min(256, (1 << 17) / patch))
        let chunks = (pixels + chunkRows - 1) / chunkRows
        weight.withUnsafeBufferPointer { w in
            bias.withUnsafeBufferPointer { b in
                context.parallelRanges(chunks) { range in
                    let scratch = readsMapDirectly ? nil : UnsafeMutablePointer<Float>.allocate(capacity: chunkRows * patch)
                    defer { scratch?.deallocate() }
                    for chunk in range {
                        let rows = chunk * chunkRows..<min((chunk + 1) * chunkRows, pixels)
                        let a: UnsafePointer<Float>
                        if let scratch {
                            gather(input, rows: rows, height: height, width: width, outputWidth: outW, outputPlane: outH * outW,
                                   prologue: prologue, into: scratch)
                            a = UnsafePointer(scratch)
                        } else {
                            a = input.base + rows.lowerBound * input.stride
                        }
                        let c = output + rows.lowerBound * outputStride
                        BLAS.gemm(m: rows.count, n: outChannels, k: patch, a: a, lda: scratch == nil ? input.stride : patch,
                                  b: w.baseAddress!, ldb: outChannels, c: c, ldc: outputStride)
                        finish(c, rows: rows.count, stride: outputStride, bias: b.baseAddress!,
                               residual: residual.map { $0 + rows.lowerBound * outChannels })
                    }
                }
            }
        }
    }

    /// Writes the im2col rows of output pixels `rows`: row `p` holds, for each tap `(i, j)`, the `C`
    /// input values under it (zero outside the image), mapped by `prologue` if given.
    private func gather(_ input: PixelRows, rows: Range<Int>, height: Int, width: Int, outputWidth: Int, outputPlane: Int,
                        prologue: ChannelAffine?, into scratch: UnsafeMutablePointer<Float>) {
        let (channels, patch) = (inChannels, kernel.height * kernel.width * inChannels)
        for p in rows {
            let (n, position) = p.quotientAndRemainder(dividingBy: outputPlane)
            let (oy, ox) = position.quotientAndRemainder(dividingBy: outputWidth)
            var destination = scratch + (p - rows.lowerBound) * patch
            for i in 0..<kernel.height {
                let y = oy * stride.height - padding.height + i
                for j in 0..<kernel.width {
                    let x = ox * stride.width - padding.width + j
                    if y < 0 || y >= height || x < 0 || x >= width {
                        destination.update(repeating: 0, count: channels)
                    } else {
                        let source = input.base + ((n * height + y) * width + x) * input.stride
                        if let prologue {
                            for c in 0..<channels { destination[c] = max(prologue.scale[c] * source[c] + prologue.shift[c], 0) }
                        } else {
                            destination.update(from: source, count: channels)
                        }
                    }
                    destination += channels
                }
            }
        }
    }

    /// Adds the bias (and the residual rows, `outChannels` apart) to `rows` output rows and applies the ReLU.
    private func finish(_ output: UnsafeMutablePointer<Float>, rows: Int, stride: Int, bias: UnsafePointer<Float>,
                        residual: UnsafePointer<Float>?) {
        let (count, relu) = (outChannels, appliesReLU)
        for r in 0..<rows {
            let row = output + r * stride
            if let residual {
                let add = residual + r * count
                if relu { for o in 0..<count { row[o] = max(row[o] + bias[o] + add[o], 0) } }
                else { for o in 0..<count { row[o] += bias[o] + add[o] } }
            } else if relu {
                for o in 0..<count { row[o] = max(row[o] + bias[o], 0) }
            } else {
                for o in 0..<count { row[o] += bias[o] }
            }
        }
    }
}

/// Runs `body` with the elements of `tensor`, or nil when there is none.
func withOptionalPointer<R>(_ tensor: Tensor?, _ body: (UnsafePointer<Float>?) -> R) -> R {
    guard let tensor else { return body(nil) }
    return tensor.withUnsafeBufferPointer { body($0.baseAddress!) }
}
