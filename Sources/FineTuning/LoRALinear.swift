import Layers
import Randomness
import TensorCore
import TensorKernels

/// A frozen `Linear` with a trainable low-rank update (LoRA, as `peft`'s `lora.Linear`):
///
///     y[..., out] = x·Wᵀ + b + s·(dropout(x)·Aᵀ)·Bᵀ,   s = α / r,
///
/// `W` `[out, in]` and `b` `[out]` frozen, `A` `[r, in]`, `B` `[out, r]` trained. Dropout is inverted dropout
/// with probability `p` on the input of `A` only, in training; evaluation uses no dropout.
public struct LoRALinear: Sendable {
    /// The frozen layer (`W`, `b`).
    public let base: Linear
    /// The down projection. // [r, in]
    public var a: Tensor
    /// The up projection. // [out, r]
    public var b: Tensor
    /// Rank, `α`, dropout.
    public let configuration: LoRAConfiguration

    /// The freshly initialised adapter of `peft`: `A` Kaiming-uniform as `nn.init.kaiming_uniform_(A, a=√5)`,
    /// i.e. every element `U(−1/√in, 1/√in)`, drawn row-major from `generator`; `B` zeros (so `y` starts at the
    /// base layer's output).
    public init(base: Linear, configuration: LoRAConfiguration, generator: inout SeededGenerator) {
        let bound = 1 / Double(base.inFeatures).squareRoot()
        let a = Tensor(shape: [configuration.rank, base.inFeatures],
                       values: (0..<configuration.rank * base.inFeatures).map { _ in Float(generator.uniform(in: -bound...bound)) })
        self.init(validatedBase: base, a: a, b: Tensor(shape: [base.outFeatures, configuration.rank]), configuration: configuration)
    }

    /// An adapter over given `A` `[r, in]` and `B` `[out, r]`; throws when their shapes do not fit `base` and `r`.
    public init(base: Linear, a: Tensor, b: Tensor, configuration: LoRAConfiguration) throws {
        let r = configuration.rank
        guard a.shape == [r, base.inFeatures] else {
            throw FineTuningError("LoRA A has shape \(describeShape(a.shape)); expected [r, in] = \(describeShape([r, base.inFeatures]))")
        }
        guard b.shape == [base.outFeatures, r] else {
            throw FineTuningError("LoRA B has shape \(describeShape(b.shape)); expected [out, r] = \(describeShape([base.outFeatures, r]))")
        }
        self.init(validatedBase: base, a: a, b: b, configuration: configuration)
    }

    private init(validatedBase base: Linear, a: Tensor, b: Tensor, configuration: LoRAConfiguration) {
        self.base = base
        self.a = a
        self.b = b
        self.configuration = configuration
    }

    public var inFeatures: Int { base.inFeatures }
    public var outFeatures: Int { base.outFeatures }
    var rank: Int { configuration.rank }

    /// What `backward` needs from `forward`.
    public struct TrainingCache: Sendable {
        /// The input `x`. // [..., in]
        public let input: Tensor
        /// The dropout multipliers, `0` or `1/(1 − p)` per element of `x`; nil without dropout. // [..., in]
        public let dropoutMask: Tensor?
        /// `dropout(x)`, the input of `A` (`x` itself without dropout). // [..., in]
        public let droppedInput: Tensor
        /// `h = dropout(x)·Aᵀ`. // [..., r]
        public let hidden: Tensor
    }

    /// The gradients of the trainable parameters.
    public struct Gradients: Sendable {
        /// `dA = s·(dy·B)ᵀ·dropout(x)`. // [r, in]
        public let a: Tensor
        /// `dB = s·dyᵀ·h`. // [out, r]
        public let b: Tensor
    }

    /// The evaluation forward pass (no dropout): `x` `[..., in]` → `y` `[..., out]`.
    public func forward(_ x: Tensor, context: ComputeContext) throws -> (output: Tensor, cache: TrainingCache) {
        try requireInput(x)
        return try forward(x, dropoutMask: nil, adding: base(x, context: context), context: context)
    }

