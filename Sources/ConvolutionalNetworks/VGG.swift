import Convolution
import TensorCore
import TensorKernels

/// torchvision's VGG in evaluation mode up to the penultimate classifier layer: stages of 3×3
/// convolutions (padding 1, bias, optional batch norm folded in, ReLU) each closed by a 2×2/2 max pool,
/// `AdaptiveAvgPool2d((7, 7))`, flattening in PyTorch's `[C, 7, 7]` order, then
/// `ReLU(classifier.0)` and `ReLU(classifier.3)` (the Dropouts are the identity in evaluation mode):
/// `[N, 4096]`, the model's output with `classifier[6]` replaced by the identity, as the
/// DINOv2-on-radiology study used VGG-19.
struct VGG: Sendable {
    let stages: [[FoldedConvolution]]
    /// `classifier.0` and `classifier.3`: weights `[out, in]`, biases `[out]`.
    let classifier: [(weight: Tensor, bias: Tensor)]

    var featureDimension: Int { classifier.last!.weight.shape[0] }

    init(architecture: ConvolutionalArchitecture, tensors: inout CheckpointTensors) throws {
        guard case let .vgg(_, batchNorm) = architecture else { preconditionFailure("VGG built from \(architecture)") }
        var channels = 3
        stages = try architecture.vggFeatureIndices.map { indices in
            try indices.map { index in
                let (weight, bias) = try tensors.convolution("features.\(index)", inChannels: channels, kernel: 3, hasBias: true)
                channels = weight.shape[0]
                let normalization = batchNorm ? try tensors.batchNorm("features.\(index + 1)", channels: channels) : nil
                return FoldedConvolution(weight: weight, bias: bias, normalization: normalization, stride: 1, padding: 1, appliesReLU: true)
            }
        }
        let hidden = try tensors.linear("classifier.0", inFeatures: channels * 49)
        classifier = [hidden, try tensors.linear("classifier.3", inFeatures: hidden.weight.shape[0])]
    }

    /// The classifier features `[N, D]`, each stage's pooled map when `keepStages`, and the last one.
    func callAsFunction(_ input: FeatureMap, keepStages: Bool, context: ComputeContext) throws -> (pooled: Tensor, stages: [FeatureMap], last: FeatureMap) {
        var x = input
        var outputs: [FeatureMap] = []
        for stage in stages {
            for convolution in stage { x = try convolution(x, context: context) }
            x = try ChannelsLastPooling.maxPool(x, kernel: 2, stride: 2, padding: 0, context: context)
            if keepStages { outputs.append(x) }
        }
        var features = ChannelsLastPooling.adaptiveAveragePool(x, height: 7, width: 7, context: context).channelsFirst()
            .reshaped([x.batch, x.channels * 49])
        for layer in classifier { features = Self.linearReLU(features, layer.weight, layer.bias, context: context) }
        return (features, outputs, x)
    }

    /// `ReLU(x · Wᵀ + b)` for `x` `[N, in]`, `W` `[out, in]`, the output columns spread over the workers.
    private static func linearReLU(_ x: Tensor, _ weight: Tensor, _ bias: Tensor, context: ComputeContext) -> Tensor {
        let (n, inFeatures, outFeatures) = (x.shape[0], x.shape[1], weight.shape[0])
        return Tensor(uninitializedShape: [n, outFeatures]) { y in
            x.withUnsafeBufferPointer { a in
                weight.withUnsafeBufferPointer { w in
                    bias.withUnsafeBufferPointer { b in
                        context.parallelRanges(outFeatures, minimumChunk: 64) { columns in
                            BLAS.gemm(transposeB: true, m: n, n: columns.count, k: inFeatures, a: a.baseAddress!, lda: inFeatures,
                                      b: w.baseAddress! + columns.lowerBound * inFeatures, ldb: inFeatures,
                                      c: y.baseAddress! + columns.lowerBound, ldc: outFeatures)
                            for row in 0..<n {
                                for o in columns { y[row * outFeatures + o] = max(y[row * outFeatures + o] + b[o], 0) }
                            }
                        }
                    }
                }
            }
        }
    }
}
