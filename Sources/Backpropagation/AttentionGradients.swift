import Layers
import TensorCore
import TensorKernels

extension Attention {
    /// What `backward` needs: the Linears' caches, the fused `qkv` `[B·N, 3D]` (columns q|k|v, head, channel)
    /// and the attention probabilities `P` `[B, H, N, N]`.
    public struct TrainingCache: Sendable {
        public let qkv: Linear.TrainingCache
        public let fused: Tensor // [B·N, 3D]
        public let probabilities: Tensor // [B, H, N, N]
        public let projection: Linear.TrainingCache
    }

    /// Tokens `[B, N, D]` → `[B, N, D]`: `[Q | K | V] = qkv(x)`, per item and head `P = softmax(Q·Kᵀ/√d)`,
    /// `O = P·V`, heads side by side, then `proj(O)`. (Same kernels as inference, with `P` kept.)
    /// `scope` is the attention's key (`blocks.3.attn`) and adapters.
    public func forward(_ x: Tensor, scope: LinearScope = LinearScope(), context: ComputeContext) throws -> (output: Tensor, cache: TrainingCache) {
        guard x.rank == 3, x.shape[2] == qkv.inFeatures else {
            throw BackpropagationError("attention expects tokens [B, N, \(qkv.inFeatures)], got \(describeShape(x.shape))")
        }
        let (batch, tokens, width) = (x.shape[0], x.shape[1], x.shape[2])
        let headDim = width / heads, scale = 1 / Float(headDim).squareRoot()
        let fused = try qkv.forward(x.reshaped([batch * tokens, width]), scope: scope.child("qkv"), context: context)
        let probabilities = Tensor(uninitializedShape: [batch, heads, tokens, tokens]) { _ in }
        let mixed = Tensor(uninitializedShape: [batch * tokens, width]) { out in
            let (op, pp, fp) = (out.baseAddress!, probabilities.storage.pointer, fused.output.storage.pointer)
            context.parallelFor(batch * heads) { pair in
                let (item, head) = pair.quotientAndRemainder(dividingBy: heads)
                let base = fp + item * tokens * 3 * width + head * headDim
                let p = pp + pair * tokens * tokens
                BLAS.gemm(transposeB: true, m: tokens, n: tokens, k: headDim, alpha: scale, a: base, lda: 3 * width,
                          b: base + width, ldb: 3 * width, c: p, ldc: tokens)
                RowKernels.softmaxInPlace(p, rows: tokens, width: tokens)
                BLAS.gemm(m: tokens, n: headDim, k: tokens, a: p, lda: tokens, b: base + 2 * width, ldb: 3 * width,
                          c: op + item * tokens * width + head * headDim, ldc: width)
            }
        }
        let projected = try proj.forward(mixed, scope: scope.child("proj"), context: context)
        return (projected.output.reshaped([batch, tokens, width]),
                TrainingCache(qkv: fused.cache, fused: fused.output, probabilities: probabilities, projection: projected.cache))
    }

    /// Per item and head, with `dO` the gradient of the mixed heads and `S = Q·Kᵀ/√d`:
    /// `dV = Pᵀ·dO`, `dP = dO·Vᵀ`, `dS = P ⊙ (dP − rowsum(dP ⊙ P))` (softmax backward),
    /// `dQ = dS·K/√d`, `dK = dSᵀ·Q/√d`; then through `qkv` and `proj`. Returns `dx` `[B, N, D]` and an
    /// `Attention` holding the gradients of `qkv` and `proj`.
    public func backward(_ outputGradient: Tensor, cache: TrainingCache, context: ComputeContext) throws -> (input: Tensor, parameters: Attention) {
        var adapterGradients: [String: Tensor] = [:]
        return try backward(outputGradient, cache: cache, adapterGradients: &adapterGradients, context: context)
    }

