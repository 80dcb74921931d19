import TensorCore
import TensorKernels

/// `Conv2d(C, D, kernel p, stride p)` over non-overlapping patches, computed as one GEMM:
/// images `[B, C, H, W]` → tokens `[B, (H/p)·(W/p), D]`, patches row-major over the grid. The bias is absent in
/// CLIP models (`Conv2d(..., bias=False)`).
public struct PatchEmbedding: ParameterContainer, Sendable {
    public var weight: Tensor // [D, C, p, p]
    public var bias: Tensor? // [D]

    public init(channels: Int, width: Int, patchSize: Int, bias: Bool = true) {
        weight = Tensor(shape: [width, channels, patchSize, patchSize])
        self.bias = bias ? Tensor(shape: [width]) : nil
    }

    public var patchSize: Int { weight.shape[2] }
    public var channels: Int { weight.shape[1] }
    public var width: Int { weight.shape[0] }

    public func callAsFunction(_ images: Tensor, context: ComputeContext) -> Tensor {
        let (batch, height, imageWidth) = (images.shape[0], images.shape[2], images.shape[3])
        let p = patchSize
        let patches = (height / p) * (imageWidth / p)
        let patchLength = channels * p * p
        let columns = Tensor(uninitializedShape: [batch * patches, patchLength]) { out in
            images.withUnsafeBufferPointer {
                MatrixKernels.patchify($0.baseAddress!, batch: batch, channels: channels, height: height, width: imageWidth,
                                       patch: p, into: out.baseAddress!, context: context)
            }
        }
        let projection = Linear(weight: weight.reshaped([width, patchLength]), bias: bias)
        return projection(columns, context: context).reshaped([batch, patches, width])
    }

    public mutating func visitParameters<V: ParameterVisitor>(_ visitor: inout V, scope: ParameterScope) {
        visitor.visit(scope.key("weight"), &weight)
        if bias != nil { visitor.visit(scope.key("bias"), &bias!) }
    }
}
