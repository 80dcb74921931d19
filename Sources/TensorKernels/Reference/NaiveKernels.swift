import Foundation

/// Plain loops in `Double`, used only as test oracles for the optimised kernels.
public enum NaiveKernels {
    /// `C[m, n] = op(A) · op(B)` for row-major `A`, `B` (op = transpose when asked).
    public static func gemm(_ a: [Float], _ b: [Float], m: Int, n: Int, k: Int, transposeA: Bool, transposeB: Bool) -> [Float] {
        var c = [Float](repeating: 0, count: m * n)
        for i in 0..<m {
            for j in 0..<n {
                var total = 0.0
                for p in 0..<k {
                    let x = transposeA ? a[p * m + i] : a[i * k + p]
                    let y = transposeB ? b[j * k + p] : b[p * n + j]
                    total += Double(x) * Double(y)
                }
                c[i * n + j] = Float(total)
            }
        }
        return c
    }

    /// LayerNorm of each row of width `width`.
    public static func layerNorm(_ x: [Float], width: Int, weight: [Float], bias: [Float], eps: Double) -> [Float] {
        var y = x
        for row in 0..<(x.count / width) {
            let values = x[row * width..<(row + 1) * width].map(Double.init)
            let mean = values.reduce(0, +) / Double(width)
            let variance = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(width)
            for j in 0..<width {
                y[row * width + j] = Float((values[j] - mean) / (variance + eps).squareRoot() * Double(weight[j]) + Double(bias[j]))
            }
        }
        return y
    }

    /// Row softmax.
    public static func softmax(_ x: [Float], width: Int) -> [Float] {
        var y = x
        for row in 0..<(x.count / width) {
            let values = x[row * width..<(row + 1) * width].map(Double.init)
            let maximum = values.max()!
            let exps = values.map { Foundation.exp($0 - maximum) }
            let total = exps.reduce(0, +)
            for j in 0..<width { y[row * width + j] = Float(exps[j] / total) }
        }
        return y
    }

    /// Exact-erf GELU.
    public static func gelu(_ x: Float) -> Float {
        Float(0.5 * Double(x) * (1 + Foundation.erf(Double(x) / 2.0.squareRoot())))
    }

    /// SiLU.
    public static func silu(_ x: Float) -> Float { Float(Double(x) / (1 + Foundation.exp(-Double(x)))) }

    /// Multi-head attention over fused `qkv` `[B·N, 3·H·hd]` (columns (q|k|v, head, channel)) → `[B·N, H·hd]`.
    public static func attention(_ qkv: [Float], batch: Int, tokens: Int, heads: Int, headDim: Int) -> [Float] {
        let width = heads * headDim
        var out = [Float](repeating: 0, count: batch * tokens * width)
        for b in 0..<batch {
            for h in 0..<heads {
                func element(_ part: Int, _ token: Int, _ channel: Int) -> Double {
                    Double(qkv[(b * tokens + token) * 3 * width + part * width + h * headDim + channel])
                }
                for i in 0..<tokens {
                    var scores = (0..<tokens).map { j in
                        (0..<headDim).reduce(0.0) { $0 + element(0, i, $1) * element(1, j, $1) } / Double(headDim).squareRoot()
                    }
                    let maximum = scores.max()!
                    scores = scores.map { Foundation.exp($0 - maximum) }
                    let total = scores.reduce(0, +)
                    for c in 0..<headDim {
                        let value = (0..<tokens).reduce(0.0) { $0 + scores[$1] / total * element(2, $1, c) }
                        out[(b * tokens + i) * width + h * headDim + c] = Float(value)
                    }
                }
            }
        }
        return out
    }
}
