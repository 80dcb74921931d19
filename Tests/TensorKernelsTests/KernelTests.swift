import Foundation
import TensorCore
@testable import TensorKernels
import TestSupport
import XCTest

/// Optimised kernels against the naive `Double` loops of `NaiveKernels`.
final class KernelTests: XCTestCase {
    let context = ComputeContext(threads: 2)

    func random(_ count: Int, seed: UInt64, scale: Float = 1) -> [Float] {
        var state = seed &* 0x9E37_79B9_7F4A_7C15 | 1
        return (0..<count).map { _ in
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            return (Float(state >> 40) / Float(1 << 24) * 2 - 1) * scale
        }
    }

    func testGEMMAllTransposes() {
        let (m, n, k) = (37, 29, 41)
        for transposeA in [false, true] {
            for transposeB in [false, true] {
                let a = random(m * k, seed: 1), b = random(k * n, seed: 2)
                var c = [Float](repeating: 0, count: m * n)
                BLAS.gemm(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, a: a, lda: transposeA ? m : k,
                          b: b, ldb: transposeB ? k : n, c: &c, ldc: n)
                let expected = NaiveKernels.gemm(a, b, m: m, n: n, k: k, transposeA: transposeA, transposeB: transposeB)
                assertClose(Tensor(shape: [m, n], values: c), Tensor(shape: [m, n], values: expected), tolerance: 1e-5, "A^T \(transposeA) B^T \(transposeB)")
            }
        }
    }

    func testBatchedGEMMWithTransposes() {
        let (batch, m, n, k) = (3, 7, 5, 6)
        for (transposeA, transposeB) in [(false, false), (true, false), (false, true), (true, true)] {
            let a = random(batch * m * k, seed: 20), b = random(batch * k * n, seed: 21)
            var c = random(batch * m * n, seed: 22)
            let before = c
            MatrixKernels.batchedGEMM(batch: batch, transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: 0.5,
                                      a: a, lda: transposeA ? m : k, strideA: m * k, b: b, ldb: transposeB ? k : n, strideB: k * n,
                                      beta: 2, c: &c, ldc: n, strideC: m * n, context: context)
            for i in 0..<batch {
                let product = NaiveKernels.gemm(Array(a[i * m * k..<(i + 1) * m * k]), Array(b[i * k * n..<(i + 1) * k * n]),
                                                m: m, n: n, k: k, transposeA: transposeA, transposeB: transposeB)
                let expected = (0..<(m * n)).map { 0.5 * product[$0] + 2 * before[i * m * n + $0] }
                assertClose(Tensor(shape: [m, n], values: Array(c[i * m * n..<(i + 1) * m * n])), Tensor(shape: [m, n], values: expected),
                            tolerance: 1e-5, "item \(i), A^T \(transposeA), B^T \(transposeB)")
            }
        }
    }

    func testLinearWithBiasSplitOverThreads() {
        let (rows, inFeatures, outFeatures) = (203, 48, 40)
        let x = random(rows * inFeatures, seed: 3), w = random(outFeatures * inFeatures, seed: 4), bias = random(outFeatures, seed: 5)
        var y = [Float](repeating: .nan, count: rows * outFeatures)
        MatrixKernels.linear(x, rows: rows, inFeatures: inFeatures, weight: w, bias: bias, outFeatures: outFeatures, into: &y, context: context)
        var expected = NaiveKernels.gemm(x, w, m: rows, n: outFeatures, k: inFeatures, transposeA: false, transposeB: true)
        for r in 0..<rows { for j in 0..<outFeatures { expected[r * outFeatures + j] += bias[j] } }
        assertClose(Tensor(shape: [rows, outFeatures], values: y), Tensor(shape: [rows, outFeatures], values: expected), tolerance: 1e-5)
    }

    func testLayerNorm() {
        for width in [7, 16, 384, 385] {
            let rows = 9
            let x = random(rows * width, seed: 6).map { $0 * 3 + 1.5 }, w = random(width, seed: 7), b = random(width, seed: 8)
            var y = [Float](repeating: 0, count: rows * width)
            RowKernels.layerNorm(x, into: &y, rows: rows, width: width, weight: w, bias: b, eps: 1e-6, context: context)
            let expected = NaiveKernels.layerNorm(x, width: width, weight: w, bias: b, eps: 1e-6)
            assertClose(Tensor(shape: [rows, width], values: y), Tensor(shape: [rows, width], values: expected), tolerance: 2e-5, "width \(width)")
        }
    }

