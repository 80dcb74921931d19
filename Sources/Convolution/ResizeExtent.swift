import TensorCore

/// The output size of a resize layer of NCHW planes and the shape checks every such layer makes.
struct ResizeExtent: Sendable, Equatable {
    let height: Int
    let width: Int
    /// The layer's name in error messages.
    let layer: String

    /// Throws unless both extents are positive.
    init(height: Int, width: Int, layer: String) throws {
        guard height > 0, width > 0 else { throw ConvolutionError("\(layer): output size \(height)×\(width) must be positive") }
        (self.height, self.width, self.layer) = (height, width, layer)
    }

    /// The extents of `input` `[N, C, H, W]`, which must have non-empty planes.
    func inputShape(_ input: Tensor) throws -> ImageBatchShape {
        let shape = try input.imageBatchShape(layer)
        guard shape.height > 0, shape.width > 0 else {
            throw ConvolutionError("\(layer): input \(describeShape(input.shape)) has an empty plane")
        }
        return shape
    }

    /// Throws unless `outputGradient` is `[N, C, height, width]` for the forward input of `cache`.
    func checkGradient(_ outputGradient: Tensor, cache: ResizeCache) throws {
        let input = cache.input
        try requireGradientShape(outputGradient, [input.batch, input.channels, height, width], layer)
    }
}

/// What a resize layer's `backward` needs from its `forward`: the input's extents.
public struct ResizeCache: Sendable {
    let input: ImageBatchShape
    /// `[N, C, H, W]` of the forward input.
    public var inputShape: [Int] { input.shape }
}