    /// As `backward(_:cache:context:)`, storing the gradients of adapters' parameters by key into `adapterGradients`.
    /// `gradients` (the attention's scope, `blocks.3.attn`) says which parameter gradients are computed.
    public func backward(_ outputGradient: Tensor, cache: TrainingCache, adapterGradients: inout [String: Tensor],
                         gradients scope: GradientScope = .all, context: ComputeContext) throws -> (input: Tensor, parameters: Attention) {
        let (batch, tokens) = (cache.probabilities.shape[0], cache.probabilities.shape[2])
        let width = proj.outFeatures, headDim = width / heads, scale = 1 / Float(headDim).squareRoot()
        try BackpropagationError.require(outputGradient, shape: [batch, tokens, width], "attention output gradient")
        let projection = try proj.backward(outputGradient.reshaped([batch * tokens, width]), cache: cache.projection,
                                           adapterGradients: &adapterGradients, gradients: scope.child("proj"), context: context)
        let fusedGradient = Tensor(uninitializedShape: [batch * tokens, 3 * width]) { out in
            let (dfp, fp, pp, dop) = (out.baseAddress!, cache.fused.storage.pointer, cache.probabilities.storage.pointer,
                                      projection.input.storage.pointer)
            context.parallelRanges(batch * heads) { pairs in
                let scores = UnsafeMutablePointer<Float>.allocate(capacity: tokens * tokens)
                defer { scores.deallocate() }
                for pair in pairs {
                    let (item, head) = pair.quotientAndRemainder(dividingBy: heads)
                    let offset = item * tokens * 3 * width + head * headDim
                    let (q, k, v) = (fp + offset, fp + offset + width, fp + offset + 2 * width)
                    let (dq, dk, dv) = (dfp + offset, dfp + offset + width, dfp + offset + 2 * width)
                    let p = pp + pair * tokens * tokens
                    let dO = dop + item * tokens * width + head * headDim
                    BLAS.gemm(transposeA: true, m: tokens, n: headDim, k: tokens, a: p, lda: tokens, b: dO, ldb: width, c: dv, ldc: 3 * width)
                    BLAS.gemm(transposeB: true, m: tokens, n: tokens, k: headDim, a: dO, lda: width, b: v, ldb: 3 * width, c: scores, ldc: tokens)
                    Self.softmaxBackward(probabilities: p, gradient: scores, rows: tokens, width: tokens)
                    BLAS.gemm(m: tokens, n: headDim, k: tokens, alpha: scale, a: scores, lda: tokens, b: k, ldb: 3 * width, c: dq, ldc: 3 * width)
                    BLAS.gemm(transposeA: true, m: tokens, n: headDim, k: tokens, alpha: scale, a: scores, lda: tokens, b: q, ldb: 3 * width,
                              c: dk, ldc: 3 * width)
                }
            }
        }
        let input = try qkv.backward(fusedGradient, cache: cache.qkv, adapterGradients: &adapterGradients, gradients: scope.child("qkv"),
                                     context: context)
        var gradients = self
        gradients.qkv = input.parameters
        gradients.proj = projection.parameters
        return (input.input.reshaped([batch, tokens, width]), gradients)
    }

    /// Row softmax backward in place: `g ← p ⊙ (g − Σ_j g_j·p_j)` for each row of `[rows, width]`.
    static func softmaxBackward(probabilities p: UnsafePointer<Float>, gradient g: UnsafeMutablePointer<Float>, rows: Int, width: Int) {
        let vectorEnd = width - width % 16
        for row in 0..<rows {
            let (pr, gr) = (p + row * width, g + row * width)
            var dots = SIMD16<Float>()
            for j in stride(from: 0, to: vectorEnd, by: 16) { dots += SIMD16.load(pr + j) * SIMD16.load(gr + j) }
            var dot = dots.sum()
            for j in vectorEnd..<width { dot += pr[j] * gr[j] }
            for j in stride(from: 0, to: vectorEnd, by: 16) { (SIMD16.load(pr + j) * (SIMD16.load(gr + j) - dot)).store(to: gr + j) }
            for j in vectorEnd..<width { gr[j] = pr[j] * (gr[j] - dot) }
        }
    }
}