    func testSoftmaxMatchesAndRowsSumToOne() {
        for width in [1, 5, 16, 257] {
            let rows = 4
            var x = random(rows * width, seed: 9, scale: 30)
            let expected = NaiveKernels.softmax(x, width: width)
            RowKernels.softmaxInPlace(&x, rows: rows, width: width)
            assertClose(Tensor(shape: [rows, width], values: x), Tensor(shape: [rows, width], values: expected), tolerance: 1e-6, "width \(width)")
            for row in 0..<rows {
                XCTAssertEqual(x[row * width..<(row + 1) * width].reduce(0, +), 1, accuracy: 1e-5)
            }
        }
    }

    func testVectorExpRelativeError() {
        var worst: Double = 0
        var x: Float = -87
        while x < 88 {
            let v = VectorMath.exp(SIMD16<Float>(repeating: x))[0]
            worst = max(worst, abs(Double(v) - Foundation.exp(Double(x))) / Foundation.exp(Double(x)))
            x += 0.0137
        }
        XCTAssertLessThan(worst, 2e-7, "max relative error \(worst)")
        XCTAssertEqual(VectorMath.exp(SIMD16<Float>(repeating: -200))[0], 0, accuracy: 1e-37)
        XCTAssertTrue(VectorMath.exp(SIMD16<Float>(repeating: 200))[0].isFinite)
    }

    func testVectorErfAbsoluteError() {
        var worst: Double = 0
        var x: Float = -6
        while x < 6 {
            worst = max(worst, abs(Double(VectorMath.erf(SIMD16<Float>(repeating: x))[0]) - Foundation.erf(Double(x))))
            x += 0.001
        }
        XCTAssertLessThan(worst, 4e-7, "max absolute error \(worst)")
    }

    func testGELUAndSiLU() {
        var x = random(1000, seed: 10, scale: 8)
        let expected = x.map(NaiveKernels.gelu)
        RowKernels.geluInPlace(&x, count: x.count)
        assertClose(Tensor(shape: [1000], values: x), Tensor(shape: [1000], values: expected), tolerance: 3e-6)
        let gate = random(2 * 37, seed: 11, scale: 5)
        var y = [Float](repeating: 0, count: 37)
        RowKernels.swiGLUGate(gate, into: &y, rows: 1, hidden: 37)
        let expectedGate = (0..<37).map { NaiveKernels.silu(gate[$0]) * gate[37 + $0] }
        assertClose(Tensor(shape: [37], values: y), Tensor(shape: [37], values: expectedGate), tolerance: 3e-6)
    }

    /// One query block (19 tokens) and several equal ones (2·128 + 9 tokens: three blocks of 89 rows).
    func testAttentionAgainstNaive() {
        for (batch, tokens, heads, headDim) in [(2, 19, 3, 8), (1, 2 * MatrixKernels.attentionQueryBlock + 9, 2, 8)] {
            let qkv = random(batch * tokens * 3 * heads * headDim, seed: 12, scale: 2)
            var out = [Float](repeating: .nan, count: batch * tokens * heads * headDim)
            MatrixKernels.attention(qkv: qkv, batch: batch, tokens: tokens, heads: heads, headDim: headDim, into: &out, context: context)
            let expected = NaiveKernels.attention(qkv, batch: batch, tokens: tokens, heads: heads, headDim: headDim)
            let shape = [batch * tokens, heads * headDim]
            assertClose(Tensor(shape: shape, values: out), Tensor(shape: shape, values: expected), tolerance: 1e-5, "\(tokens) tokens")
        }
    }

    func testPatchifyOrdersPatchesLikeConvWeights() {
        let (batch, channels, height, width, p) = (2, 3, 6, 9, 3)
        let images = (0..<(batch * channels * height * width)).map(Float.init)
        var out = [Float](repeating: 0, count: images.count)
        MatrixKernels.patchify(images, batch: batch, channels: channels, height: height, width: width, patch: p, into: &out, context: context)
        let gridW = width / p, gridH = height / p
        for b in 0..<batch { for py in 0..<gridH { for px in 0..<gridW { for c in 0..<channels { for ky in 0..<p { for kx in 0..<p {
            let patchIndex = (b * gridH + py) * gridW + px
            let got = out[patchIndex * channels * p * p + (c * p + ky) * p + kx]
            let expected = images[((b * channels + c) * height + py * p + ky) * width + px * p + kx]
            XCTAssertEqual(got, expected)
        } } } } } }
    }
}