    /// The training forward pass: dropout with probability `p` on the input of `A`, one `uniform()` draw per element
    /// of `x` in row-major order (an element is dropped when the draw is below `p`; kept ones are scaled by
    /// `1/(1 − p)`); no draws when `p = 0`.
    public func forward(_ x: Tensor, dropoutGenerator generator: inout SeededGenerator,
                        context: ComputeContext) throws -> (output: Tensor, cache: TrainingCache) {
        try requireInput(x)
        return try forward(x, dropoutMask: dropoutMask(shape: x.shape, generator: &generator), adding: base(x, context: context),
                           context: context)
    }

    /// The multipliers of a dropout mask for inputs of `shape` (see the training `forward`); nil when `p = 0`.
    func dropoutMask(shape: [Int], generator: inout SeededGenerator) -> Tensor? {
        let p = Double(configuration.dropout)
        guard p > 0 else { return nil }
        let keep = Float(1 / (1 - p))
        return Tensor(shape: shape, values: (0..<shape.reduce(1, *)).map { _ in generator.uniform() < p ? 0 : keep })
    }

    /// Throws unless `x` is `[..., in]`.
    func requireInput(_ x: Tensor) throws {
        guard x.rank >= 1, x.shape.last == inFeatures else {
            throw FineTuningError("LoRA Linear expects inputs [..., \(inFeatures)], got \(describeShape(x.shape))")
        }
    }

    /// `initial + s·(dropout(x)·Aᵀ)·Bᵀ` with `initial` `[..., out]` (the base output, or zeros for the update alone);
    /// `x` already checked by `requireInput`.
    func forward(_ x: Tensor, dropoutMask mask: Tensor?, adding initial: Tensor,
                 context: ComputeContext) throws -> (output: Tensor, cache: TrainingCache) {
        let (rows, r, s) = (x.count / inFeatures, rank, configuration.scale)
        let dropped = mask.map { Self.product(x, $0) } ?? x
        let leading = Array(x.shape.dropLast())
        let (ap, bp, xdp) = (a.storage.pointer, b.storage.pointer, dropped.storage.pointer)
        let hidden = Tensor(uninitializedShape: leading + [r]) { h in
            let hp = h.baseAddress!
            context.parallelRanges(rows, minimumChunk: 32) { range in
                BLAS.gemm(transposeB: true, m: range.count, n: r, k: inFeatures, a: xdp + range.lowerBound * inFeatures, lda: inFeatures,
                          b: ap, ldb: inFeatures, c: hp + range.lowerBound * r, ldc: r)
            }
        }
        var output = initial
        output.withUnsafeMutableBufferPointer { y in
            let (yp, hp) = (y.baseAddress!, hidden.storage.pointer)
            context.parallelRanges(rows, minimumChunk: 32) { range in
                BLAS.gemm(transposeB: true, m: range.count, n: outFeatures, k: r, alpha: s, a: hp + range.lowerBound * r, lda: r,
                          b: bp, ldb: r, beta: 1, c: yp + range.lowerBound * outFeatures, ldc: outFeatures)
            }
        }
        return (output, TrainingCache(input: x, dropoutMask: mask, droppedInput: dropped, hidden: hidden))
    }

    /// From `dy` `[..., out]`: the gradients of `A` and `B` (`W`, `b` are frozen) and of the input,
    /// `dx = dy·W + (dh·A) ⊙ mask` with `dh = s·dy·B` `[..., r]`.
    public func backward(_ outputGradient: Tensor, cache: TrainingCache,
                         context: ComputeContext) throws -> (input: Tensor, parameters: Gradients) {
        var inputGradient = try updateBackward(outputGradient, cache: cache, context: context)
        let (rows, dyp, wp) = (cache.input.count / inFeatures, outputGradient.storage.pointer, base.weight.storage.pointer)
        inputGradient.input.withUnsafeMutableBufferPointer { dx in
            let dxp = dx.baseAddress!
            context.parallelRanges(rows, minimumChunk: 32) { range in
                BLAS.gemm(m: range.count, n: inFeatures, k: outFeatures, a: dyp + range.lowerBound * outFeatures, lda: outFeatures,
                          b: wp, ldb: inFeatures, beta: 1, c: dxp + range.lowerBound * inFeatures, ldc: inFeatures)
            }
        }
        return inputGradient
    }

