import Convolution
import Layers
import TensorCore
import TensorKernels

/// SAM's neck: `Conv2d(D, N, 1, bias=False)` → `LayerNorm2d(N)` → `Conv2d(N, N, 3, padding=1, bias=False)` →
/// `LayerNorm2d(N)`, with LayerNorm2d the LayerNorm over channels at each pixel (eps 1e-6).
/// Tokens `[B, h·w, D]` (row-major over the grid) → `[B, N, h, w]`, and the same as tokens `[B, h·w, N]`.
public struct SAMNeck: ParameterContainer, Sendable {
    public var projection: Conv2d // weight [N, D, 1, 1]
    public var norm1: LayerNorm // [N]
    public var convolution: Conv2d // weight [N, N, 3, 3], padding 1
    public var norm2: LayerNorm // [N]

    /// A neck with zero-initialised parameters.
    init(width: Int, channels: Int, eps: Float) throws {
        projection = try Conv2d(weight: Tensor(shape: [channels, width, 1, 1]), bias: nil)
        norm1 = LayerNorm(width: channels, eps: eps)
        convolution = try Conv2d(weight: Tensor(shape: [channels, channels, 3, 3]), bias: nil, padding: 1)
        norm2 = LayerNorm(width: channels, eps: eps)
    }

    /// `tokens` `[B, h·w, D]` → the neck output channels-first `[B, N, h, w]` and as tokens `[B, h·w, N]`.
    /// The 1×1 convolution and both norms run on channels-last rows; the 3×3 convolution on NCHW.
    func callAsFunction(_ tokens: Tensor, gridHeight: Int, gridWidth: Int, context: ComputeContext) throws
        -> (channelsFirst: Tensor, tokens: Tensor) {
        let (batch, pixels) = (tokens.shape[0], tokens.shape[1])
        let channels = projection.outChannels
        let pointwise = Linear(weight: projection.weight.reshaped([channels, projection.inChannels]), bias: nil)
        var projected = pointwise(tokens, context: context) // [B, h·w, N]
        normalise(&projected, with: norm1, context: context)
        let image = Self.transposed(projected).reshaped([batch, channels, gridHeight, gridWidth])
        let convolved = try convolution.forward(image, context: context).output // [B, N, h, w]
        var output = Self.transposed(convolved.reshaped([batch, channels, pixels]))
        normalise(&output, with: norm2, context: context)
        return (Self.transposed(output).reshaped([batch, channels, gridHeight, gridWidth]), output)
    }

    /// LayerNorm2d on channels-last rows, in place.
    private func normalise(_ x: inout Tensor, with norm: LayerNorm, context: ComputeContext) {
        let rows = x.count / norm.weight.count
        x.withUnsafeMutableBufferPointer { norm.apply(UnsafePointer($0.baseAddress!), rows: rows, into: $0.baseAddress!, context: context) }
    }

    /// `[B, P, C]` → `[B, C, P]`.
    static func transposed(_ x: Tensor) -> Tensor {
        let (batch, rows, columns) = (x.shape[0], x.shape[1], x.shape[2])
        return Tensor(uninitializedShape: [batch, columns, rows]) { out in
            x.withUnsafeBufferPointer { source in
                for item in 0..<batch {
                    let from = source.baseAddress! + item * rows * columns
                    let to = out.baseAddress! + item * rows * columns
                    for row in 0..<rows {
                        for column in 0..<columns { to[column * rows + row] = from[row * columns + column] }
                    }
                }
            }
        }
    }

    public mutating func visitParameters<V: ParameterVisitor>(_ visitor: inout V, scope: ParameterScope) {
        projection.visitParameters(&visitor, scope: scope.scope("0"))
        norm1.visitParameters(&visitor, scope: scope.scope("1"))
        convolution.visitParameters(&visitor, scope: scope.scope("2"))
        norm2.visitParameters(&visitor, scope: scope.scope("3"))
    }
}
