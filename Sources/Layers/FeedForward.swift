import TensorCore
import TensorKernels

/// The transformer block's feed-forward network, `[..., D]` → `[..., D]`:
/// - `.mlp`: `fc2(act(fc1(x)))` with `act` exact-erf GELU (DINOv2/timm `Mlp`, keys `fc1`, `fc2`) or quick GELU
///   (OpenAI CLIP), see `Activation`;
/// - `.swiGLU`: `w3(silu(x₁) · x₂)` where `[x₁ | x₂] = w12(x)` (DINOv2 `SwiGLUFFN`, keys `w12`, `w3`).
public enum FeedForward: ParameterContainer, Sendable {
    case mlp(fc1: Linear, fc2: Linear, activation: Activation = .gelu)
    case swiGLU(w12: Linear, w3: Linear)

    /// Which kind, and the hidden width, as declared by a configuration.
    public enum Kind: Equatable, Sendable, CustomStringConvertible {
        case mlp(hidden: Int, activation: Activation = .gelu)
        case swiGLU(hidden: Int)

        public var description: String {
            switch self {
            case let .mlp(hidden, activation): "MLP (hidden \(hidden), \(activation))"
            case let .swiGLU(hidden): "SwiGLU (hidden \(hidden))"
            }
        }
    }

    public init(width: Int, kind: Kind) {
        switch kind {
        case let .mlp(hidden, activation):
            self = .mlp(fc1: Linear(inFeatures: width, outFeatures: hidden), fc2: Linear(inFeatures: hidden, outFeatures: width),
                        activation: activation)
        case let .swiGLU(hidden):
            self = .swiGLU(w12: Linear(inFeatures: width, outFeatures: 2 * hidden), w3: Linear(inFeatures: hidden, outFeatures: width))
        }
    }

    /// Floats of scratch space `apply` needs per row.
    public var scratchWidth: Int {
        switch self {
        case let .mlp(fc1, _, _): fc1.outFeatures
        case let .swiGLU(w12, w3): w12.outFeatures + w3.inFeatures
        }
    }

    /// Single-threaded forward of `rows` rows: `input` `[rows, D]` → `output` `[rows, D]`, with
    /// `scratch` `[rows, scratchWidth]` for the hidden activations (sized for a row block that stays in cache).
    public func apply(_ input: UnsafePointer<Float>, rows: Int, into output: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>) {
        switch self {
        case let .mlp(fc1, fc2, activation):
            fc1.apply(input, rows: rows, into: scratch)
            activation.applyInPlace(scratch, count: rows * fc1.outFeatures)
            fc2.apply(scratch, rows: rows, into: output)
        case let .swiGLU(w12, w3):
            let gated = scratch + rows * w12.outFeatures
            w12.apply(input, rows: rows, into: scratch)
            RowKernels.swiGLUGate(scratch, into: gated, rows: rows, hidden: w3.inFeatures)
            w3.apply(gated, rows: rows, into: output)
        }
    }

    public mutating func visitParameters<V: ParameterVisitor>(_ visitor: inout V, scope: ParameterScope) {
        switch self {
        case var .mlp(fc1, fc2, activation):
            fc1.visitParameters(&visitor, scope: scope.scope("fc1"))
            fc2.visitParameters(&visitor, scope: scope.scope("fc2"))
            self = .mlp(fc1: fc1, fc2: fc2, activation: activation)
        case var .swiGLU(w12, w3):
            w12.visitParameters(&visitor, scope: scope.scope("w12"))
            w3.visitParameters(&visitor, scope: scope.scope("w3"))
            self = .swiGLU(w12: w12, w3: w3)
        }
    }
}
