import Models
import TensorCore
import TensorKernels

/// The position embedding for a `gh × gw` patch grid as a linear map of the stored one: `P = A · E`, with `E` the
/// stored `[1 + M², D]` rows and `A` `[1 + gh·gw, 1 + M²]` (the CLS row copied, the grid resized bicubically as
/// `VisionTransformer.positionEmbedding` does, with DINOv2's offset or antialias). The backward is `dE = Aᵀ · dP`.
/// `A` is found by resizing the identity with the model's own interpolation code; it is nil (the identity)
/// when the stored grid is used as it is.
public struct PositionEmbeddingMap: Sendable {
    /// `A` `[1 + gh·gw, 1 + M²]`, or nil for the identity.
    public let matrix: Tensor?
    /// `1 + M²`, the rows of the stored embedding.
    public let storedRows: Int

    /// The map `model` applies for a `gridHeight × gridWidth` patch grid (`square`: the image is square).
    public init(model: VisionTransformer, gridHeight: Int, gridWidth: Int, square: Bool) throws {
        let c = model.configuration
        let stored = 1 + c.positionGrid * c.positionGrid
        storedRows = stored
        if gridHeight * gridWidth == c.positionGrid * c.positionGrid && square {
            matrix = nil
            return
        }
        var probe = c
        probe.width = stored
        probe.depth = 0
        probe.channels = 1
        probe.patchSize = 1
        var identityModel = VisionTransformer(configuration: probe)
        identityModel.positionEmbedding = Tensor(shape: [1, stored, stored]) { values in
            for i in 0..<stored { values[i * stored + i] = 1 }
        }
        do {
            matrix = try identityModel.positionEmbedding(gridHeight: gridHeight, gridWidth: gridWidth, square: square)
        } catch {
            throw BackpropagationError("position embedding cannot be resized to \(gridHeight)×\(gridWidth): \(error)")
        }
    }

    /// `dE = Aᵀ · dP`: `positionGradient` `[1 + gh·gw, D]` → `[1, 1 + M², D]`.
    public func backward(_ positionGradient: Tensor, context: ComputeContext) -> Tensor {
        let width = positionGradient.shape[1]
        guard let matrix else { return positionGradient.reshaped([1, storedRows, width]) }
        let rows = matrix.shape[0]
        return Tensor(uninitializedShape: [1, storedRows, width]) { out in
            let (op, ap, gp) = (out.baseAddress!, matrix.storage.pointer, positionGradient.storage.pointer)
            context.parallelRanges(storedRows, minimumChunk: 16) { range in
                BLAS.gemm(transposeA: true, m: range.count, n: width, k: rows, a: ap + range.lowerBound, lda: storedRows,
                          b: gp, ldb: width, c: op + range.lowerBound * width, ldc: width)
            }
        }
    }
}
