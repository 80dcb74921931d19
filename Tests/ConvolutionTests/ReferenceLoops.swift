/// Straightforward Double loops over NCHW arrays, written from the definitions, that the finite
/// differences differentiate.
enum Reference {
    /// `out[n, o, y, x] = bias[o] + Σ_{c,i,j} weight[o, c, i, j] · in[n, c, y·sh − ph + i, x·sw − pw + j]`.
    static func conv2d(_ input: [Double], _ inputShape: [Int], weight: [Double], _ weightShape: [Int], bias: [Double]?,
                       stride: (Int, Int), padding: (Int, Int)) -> (values: [Double], shape: [Int]) {
        let (n, c, h, w) = (inputShape[0], inputShape[1], inputShape[2], inputShape[3])
        let (o, kh, kw) = (weightShape[0], weightShape[2], weightShape[3])
        let oh = (h + 2 * padding.0 - kh) / stride.0 + 1, ow = (w + 2 * padding.1 - kw) / stride.1 + 1
        var out = [Double](repeating: 0, count: n * o * oh * ow)
        for b in 0..<n { for k in 0..<o { for y in 0..<oh { for x in 0..<ow {
            var sum = bias?[k] ?? 0
            for ch in 0..<c { for i in 0..<kh { for j in 0..<kw {
                let iy = y * stride.0 - padding.0 + i, ix = x * stride.1 - padding.1 + j
                guard iy >= 0, iy < h, ix >= 0, ix < w else { continue }
                sum += weight[((k * c + ch) * kh + i) * kw + j] * input[((b * c + ch) * h + iy) * w + ix]
            } } }
            out[((b * o + k) * oh + y) * ow + x] = sum
        } } } }
        return (out, [n, o, oh, ow])
    }

    /// `out[n, o, y·sh − ph + i, x·sw − pw + j] += in[n, c, y, x] · weight[c, o, i, j]`, plus `bias[o]`.
    static func convTranspose2d(_ input: [Double], _ inputShape: [Int], weight: [Double], _ weightShape: [Int], bias: [Double]?,
                                stride: (Int, Int), padding: (Int, Int)) -> (values: [Double], shape: [Int]) {
        let (n, c, h, w) = (inputShape[0], inputShape[1], inputShape[2], inputShape[3])
        let (o, kh, kw) = (weightShape[1], weightShape[2], weightShape[3])
        let oh = (h - 1) * stride.0 - 2 * padding.0 + kh, ow = (w - 1) * stride.1 - 2 * padding.1 + kw
        var out = [Double](repeating: 0, count: n * o * oh * ow)
        for b in 0..<n { for k in 0..<o { for p in 0..<oh * ow { out[(b * o + k) * oh * ow + p] = bias?[k] ?? 0 } } }
        for b in 0..<n { for ch in 0..<c { for y in 0..<h { for x in 0..<w { for k in 0..<o { for i in 0..<kh { for j in 0..<kw {
            let oy = y * stride.0 - padding.0 + i, ox = x * stride.1 - padding.1 + j
            guard oy >= 0, oy < oh, ox >= 0, ox < ow else { continue }
            out[((b * o + k) * oh + oy) * ow + ox] += input[((b * c + ch) * h + y) * w + x] * weight[((ch * o + k) * kh + i) * kw + j]
        } } } } } } }
        return (out, [n, o, oh, ow])
    }

    /// Training-mode batch norm: per channel `γ·(x − μ)/√(σ² + ε) + β` with the biased batch variance.
    static func batchNorm(_ input: [Double], _ shape: [Int], gamma: [Double], beta: [Double], epsilon: Double = 1e-5) -> [Double] {
        let (n, c, plane) = (shape[0], shape[1], shape[2] * shape[3])
        var out = input
        for ch in 0..<c {
            var indices: [Int] = []
            for b in 0..<n {
                let start = (b * c + ch) * plane
                indices += Array(start..<(start + plane))
            }
            let count = Double(indices.count)
            let mean: Double = indices.reduce(0.0) { $0 + input[$1] } / count
            let variance: Double = indices.reduce(0.0) { sum, i in sum + (input[i] - mean) * (input[i] - mean) } / count
            for i in indices { out[i] = gamma[ch] * (input[i] - mean) / (variance + epsilon).squareRoot() + beta[ch] }
        }
        return out
    }

    /// Bilinear resize (align_corners=False): `src = max((o + 0.5)·in/out − 0.5, 0)`, neighbours clamped.
    static func bilinear(_ input: [Double], _ shape: [Int], height outH: Int, width outW: Int) -> [Double] {
        let (planes, h, w) = (shape[0] * shape[1], shape[2], shape[3])
        func taps(_ size: Int, _ out: Int) -> [(Int, Int, Double)] {
            (0..<out).map { o in
                let source = max((Double(o) + 0.5) * Double(size) / Double(out) - 0.5, 0)
                let low = Int(source)
                return (low, min(low + 1, size - 1), source - Double(low))
            }
        }
        let rows = taps(h, outH), columns = taps(w, outW)
        var out = [Double]()
        for p in 0..<planes { for (y0, y1, fy) in rows { for (x0, x1, fx) in columns {
            func at(_ y: Int, _ x: Int) -> Double { input[(p * h + y) * w + x] }
            out.append((1 - fy) * ((1 - fx) * at(y0, x0) + fx * at(y0, x1)) + fy * ((1 - fx) * at(y1, x0) + fx * at(y1, x1)))
        } } }
        return out
    }

    /// `F.interpolate(mode="bicubic", align_corners=False)` from its definition: Keys' cubic (A = −0.75) over the
    /// taps `⌊s⌋ − 1 … ⌊s⌋ + 2` (clamped) of `s = (o + 0.5)·n/m − 0.5` along each axis.
    static func bicubic(_ input: [Double], _ shape: [Int], height outH: Int, width outW: Int) -> [Double] {
        let (planes, h, w) = (shape[0] * shape[1], shape[2], shape[3])
        func kernel(_ x: Double) -> Double {
            let a = -0.75, x = abs(x)
            return x <= 1 ? ((a + 2) * x - (a + 3)) * x * x + 1 : ((a * x - 5 * a) * x + 8 * a) * x - 4 * a
        }
        func taps(_ size: Int, _ out: Int) -> [[(Int, Double)]] {
            (0..<out).map { o in
                let source = (Double(o) + 0.5) * Double(size) / Double(out) - 0.5, low = source.rounded(.down)
                return (-1...2).map { (min(max(Int(low) + $0, 0), size - 1), kernel(source - low - Double($0))) }
            }
        }
        let rows = taps(h, outH), columns = taps(w, outW)
        var out = [Double]()
        for p in 0..<planes { for row in rows { for column in columns {
            out.append(row.reduce(0) { total, y in total + y.1 * column.reduce(0) { $0 + $1.1 * input[(p * h + y.0) * w + $1.0] } })
        } } }
        return out
    }
}
