import TensorCore
import TensorKernels

/// The transformer block's feed-forward network, `[..., D]` → `[..., D]`:
/// - `.mlp`: `fc2(GELU(fc1(x)))` with exact-erf GELU (DINOv2 `Mlp`, keys `fc1`, `fc2`);
/// - `.swiGLU`: `w3(silu(x₁) · x₂)` where `[x₁ | x₂] = w12(x)` (DINOv2 `SwiGLUFFN`, keys `w12`, `w3`).
public enum FeedForward: ParameterContainer, Sendable {
    case mlp(fc1: Linear, fc2: Linear)
    case swiGLU(w12: Linear, w3: Linear)

    /// Which kind, and the hidden width, as declared by a configuration.
    public enum Kind: Equatable, Sendable, CustomStringConvertible {
        case mlp(hidden: Int)
        case swiGLU(hidden: Int)

        public var description: String {
            switch self {
            case let .mlp(hidden): "MLP (hidden \(hidden), GELU)"
            case let .swiGLU(hidden): "SwiGLU (hidden \(hidden))"
            }
        }
    }

    public init(width: Int, kind: Kind) {
        switch kind {
        case let .mlp(hidden):
            self = .mlp(fc1: Linear(inFeatures: width, outFeatures: hidden), fc2: Linear(inFeatures: hidden, outFeatures: width))
        case let .swiGLU(hidden):
            self = .swiGLU(w12: Linear(inFeatures: width, outFeatures: 2 * hidden), w3: Linear(inFeatures: hidden, outFeatures: width))
        }
    }

    public func callAsFunction(_ x: Tensor, context: ComputeContext) -> Tensor {
        switch self {
        case let .mlp(fc1, fc2):
            var hidden = fc1(x, context: context)
            let count = hidden.count
            hidden.withUnsafeMutableBufferPointer { h in
                let base = h.baseAddress!
                context.parallelRanges(count, minimumChunk: 4096) { RowKernels.geluInPlace(base + $0.lowerBound, count: $0.count) }
            }
            return fc2(hidden, context: context)
        case let .swiGLU(w12, w3):
            let both = w12(x, context: context)
            let hiddenWidth = w3.inFeatures
            let rows = both.count / (2 * hiddenWidth)
            let gated = Tensor(uninitializedShape: Array(x.shape.dropLast()) + [hiddenWidth]) { out in
                both.withUnsafeBufferPointer { source in
                    let input = source.baseAddress!, output = out.baseAddress!
                    context.parallelRanges(rows, minimumChunk: 8) { range in
                        RowKernels.swiGLUGate(input + range.lowerBound * 2 * hiddenWidth, into: output + range.lowerBound * hiddenWidth,
                                              rows: range.count, hidden: hiddenWidth)
                    }
                }
            }
            return w3(gated, context: context)
        }
    }

    public mutating func visitParameters<V: ParameterVisitor>(_ visitor: inout V, scope: ParameterScope) {
        switch self {
        case var .mlp(fc1, fc2):
            fc1.visitParameters(&visitor, scope: scope.scope("fc1"))
            fc2.visitParameters(&visitor, scope: scope.scope("fc2"))
            self = .mlp(fc1: fc1, fc2: fc2)
        case var .swiGLU(w12, w3):
            w12.visitParameters(&visitor, scope: scope.scope("w12"))
            w3.visitParameters(&visitor, scope: scope.scope("w3"))
            self = .swiGLU(w12: w12, w3: w3)
        }
    }
}
