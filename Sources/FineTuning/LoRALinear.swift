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
        /// `h = dropout(x)·Aᵀ`. // [..., r]
        public let hidden: Tensor

        /// `dropout(x)`, the input of `A` (`x` itself without dropout). // [..., in]
        /// Recomputed from `x` and the mask when asked for, rather than kept: one tensor less per adapted Linear.
        public var droppedInput: Tensor { droppedInput(context: .serial) }

        func droppedInput(context: ComputeContext) -> Tensor {
            dropoutMask.map { LoRALinear.product(input, $0, context: context) } ?? input
        }
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
        var output = base(x, context: context)
        let cache = forward(x, dropoutMask: nil, addingInto: &output, context: context)
        return (output, cache)
    }

    /// The training forward pass: dropout with probability `p` on the input of `A`, one `uniform()` draw per element
    /// of `x` in row-major order (an element is dropped when the draw is below `p`; kept ones are scaled by
    /// `1/(1 − p)`); no draws when `p = 0`.
    public func forward(_ x: Tensor, dropoutGenerator generator: inout SeededGenerator,
                        context: ComputeContext) throws -> (output: Tensor, cache: TrainingCache) {
        try requireInput(x)
        let mask = dropoutMask(shape: x.shape, generator: &generator, context: context)
        var output = base(x, context: context)
        let cache = forward(x, dropoutMask: mask, addingInto: &output, context: context)
        return (output, cache)
    }

    /// The multipliers of a dropout mask for inputs of `shape` (see the training `forward`); nil when `p = 0`.
    ///
    /// The draws are spread over the workers: SplitMix64's state after `i` draws is the seed plus `i` times its
    /// increment, so a block of elements starting at `i` draws from a generator started at that state, and the
    /// mask equals the one drawn in a single sequence; `generator` ends where that sequence would.
    func dropoutMask(shape: [Int], generator: inout SeededGenerator, context: ComputeContext) -> Tensor? {
        let p = Double(configuration.dropout)
        guard p > 0 else { return nil }
        let keep = Float(1 / (1 - p))
        let start = generator.state, count = shape.reduce(1, *)
        let mask = Tensor(uninitializedShape: shape) { mask in
            let mp = mask.baseAddress!
            context.parallelRanges(count, minimumChunk: 1 << 16) { range in
                var block = Self.generator(from: start, after: range.lowerBound)
                for i in range { mp[i] = block.uniform() < p ? 0 : keep }
            }
        }
        generator = Self.generator(from: start, after: count)
        return mask
    }

    /// The generator that `SeededGenerator(seed: state)` becomes after `draws` draws.
    static func generator(from state: UInt64, after draws: Int) -> SeededGenerator {
        SeededGenerator(seed: state &+ UInt64(draws) &* 0x9E37_79B9_7F4A_7C15)
    }

    /// Throws unless `x` is `[..., in]`.
    func requireInput(_ x: Tensor) throws {
        guard x.rank >= 1, x.shape.last == inFeatures else {
            throw FineTuningError("LoRA Linear expects inputs [..., \(inFeatures)], got \(describeShape(x.shape))")
        }
    }

    /// Adds `s·(dropout(x)·Aᵀ)·Bᵀ` into `output` `[..., out]` (the base output, or zeros for the update alone);
    /// `x` already checked by `requireInput`.
    func forward(_ x: Tensor, dropoutMask mask: Tensor?, addingInto output: inout Tensor, context: ComputeContext) -> TrainingCache {
        let (rows, r, s) = (x.count / inFeatures, rank, configuration.scale)
        let dropped = mask.map { Self.product(x, $0, context: context) } ?? x
        let leading = Array(x.shape.dropLast())
        let (ap, bp, xdp) = (a.storage.pointer, b.storage.pointer, dropped.storage.pointer)
        let hidden = Tensor(uninitializedShape: leading + [r]) { h in
            let hp = h.baseAddress!
            context.parallelRanges(rows, minimumChunk: 32) { range in
                BLAS.gemm(transposeB: true, m: range.count, n: r, k: inFeatures, a: xdp + range.lowerBound * inFeatures, lda: inFeatures,
                          b: ap, ldb: inFeatures, c: hp + range.lowerBound * r, ldc: r)
            }
        }
        withExtendedLifetime(dropped) {} // its pointer was used above
        output.withUnsafeMutableBufferPointer { y in
            let (yp, hp) = (y.baseAddress!, hidden.storage.pointer)
            context.parallelRanges(rows, minimumChunk: 32) { range in
                BLAS.gemm(transposeB: true, m: range.count, n: outFeatures, k: r, alpha: s, a: hp + range.lowerBound * r, lda: r,
                          b: bp, ldb: r, beta: 1, c: yp + range.lowerBound * outFeatures, ldc: outFeatures)
            }
        }
        return TrainingCache(input: x, dropoutMask: mask, hidden: hidden)
    }

    /// From `dy` `[..., out]`: the gradients of `A` and `B` (`W`, `b` are frozen) and of the input,
    /// `dx = dy·W + (dh·A) ⊙ mask` with `dh = s·dy·B` `[..., r]`.
    public func backward(_ outputGradient: Tensor, cache: TrainingCache,
                         context: ComputeContext) throws -> (input: Tensor, parameters: Gradients) {
        try requireOutputGradient(outputGradient, cache: cache)
        let (rows, dyp, wp) = (cache.input.count / inFeatures, outputGradient.storage.pointer, base.weight.storage.pointer)
        var inputGradient = Tensor(uninitializedShape: cache.input.shape) { dx in
            let dxp = dx.baseAddress!
            context.parallelRanges(rows, minimumChunk: 32) { range in
                BLAS.gemm(m: range.count, n: inFeatures, k: outFeatures, a: dyp + range.lowerBound * outFeatures, lda: outFeatures,
                          b: wp, ldb: inFeatures, c: dxp + range.lowerBound * inFeatures, ldc: inFeatures)
            }
        }
        let parameters = updateBackward(outputGradient, cache: cache, addingInputGradientTo: &inputGradient, context: context)
        return (inputGradient, parameters)
    }

    /// Throws unless `dy` is `[..., out]` for the cached input.
    func requireOutputGradient(_ outputGradient: Tensor, cache: TrainingCache) throws {
        let expected = Array(cache.input.shape.dropLast()) + [outFeatures]
        guard outputGradient.shape == expected else {
            throw FineTuningError("LoRA Linear output gradient has shape \(describeShape(outputGradient.shape)); expected \(describeShape(expected))")
        }
    }

    /// The backward pass of the update alone: `dA = (dh)ᵀ·dropout(x)`, `dB = s·dyᵀ·h`, and its part of the input
    /// gradient, `(dh·A) ⊙ mask`, added into `inputGradient` `[..., in]`; `dy` already checked.
    func updateBackward(_ outputGradient: Tensor, cache: TrainingCache, addingInputGradientTo inputGradient: inout Tensor,
                        context: ComputeContext) -> Gradients {
        let (rows, r, s) = (cache.input.count / inFeatures, rank, configuration.scale)
        let dropped = cache.droppedInput(context: context)
        let (dyp, hp, xdp) = (outputGradient.storage.pointer, cache.hidden.storage.pointer, dropped.storage.pointer)
        let (ap, bp) = (a.storage.pointer, b.storage.pointer)
        let bGradient = Tensor(uninitializedShape: [outFeatures, r]) { db in
            let dbp = db.baseAddress!
            context.parallelRanges(outFeatures, minimumChunk: 16) { range in
                BLAS.gemm(transposeA: true, m: range.count, n: r, k: rows, alpha: s, a: dyp + range.lowerBound, lda: outFeatures,
                          b: hp, ldb: r, c: dbp + range.lowerBound * r, ldc: r)
            }
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
            let dap = da.baseAddress!
            context.parallelRanges(inFeatures, minimumChunk: 16) { range in
                BLAS.gemm(transposeA: true, m: r, n: range.count, k: rows, a: dhp, lda: r, b: xdp + range.lowerBound, ldb: inFeatures,
                          c: dap + range.lowerBound, ldc: inFeatures)
            }
        }
        let maskPointer = cache.dropoutMask.map { UnsafePointer($0.storage.pointer) }
        inputGradient.withUnsafeMutableBufferPointer { dx in
            let dxp = dx.baseAddress!
            context.parallelRanges(rows, minimumChunk: 32) { range in
                let (first, count) = (range.lowerBound * inFeatures, range.count * inFeatures)
                guard let maskPointer else {
                    BLAS.gemm(m: range.count, n: inFeatures, k: r, a: dhp + range.lowerBound * r, lda: r,
                              b: ap, ldb: inFeatures, beta: 1, c: dxp + first, ldc: inFeatures)
                    return
                }
                let droppedGradient = UnsafeMutablePointer<Float>.allocate(capacity: count) // d dropout(x) of these rows
                defer { droppedGradient.deallocate() }
                BLAS.gemm(m: range.count, n: inFeatures, k: r, a: dhp + range.lowerBound * r, lda: r,
                          b: ap, ldb: inFeatures, c: droppedGradient, ldc: inFeatures)
                for i in 0..<count { dxp[first + i] += droppedGradient[i] * maskPointer[first + i] }
            }
        }
        withExtendedLifetime((dropped, hiddenGradient)) {} // their pointers were used above
        return Gradients(a: aGradient, b: bGradient)
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
    static func product(_ x: Tensor, _ y: Tensor, context: ComputeContext) -> Tensor {
        Tensor(uninitializedShape: x.shape) { out in
            let (op, xp, yp) = (out.baseAddress!, x.storage.pointer, y.storage.pointer)
            context.parallelRanges(x.count, minimumChunk: 16384) { range in
                for i in range { op[i] = xp[i] * yp[i] }
            }
        }
    }
}
