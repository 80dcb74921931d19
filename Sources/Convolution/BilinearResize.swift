import TensorCore
import TensorKernels

/// Bilinear resizing of NCHW planes to a fixed size, as
/// `torch.nn.functional.interpolate(mode="bilinear", size=(outH, outW), align_corners=False)` without
/// antialiasing: upsamples decoder logits to the image and resizes skip features to the decoder grid.
///
/// Along each axis with input extent `n` and output extent `m` (computed in Float, as PyTorch's CPU
/// kernel): equal extents copy; otherwise `s = max((o + 0.5)·n/m − 0.5, 0)`, `i₀ = ⌊s⌋`,
/// `i₁ = min(i₀ + 1, n − 1)`, `λ₁ = s − i₀`, `λ₀ = 1 − λ₁`, and
/// `y[o_h, o_w] = λ₀ʰ(λ₀ʷ x[i₀ʰ, i₀ʷ] + λ₁ʷ x[i₀ʰ, i₁ʷ]) + λ₁ʰ(λ₀ʷ x[i₁ʰ, i₀ʷ] + λ₁ʷ x[i₁ʰ, i₁ʷ])`.
/// The map is linear, so the backward is its adjoint: every output gradient is added back to the four
/// input pixels with the same weights.
public struct BilinearResize: Sendable {
    let extent: ResizeExtent
    public var outputHeight: Int { extent.height }
    public var outputWidth: Int { extent.width }

    /// What `backward` needs from `forward`.
    public typealias Cache = ResizeCache

    /// Throws unless both extents are positive.
    public init(outputHeight: Int, outputWidth: Int) throws {
        extent = try ResizeExtent(height: outputHeight, width: outputWidth, layer: "BilinearResize")
    }

    /// `[N, C, outH, outW]` from `input` `[N, C, H, W]` (H, W ≥ 1), and the cache for `backward`.
    public func forward(_ input: Tensor, context: ComputeContext) throws -> (output: Tensor, cache: Cache) {
        let shape = try extent.inputShape(input)
        let (rows, columns) = taps(shape)
        let inputPlane = shape.planeCount, outputPlane = outputHeight * outputWidth
        let output = Tensor(uninitializedShape: [shape.batch, shape.channels, outputHeight, outputWidth]) { y in
            input.withUnsafeBufferPointer { x in
                context.parallelFor(shape.batch * shape.channels) { plane in
                    let source = x.baseAddress! + plane * inputPlane
                    var destination = y.baseAddress! + plane * outputPlane
                    for row in rows {
                        let top = source + row.index0 * shape.width, bottom = source + row.index1 * shape.width
                        for column in columns {
                            let upper = column.weight0 * top[column.index0] + column.weight1 * top[column.index1]
                            let lower = column.weight0 * bottom[column.index0] + column.weight1 * bottom[column.index1]
                            destination.pointee = row.weight0 * upper + row.weight1 * lower
                            destination += 1
                        }
                    }
                }
            }
        }
        return (output, Cache(input: shape))
    }

    /// `∂L/∂input` `[N, C, H, W]` for `outputGradient` `[N, C, outH, outW]`.
    public func backward(_ outputGradient: Tensor, cache: Cache, context: ComputeContext) throws -> Tensor {
        try extent.checkGradient(outputGradient, cache: cache)
        let shape = cache.input
        let (rows, columns) = taps(shape)
        let inputPlane = shape.planeCount, outputPlane = outputHeight * outputWidth
        return Tensor(shape: shape.shape) { dx in
            outputGradient.withUnsafeBufferPointer { g in
                context.parallelFor(shape.batch * shape.channels) { plane in
                    var source = g.baseAddress! + plane * outputPlane
                    let destination = dx.baseAddress! + plane * inputPlane
                    for row in rows {
                        let top = destination + row.index0 * shape.width, bottom = destination + row.index1 * shape.width
                        for column in columns {
                            let upper = row.weight0 * source.pointee, lower = row.weight1 * source.pointee
                            top[column.index0] += column.weight0 * upper
                            top[column.index1] += column.weight1 * upper
                            bottom[column.index0] += column.weight0 * lower
                            bottom[column.index1] += column.weight1 * lower
                            source += 1
                        }
                    }
                }
            }
        }
    }

    private func taps(_ shape: ImageBatchShape) -> (rows: [LinearTap], columns: [LinearTap]) {
        (LinearTap.along(input: shape.height, output: outputHeight), LinearTap.along(input: shape.width, output: outputWidth))
    }
}

/// The two source indices and weights of one output position along one axis.
struct LinearTap {
    let index0: Int, index1: Int
    let weight0: Float, weight1: Float

    /// Taps for every output position of an axis resized from `input` to `output` (align_corners=False).
    static func along(input: Int, output: Int) -> [LinearTap] {
        if input == output { return (0..<output).map { LinearTap(index0: $0, index1: $0, weight0: 1, weight1: 0) } }
        let scale = Float(input) / Float(output)
        return (0..<output).map { o in
            let source = max(scale * (Float(o) + 0.5) - 0.5, 0)
            let index0 = Int(source)
            let weight1 = min(max(source - Float(index0), 0), 1)
            return LinearTap(index0: index0, index1: index0 < input - 1 ? index0 + 1 : index0, weight0: 1 - weight1, weight1: weight1)
        }
    }
}
