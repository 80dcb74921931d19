import Layers
import TensorCore
import TensorKernels

extension PatchEmbedding {
    /// What `backward` needs: the image shape `[B, C, H, W]` and the projection's cache (the patch rows
    /// `[B·N, C·p·p]`).
    public struct TrainingCache: Sendable {
        public let imageShape: [Int]
        public let projection: Linear.TrainingCache
    }

    /// The conv with kernel = stride = p as patchify + GEMM: images `[B, C, H, W]` → tokens `[B, N, D]`,
    /// `N = (H/p)·(W/p)` patches row-major; `tokens = patches · Wᵀ + b` with `W` viewed `[D, C·p·p]`.
    public func forward(_ images: Tensor, context: ComputeContext) throws -> (output: Tensor, cache: TrainingCache) {
        let p = patchSize
        guard images.rank == 4, images.shape[1] == channels, images.shape[2] % p == 0, images.shape[3] % p == 0 else {
            throw BackpropagationError("patch embedding expects images [B, \(channels), H, W] with H, W multiples of \(p), got \(describeShape(images.shape))")
        }
        let (batch, height, width) = (images.shape[0], images.shape[2], images.shape[3])
        let patches = (height / p) * (width / p)
        let columns = Tensor(uninitializedShape: [batch * patches, channels * p * p]) { out in
            MatrixKernels.patchify(images.storage.pointer, batch: batch, channels: channels, height: height, width: width,
                                   patch: p, into: out.baseAddress!, context: context)
        }
        let projected = try projection.forward(columns, context: context)
        return (projected.output.reshaped([batch, patches, self.width]), TrainingCache(imageShape: images.shape, projection: projected.cache))
    }

    /// From `dtokens` `[B, N, D]`: `dW = dtokensᵀ · patches` (viewed `[D, C, p, p]`), `db = Σ dtokens` (when the layer has a bias), and, when
    /// `inputGradient`, `dimages` = the patch rows `dtokens · W` scattered back to their pixels (the patches do not overlap).
    /// `gradients` (the projection's scope, `patch_embed.proj`) says whether `dW` and `db` are computed (zeros otherwise).
    public func backward(_ outputGradient: Tensor, cache: TrainingCache, inputGradient: Bool, gradients scope: GradientScope = .all,
                         context: ComputeContext) throws -> (input: Tensor?, parameters: PatchEmbedding) {
        let (batch, height, imageWidth) = (cache.imageShape[0], cache.imageShape[2], cache.imageShape[3])
        let p = patchSize, gridH = height / p, gridW = imageWidth / p, patchLength = channels * p * p
        try BackpropagationError.require(outputGradient, shape: [batch, gridH * gridW, width], "patch embedding output gradient")
        let rowsGradient = outputGradient.reshaped([batch * gridH * gridW, width])
        let projected = GradientKernels.linearBackward(outputGradient: rowsGradient, input: cache.projection.input, weight: projection.weight,
                                                       hasBias: bias != nil, scope: scope, inputGradient: inputGradient,
                                                       context: context)
        var gradients = self
        gradients.weight = projected.weight.reshaped(weight.shape)
        gradients.bias = projected.bias
        guard let columnsGradient = projected.input else { return (nil, gradients) }
        let images = Tensor(uninitializedShape: cache.imageShape) { out in
            let (op, cp) = (out.baseAddress!, columnsGradient.storage.pointer)
            context.parallelFor(batch * gridH) { gridRow in
                let (item, py) = gridRow.quotientAndRemainder(dividingBy: gridH)
                for px in 0..<gridW {
                    let source = cp + ((item * gridH + py) * gridW + px) * patchLength
                    for c in 0..<channels {
                        for ky in 0..<p {
                            (op + ((item * channels + c) * height + py * p + ky) * imageWidth + px * p).update(from: source + (c * p + ky) * p, count: p)
                        }
                    }
                }
            }
        }
        return (images, gradients)
    }

    /// The conv as a Linear over patch rows: weight `[D, C·p·p]`, bias `[D]`.
    var projection: Linear { Linear(weight: weight.reshaped([width, channels * patchSize * patchSize]), bias: bias) }
}