    /// The backward pass of the update alone: `dA`, `dB`, and its part of the input gradient, `(dh·A) ⊙ mask`.
    func updateBackward(_ outputGradient: Tensor, cache: TrainingCache,
                        context: ComputeContext) throws -> (input: Tensor, parameters: Gradients) {
        let expected = Array(cache.input.shape.dropLast()) + [outFeatures]
        guard outputGradient.shape == expected else {
            throw FineTuningError("LoRA Linear output gradient has shape \(describeShape(outputGradient.shape)); expected \(describeShape(expected))")
        }
        let (rows, r, s) = (cache.input.count / inFeatures, rank, configuration.scale)
        let (dyp, hp, xdp) = (outputGradient.storage.pointer, cache.hidden.storage.pointer, cache.droppedInput.storage.pointer)
        let (ap, bp) = (a.storage.pointer, b.storage.pointer)
        let bGradient = Tensor(uninitializedShape: [outFeatures, r]) { db in
            BLAS.gemm(transposeA: true, m: outFeatures, n: r, k: rows, alpha: s, a: dyp, lda: outFeatures, b: hp, ldb: r,
                      c: db.baseAddress!, ldc: r)
        }
        let hiddenGradient = Tensor(uninitializedShape: cache.hidden.shape) { dh in
            let dhp = dh.baseAddress!
            context.parallelRanges(rows, minimumChunk: 32) { range in
                BLAS.gemm(m: range.count, n: r, k: outFeatures, alpha: s, a: dyp + range.lowerBound * outFeatures, lda: outFeatures,
                          b: bp, ldb: r, c: dhp + range.lowerBound * r, ldc: r)
            }
        }
        let dhp = hiddenGradient.storage.pointer
        let aGradient = Tensor(uninitializedShape: [r, inFeatures]) { da in
            BLAS.gemm(transposeA: true, m: r, n: inFeatures, k: rows, a: dhp, lda: r, b: xdp, ldb: inFeatures,
                      c: da.baseAddress!, ldc: inFeatures)
        }
        let droppedGradient = Tensor(uninitializedShape: cache.input.shape) { dxd in
            let dxdp = dxd.baseAddress!
            context.parallelRanges(rows, minimumChunk: 32) { range in
                BLAS.gemm(m: range.count, n: inFeatures, k: r, a: dhp + range.lowerBound * r, lda: r,
                          b: ap, ldb: inFeatures, c: dxdp + range.lowerBound * inFeatures, ldc: inFeatures)
            }
        }
        let inputGradient = cache.dropoutMask.map { Self.product(droppedGradient, $0) } ?? droppedGradient
        return (inputGradient, Gradients(a: aGradient, b: bGradient))
    }

    /// The plain layer with the update folded in: `W' = W + s·B·A` `[out, in]`, `b` unchanged. Its output equals
    /// the evaluation forward pass of the adapter.
    public func merged() -> Linear {
        var weight = Tensor(shape: base.weight.shape, values: base.weight.scalars)
        weight.withUnsafeMutableBufferPointer { w in
            BLAS.gemm(m: outFeatures, n: inFeatures, k: rank, alpha: configuration.scale, a: b.storage.pointer, lda: rank,
                      b: a.storage.pointer, ldb: inFeatures, beta: 1, c: w.baseAddress!, ldc: inFeatures)
        }
        return Linear(weight: weight, bias: base.bias)
    }

    /// `x ⊙ y` elementwise (equal shapes).
    static func product(_ x: Tensor, _ y: Tensor) -> Tensor {
        Tensor(uninitializedShape: x.shape) { out in
            let (xp, yp) = (x.storage.pointer, y.storage.pointer)
            for i in 0..<x.count { out[i] = xp[i] * yp[i] }
        }
    }
}
