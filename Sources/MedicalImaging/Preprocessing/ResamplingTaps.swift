/// The taps of a 1-D resampling from `input` to `output` samples: output `i` is
/// `Σ_t weights[i][t] · source[indices[i][t]]`, summed in tap order starting from the first product,
/// as PyTorch's CPU kernels do. One constructor per interpolation, each following torch 1.13's
/// `F.interpolate(size=…)` with `align_corners=False` and `scale = input / output` rounded to `Float`;
/// intermediate coordinates are rounded to `Float` at each step (torch keeps some in double), so a
/// weight may differ from torch's by an ulp (the tests hold outputs to 1e-5).
struct ResamplingTaps {
    /// Taps of each output sample.
    let count: [Int]
    /// Input indices, `slots` per output sample.
    let indices: [Int]
    /// Weights, `slots` per output sample.
    let weights: [Float]
    /// Room per output sample.
    let slots: Int

    private init(output: Int, slots: Int, taps: (Int) -> [(index: Int, weight: Float)]) {
        var count = [Int](repeating: 0, count: output)
        var indices = [Int](repeating: 0, count: output * slots), weights = [Float](repeating: 0, count: output * slots)
        for i in 0..<output {
            let row = taps(i)
            precondition(!row.isEmpty && row.count <= slots, "\(row.count) taps for output \(i), room for \(slots)")
            count[i] = row.count
            for (t, tap) in row.enumerated() {
                indices[i * slots + t] = tap.index
                weights[i * slots + t] = tap.weight
            }
        }
        self.count = count
        self.indices = indices
        self.weights = weights
        self.slots = slots
    }

    /// Antialiased bilinear (triangle filter) taps, as torch's `_compute_weights_aa`: `support = max(scale, 1)`,
    /// centre `c = scale · (i + 0.5)`, inputs `j ∈ [max(0, ⌊c − support + 0.5⌋), min(input, ⌊c + support + 0.5⌋))`
    /// (`⌊⌋` truncating toward zero as C++ does), weights `max(0, 1 − |(j − c + 0.5) / max(scale, 1)|)`
    /// normalised to sum 1.
    static func bilinearAntialiased(input: Int, output: Int) -> ResamplingTaps {
        let scale = Float(input) / Float(output)
        let support: Float = scale >= 1 ? scale : 1
        let invScale: Float = scale >= 1 ? 1 / scale : 1
        return ResamplingTaps(output: output, slots: Int((support * 2).rounded(.up)) + 1) { i in
            let center = scale * (Float(i) + 0.5)
            let lo = max(Int(center - support + 0.5), 0)
            let n = min(Int(center + support + 0.5), input) - lo
            var weights = (0..<n).map { j -> Float in
                let x = abs((Float(j + lo) - center + 0.5) * invScale)
                return x < 1 ? 1 - x : 0
            }
            let total = weights.reduce(0, +)
            if total != 0 { weights = weights.map { $0 / total } }
            return weights.enumerated().map { (lo + $0.offset, $0.element) }
        }
    }

    /// Plain bilinear taps (`antialias=False`), as torch's `compute_source_index_and_lambda`: when sizes are
    /// equal, a copy; otherwise source `r = max(scale · (i + 0.5) − 0.5, 0)`, `i0 = ⌊r⌋`,
    /// `i1 = i0 + 1` (or `i0` at the last input), `λ1 = min(max(r − i0, 0), 1)`, `λ0 = 1 − λ1`.
    static func bilinear(input: Int, output: Int) -> ResamplingTaps {
        let scale = Float(input) / Float(output)
        return ResamplingTaps(output: output, slots: 2) { i in
            if input == output { return [(i, 1), (i, 0)] }
            let real = max(scale * (Float(i) + 0.5) - 0.5, 0)
            let i0 = Int(real)
            let i1 = i0 < input - 1 ? i0 + 1 : i0
            let lambda1 = min(max(real - Float(i0), 0), 1)
            return [(i0, 1 - lambda1), (i1, lambda1)]
        }
    }

    /// Nearest-neighbour taps as torch's `nearest_idx` (`mode="nearest"`): a copy for equal sizes,
    /// `i / 2` for an exact doubling, else `min(⌊Float(i) · scale⌋, input − 1)` in `Float`.
    static func nearest(input: Int, output: Int) -> ResamplingTaps {
        let scale = Float(input) / Float(output)
        return ResamplingTaps(output: output, slots: 1) { i in
            if output == input { return [(i, 1)] }
            if output == 2 * input { return [(i >> 1, 1)] }
            return [(min(Int((Float(i) * scale).rounded(.down)), input - 1), 1)]
        }
    }

    /// Nearest-neighbour taps as torch's `nearest_exact_idx` (`mode="nearest-exact"`):
    /// `min(⌊Float((i + 0.5) · Double(scale))⌋, input − 1)` (the product in double, then `floorf`).
    static func nearestExact(input: Int, output: Int) -> ResamplingTaps {
        let scale = Float(input) / Float(output)
        return ResamplingTaps(output: output, slots: 1) { i in
            [(min(Int(Float((Double(i) + 0.5) * Double(scale)).rounded(.down)), input - 1), 1)]
        }
    }

    /// `out[i · outStride] = Σ_t weights[i][t] · src[indices[i][t] · stride]` for every output sample `i`.
    func apply(_ src: UnsafePointer<Float>, stride: Int, to out: UnsafeMutablePointer<Float>, outStride: Int) {
        indices.withUnsafeBufferPointer { index in
            weights.withUnsafeBufferPointer { weight in
                for i in 0..<count.count {
                    let base = i * slots
                    var sum = src[index[base] * stride] * weight[base]
                    for t in 1..<count[i] { sum += src[index[base + t] * stride] * weight[base + t] }
                    out[i * outStride] = sum
                }
            }
        }
    }
}
