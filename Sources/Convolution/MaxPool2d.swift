import TensorCore
import TensorKernels

/// Max pooling as `torch.nn.MaxPool2d(kernel, stride)` (no padding, no dilation, floor mode), NCHW.
///
/// `input` `[N, C, H, W]` → `output` `[N, C, outH, outW]` with `outH = (H − kh) / sh + 1` (floor), likewise
/// `outW`, and `output[n, c, y, x] = max_{i < kh, j < kw} input[n, c, y·sh + i, x·sw + j]`. The arg-max is the
/// first maximum in row-major window order, as PyTorch's CPU kernel; a NaN in the window wins (the output
/// is NaN, at the window's last NaN). Backward: `∂L/∂input` is zero except at each window's arg-max, which receives the window's
/// output gradient (summed where overlapping windows share it).
public struct MaxPool2d: Sendable, Equatable {
    public let kernel: Size2D
    public let stride: Size2D

    /// What `backward` needs from `forward`.
    public struct Cache: Sendable {
        /// The forward input's shape `[N, C, H, W]`.
        let inputShape: ImageBatchShape
        /// Per output element: the arg-max's index within its `[H, W]` plane; `[N·C·outH·outW]`.
        let argMax: [Int32]
    }

    /// Throws unless the kernel and the stride (default: the kernel, as PyTorch) are at least 1.
    public init(kernel: Size2D = 2, stride: Size2D? = nil) throws {
        let stride = stride ?? kernel
        guard kernel.height >= 1, kernel.width >= 1 else { throw ConvolutionError("MaxPool2d: kernel \(kernel) must be at least 1") }
        guard stride.height >= 1, stride.width >= 1 else { throw ConvolutionError("MaxPool2d: stride \(stride) must be at least 1") }
        self.kernel = kernel
        self.stride = stride
    }

    /// The output shape for `input`, or an error when it is not `[N, C, H, W]` or the window does not fit.
    private func outputShape(_ input: Tensor) throws -> (input: ImageBatchShape, output: ImageBatchShape) {
        let shape = try input.imageBatchShape("MaxPool2d")
        guard shape.height >= kernel.height, shape.width >= kernel.width else {
            throw ConvolutionError("MaxPool2d: kernel \(kernel) is larger than the input \(shape.height)×\(shape.width)")
        }
        guard shape.height <= Int(Int32.max) / max(shape.width, 1) else {
            throw ConvolutionError("MaxPool2d: planes of \(shape.height)×\(shape.width) are too large")
        }
        return (shape, pooledShape(shape))
    }

    /// `[N, C, outH, outW]` for an input that holds the window.
    private func pooledShape(_ shape: ImageBatchShape) -> ImageBatchShape {
        ImageBatchShape(batch: shape.batch, channels: shape.channels, height: (shape.height - kernel.height) / stride.height + 1,
                        width: (shape.width - kernel.width) / stride.width + 1)
    }

    /// `output` `[N, C, outH, outW]` and the cache for `backward`.
    public func forward(_ input: Tensor, context: ComputeContext) throws -> (output: Tensor, cache: Cache) {
        let (inShape, outShape) = try outputShape(input)
        var argMax = [Int32](repeating: 0, count: outShape.batch * outShape.channels * outShape.planeCount)
        let output = Tensor(uninitializedShape: outShape.shape) { y in
            input.withUnsafeBufferPointer { x in
                argMax.withUnsafeMutableBufferPointer { indices in
                    context.parallelFor(inShape.batch * inShape.channels) { plane in
                        pool(x.baseAddress! + plane * inShape.planeCount, inShape,
                             into: y.baseAddress! + plane * outShape.planeCount, indices: indices.baseAddress! + plane * outShape.planeCount,
                             outShape)
                    }
                }
            }
        }
        return (output, Cache(inputShape: inShape, argMax: argMax))
    }

    /// One plane: the window maxima and their in-plane indices.
    private func pool(_ plane: UnsafePointer<Float>, _ inShape: ImageBatchShape, into output: UnsafeMutablePointer<Float>,
                      indices: UnsafeMutablePointer<Int32>, _ outShape: ImageBatchShape) {
        let width = inShape.width
        for oy in 0..<outShape.height {
            for ox in 0..<outShape.width {
                let top = oy * stride.height, left = ox * stride.width
                var best = plane[top * width + left], bestIndex = top * width + left
                for i in 0..<kernel.height {
                    for j in 0..<kernel.width {
                        let index = (top + i) * width + left + j
                        let value = plane[index]
                        if value > best || value.isNaN { (best, bestIndex) = (value, index) }
                    }
                }
                output[oy * outShape.width + ox] = best
                indices[oy * outShape.width + ox] = Int32(bestIndex)
            }
        }
    }

    /// `∂L/∂input` `[N, C, H, W]` for `outputGradient` `[N, C, outH, outW]` (the shape `forward` returned).
    public func backward(_ outputGradient: Tensor, cache: Cache, context: ComputeContext) throws -> Tensor {
        let inShape = cache.inputShape
        let outShape = pooledShape(inShape), outPlane = outShape.planeCount
        guard cache.argMax.count == inShape.batch * inShape.channels * outPlane else { throw ConvolutionError("MaxPool2d: the cache was made by a layer of another shape") }
        try requireGradientShape(outputGradient, outShape.shape, "MaxPool2d")
        var inputGradient = Tensor(shape: inShape.shape)
        inputGradient.withUnsafeMutableBufferPointer { dx in
            outputGradient.withUnsafeBufferPointer { g in
                cache.argMax.withUnsafeBufferPointer { indices in
                    context.parallelFor(inShape.batch * inShape.channels) { plane in
                        let target = dx.baseAddress! + plane * inShape.planeCount
                        for o in plane * outPlane..<(plane + 1) * outPlane { target[Int(indices[o])] += g[o] }
                    }
                }
            }
        }
        return inputGradient
    }
}
