import Convolution
import Randomness
import TensorCore
import TensorKernels

/// The study's linear segmentation decoder on a frozen backbone: a 1×1 convolution from the patch grid's
/// `D` channels to `K` class logits, then bilinear upsampling (align_corners=False) to the image.
///
/// `grid` `[N, D, h, w]` → logits `[N, K, H, W]`. State-dict keys: `head.weight` `[K, D, 1, 1]`, `head.bias` `[K]`.
public struct LinearDecoder: Sendable, ParameterContainer {
    /// The 1×1 convolution: weight `[K, D, 1, 1]`, bias `[K]`.
    public var head: Conv2d

    /// What `backward` needs from `forward`.
    public struct Cache: Sendable {
        let head: Conv2d.Cache
        let resize: BilinearResize
        let resizeCache: BilinearResize.Cache
    }

    /// A decoder initialised as PyTorch's `Conv2d(D, K, 1)`, drawn from `generator`.
    public init(embedDimension: Int, classes: Int, generator: inout SeededGenerator) throws {
        guard embedDimension > 0, classes > 0 else {
            throw SegmentationDecoderError("LinearDecoder: embedding dimension \(embedDimension) and classes \(classes) must be positive")
        }
        let (weight, bias) = KaimingUniform.parameters(weightShape: [classes, embedDimension, 1, 1], biasExtent: classes, generator: &generator)
        head = try Conv2d(weight: weight, bias: bias)
    }

    public mutating func visitParameters<V: ParameterVisitor>(_ visitor: inout V, scope: ParameterScope) {
        head.visitParameters(&visitor, scope: scope.scope("head"))
    }

    /// Logits `[N, K, imageSize.height, imageSize.width]` of `grid` `[N, D, h, w]`, and the cache for `backward`.
    public func forward(_ grid: Tensor, imageSize: Size2D, context: ComputeContext) throws -> (output: Tensor, cache: Cache) {
        _ = try FeatureGrids.validate([grid], channels: head.inChannels, decoder: "LinearDecoder")
        let resize = try BilinearResize(outputHeight: imageSize.height, outputWidth: imageSize.width)
        let (logits, headCache) = try head.forward(grid, context: context)
        let (output, resizeCache) = try resize.forward(logits, context: context)
        return (output, Cache(head: headCache, resize: resize, resizeCache: resizeCache))
    }

    /// Gradients of `head.weight` and `head.bias` for `outputGradient` `[N, K, H, W]`; with `inputGradient`
    /// also `∂L/∂grid` (not needed for a frozen backbone).
    public func backward(_ outputGradient: Tensor, cache: Cache, inputGradient: Bool = false, context: ComputeContext) throws -> DecoderGradients {
        let logits = try cache.resize.backward(outputGradient, cache: cache.resizeCache, context: context)
        var gradients: [String: Tensor] = [:]
        let input = try head.backward(logits, cache: cache.head, needsInput: inputGradient, scope: ParameterScope("head."),
                                      gradients: &gradients, context: context)
        return DecoderGradients(parameters: gradients, inputs: input.map { [$0] })
    }
}

/// Checks on the backbone's feature grids shared by the decoders.
enum FeatureGrids {
    /// The common shape `[N, D, h, w]` of `grids`; throws unless every grid has exactly that shape with
    /// `D == channels` and positive extents.
    static func validate(_ grids: [Tensor], channels: Int, decoder: String) throws -> [Int] {
        guard let first = grids.first else { throw SegmentationDecoderError("\(decoder): no feature grids") }
        for (index, grid) in grids.enumerated() {
            guard grid.rank == 4, grid.shape.allSatisfy({ $0 > 0 }) else {
                throw SegmentationDecoderError("\(decoder): feature grid \(index) must be [N, D, h, w] with positive extents, got \(describeShape(grid.shape))")
            }
            guard grid.shape[1] == channels else {
                throw SegmentationDecoderError("\(decoder): feature grid \(index) has \(grid.shape[1]) channels; the decoder expects D = \(channels)")
            }
            guard grid.shape == first.shape else {
                throw SegmentationDecoderError("\(decoder): feature grid \(index) is \(describeShape(grid.shape)) but grid 0 is \(describeShape(first.shape))")
            }
        }
        return first.shape
    }
}
