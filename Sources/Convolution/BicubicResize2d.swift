import TensorCore
import TensorKernels

/// Bicubic resizing of NCHW planes to a fixed size, as
/// `torch.nn.functional.interpolate(mode="bicubic", size=(outH, outW), align_corners=False)` without
/// antialiasing (CPU, float32).
///
/// Along each axis with input extent `n` and output extent `m`: `s = (o + 0.5)·n/m − 0.5` (the scale
/// `n/m` in Float, not clamped at 0 as bilinear is), `i = ⌊s⌋`, `t = s − i`, and the four taps
/// `i − 1 … i + 2` (clamped to the border) get Keys' cubic weights with A = −0.75:
/// `[k(t + 1), k(t), k(1 − t), k(2 − t)]`. Each output is `Σ_ty wʸ (Σ_tx wˣ x[iʸ, iˣ])`, the width first.
/// The map is linear, so the backward is its adjoint (each output gradient goes back to the 16 taps).
public struct BicubicResize2d: Sendable {
    let extent: ResizeExtent
    public var outputHeight: Int { extent.height }
    public var outputWidth: Int { extent.width }

    /// What `backward` needs from `forward`.
    public typealias Cache = ResizeCache

    /// Throws unless both extents are positive.
    public init(outputHeight: Int, outputWidth: Int) throws {
        extent = try ResizeExtent(height: outputHeight, width: outputWidth, layer: "BicubicResize2d")
    }

    /// `[N, C, outH, outW]` from `input` `[N, C, H, W]` (H, W ≥ 1), and the cache for `backward`.
    public func forward(_ input: Tensor, context: ComputeContext) throws -> (output: Tensor, cache: Cache) {
        let shape = try extent.inputShape(input)
        return (PlaneResize(shape: shape, rows: rows(shape), columns: columns(shape)).forward(input, context: context), Cache(input: shape))
    }

    /// `∂L/∂input` `[N, C, H, W]` for `outputGradient` `[N, C, outH, outW]`.
    public func backward(_ outputGradient: Tensor, cache: Cache, context: ComputeContext) throws -> Tensor {
        try extent.checkGradient(outputGradient, cache: cache)
        return PlaneResize(shape: cache.input, rows: rows(cache.input), columns: columns(cache.input)).adjoint(outputGradient, context: context)
    }

    private func rows(_ shape: ImageBatchShape) -> SeparableTaps {
        SeparableTaps(keys: BicubicResize.keysTaps(input: shape.height, output: outputHeight, scale: Float(shape.height) / Float(outputHeight)))
    }

    private func columns(_ shape: ImageBatchShape) -> SeparableTaps {
        SeparableTaps(keys: BicubicResize.keysTaps(input: shape.width, output: outputWidth, scale: Float(shape.width) / Float(outputWidth)))
    }
}

/// The taps of a separable resize along one axis, flattened: output position `o` reads the `width`
/// input indices `indices[o·width ..< (o + 1)·width]` with the weights at the same places.
struct SeparableTaps {
    let width: Int
    let indices: [Int]
    let weights: [Float]

    init(keys: [BicubicResize.Taps]) {
        width = keys.first?.indices.count ?? 0
        indices = keys.flatMap(\.indices)
        weights = keys.flatMap(\.weights)
    }

    var outputCount: Int { width == 0 ? 0 : indices.count / width }
}

/// `y[p, o_h, o_w] = Σ_ty wʸ (Σ_tx wˣ x[p, iʸ, iˣ])` over the planes `p` of an NCHW batch, and its adjoint.
struct PlaneResize {
    let shape: ImageBatchShape
    let rows: SeparableTaps
    let columns: SeparableTaps

    func forward(_ input: Tensor, context: ComputeContext) -> Tensor {
        let (inputPlane, outH, outW) = (shape.planeCount, rows.outputCount, columns.outputCount)
        let (rw, cw, inW) = (rows.width, columns.width, shape.width)
        return Tensor(uninitializedShape: [shape.batch, shape.channels, outH, outW]) { y in
            input.withUnsafeBufferPointer { x in
                context.parallelFor(shape.batch * shape.channels) { plane in
                    let source = x.baseAddress! + plane * inputPlane
                    var destination = y.baseAddress! + plane * outH * outW
                    for oy in 0..<outH {
                        for ox in 0..<outW {
                            var total: Float = 0
                            for ty in 0..<rw {
                                let row = source + rows.indices[oy * rw + ty] * inW
                                var along: Float = 0
                                for tx in 0..<cw {
                                    let term = row[columns.indices[ox * cw + tx]] * columns.weights[ox * cw + tx]
                                    along = tx == 0 ? term : along + term
                                }
                                total = ty == 0 ? along * rows.weights[oy * rw + ty] : total + along * rows.weights[oy * rw + ty]
                            }
                            destination.pointee = total
                            destination += 1
                        }
                    }
                }
            }
        }
    }

    func adjoint(_ outputGradient: Tensor, context: ComputeContext) -> Tensor {
        let (inputPlane, outH, outW) = (shape.planeCount, rows.outputCount, columns.outputCount)
        let (rw, cw, inW) = (rows.width, columns.width, shape.width)
        return Tensor(shape: shape.shape) { dx in
            outputGradient.withUnsafeBufferPointer { g in
                context.parallelFor(shape.batch * shape.channels) { plane in
                    var source = g.baseAddress! + plane * outH * outW
                    let destination = dx.baseAddress! + plane * inputPlane
                    for oy in 0..<outH {
                        for ox in 0..<outW {
                            for ty in 0..<rw {
                                let row = destination + rows.indices[oy * rw + ty] * inW
                                let along = rows.weights[oy * rw + ty] * source.pointee
                                for tx in 0..<cw { row[columns.indices[ox * cw + tx]] += columns.weights[ox * cw + tx] * along }
                            }
                            source += 1
                        }
                    }
                }
            }
        }
    }
}
