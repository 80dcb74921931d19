import Foundation

/// A float64 mirror of the training layers, written from their formulas, for finite-difference checks.
/// Matrices are row-major `[Double]`; parameters are looked up by checkpoint key.
enum DoubleReference {
    typealias Values = [String: [Double]]

    /// `y[rows, out] = x · Wᵀ + b`.
    static func linear(_ x: [Double], _ weight: [Double], _ bias: [Double]?, outFeatures: Int) -> [Double] {
        let inFeatures = weight.count / outFeatures, rows = x.count / inFeatures
        var y = [Double](repeating: 0, count: rows * outFeatures)
        for r in 0..<rows {
            for o in 0..<outFeatures {
                var total = bias?[o] ?? 0
                for i in 0..<inFeatures { total += x[r * inFeatures + i] * weight[o * inFeatures + i] }
                y[r * outFeatures + o] = total
            }
        }
        return y
    }

    static func linear(_ x: [Double], _ p: Values, _ prefix: String) -> [Double] {
        linear(x, p[prefix + "weight"]!, p[prefix + "bias"], outFeatures: p[prefix + "bias"]!.count)
    }

    static func layerNorm(_ x: [Double], _ p: Values, _ prefix: String, eps: Double = 1e-6) -> [Double] {
        let (w, b) = (p[prefix + "weight"]!, p[prefix + "bias"]!)
        let width = w.count
        var y = x
        for r in 0..<x.count / width {
            let row = x[r * width..<(r + 1) * width]
            let mean = row.reduce(0, +) / Double(width)
            let variance = row.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(width)
            for j in 0..<width { y[r * width + j] = (x[r * width + j] - mean) / (variance + eps).squareRoot() * w[j] + b[j] }
        }
        return y
    }

    static func gelu(_ x: [Double]) -> [Double] { x.map { 0.5 * $0 * (1 + erf($0 / 2.0.squareRoot())) } }

    static func silu(_ x: Double) -> Double { x / (1 + exp(-x)) }

    /// `[rows, 2H]` → `silu(x₁) · x₂` `[rows, H]`.
    static func swiGLUGate(_ x: [Double], hidden: Int) -> [Double] {
        (0..<x.count / (2 * hidden) * hidden).map { i in
            let (r, j) = i.quotientAndRemainder(dividingBy: hidden)
            return silu(x[r * 2 * hidden + j]) * x[r * 2 * hidden + hidden + j]
        }
    }

    static func feedForward(_ x: [Double], _ p: Values, _ prefix: String) -> [Double] {
        if p[prefix + "fc1.weight"] != nil {
            return linear(gelu(linear(x, p, prefix + "fc1.")), p, prefix + "fc2.")
        }
        let fused = linear(x, p, prefix + "w12.")
        return linear(swiGLUGate(fused, hidden: p[prefix + "w12.bias"]!.count / 2), p, prefix + "w3.")
    }

    /// `y = γ ⊙ x` over rows of width `γ.count`.
    static func scale(_ x: [Double], _ gamma: [Double]) -> [Double] { x.indices.map { x[$0] * gamma[$0 % gamma.count] } }

    /// Multi-head attention on `[batch·tokens, D]`.
    static func attention(_ x: [Double], _ p: Values, _ prefix: String, batch: Int, heads: Int) -> [Double] {
        let width = p[prefix + "proj.bias"]!.count, tokens = x.count / width / batch, headDim = width / heads
        let fused = linear(x, p, prefix + "qkv.")
        var mixed = [Double](repeating: 0, count: x.count)
        for b in 0..<batch {
            for h in 0..<heads {
                func at(_ token: Int, _ part: Int, _ c: Int) -> Double { fused[(b * tokens + token) * 3 * width + part * width + h * headDim + c] }
                for i in 0..<tokens {
                    var scores = (0..<tokens).map { j in (0..<headDim).reduce(0.0) { $0 + at(i, 0, $1) * at(j, 1, $1) } / Double(headDim).squareRoot() }
                    let top = scores.max()!
                    scores = scores.map { exp($0 - top) }
                    let total = scores.reduce(0, +)
                    for c in 0..<headDim {
                        mixed[(b * tokens + i) * width + h * headDim + c] = (0..<tokens).reduce(0.0) { $0 + scores[$1] / total * at($1, 2, c) }
                    }
                }
            }
        }
        return linear(mixed, p, prefix + "proj.")
    }

    static func add(_ a: [Double], _ b: [Double]) -> [Double] { zip(a, b).map(+) }

    /// The pre-norm block with LayerScale on `[batch·tokens, D]`.
    static func block(_ x: [Double], _ p: Values, _ prefix: String, batch: Int, heads: Int) -> [Double] {
        let attended = attention(layerNorm(x, p, prefix + "norm1."), p, prefix + "attn.", batch: batch, heads: heads)
        let x1 = add(x, scale(attended, p[prefix + "ls1.gamma"]!))
        return add(x1, scale(feedForward(layerNorm(x1, p, prefix + "norm2."), p, prefix + "mlp."), p[prefix + "ls2.gamma"]!))
    }

    /// Conv with kernel = stride = `patch`: images `[B, C, H, W]` → `[B·N, D]`.
    static func patchEmbedding(_ images: [Double], _ p: Values, batch: Int, channels: Int, height: Int, width: Int, patch: Int) -> [Double] {
        let (gh, gw) = (height / patch, width / patch)
        var columns: [Double] = []
        for b in 0..<batch {
            for py in 0..<gh {
                for px in 0..<gw {
                    for c in 0..<channels {
                        for ky in 0..<patch {
                            for kx in 0..<patch { columns.append(images[((b * channels + c) * height + py * patch + ky) * width + px * patch + kx]) }
                        }
                    }
                }
            }
        }
        return linear(columns, p, "")
    }
}
