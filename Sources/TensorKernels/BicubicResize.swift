import TensorCore

/// Bicubic resizing of a channels-last grid `[inH, inW, C]` → `[outH, outW, C]`, reproducing PyTorch's
/// `F.interpolate(mode="bicubic", align_corners=False)` on CPU in float32, in the two ways DINOv2
/// resizes its position-embedding grid:
///
/// - `.scaleFactor(h, w)` (no antialias): output size `floor(in · s)`; source coordinate
///   `(o + 0.5) · (1/s) − 0.5` with `1/s` rounded to float; Keys cubic with A = −0.75 over 4 taps,
///   indices clamped to the border; rows interpolated along the width first, then along the height.
/// - `.size(outH, outW)` (no antialias): as `.scaleFactor` with the source scale `in/out` in float
///   (what Hugging Face `Dinov2Model` passes since it interpolates to an explicit size).
/// - `.antialiased(outH, outW)`: separable PIL-style filter (A = −0.5) with support `2·max(scale, 1)`,
///   taps truncated at the border and weights normalised to sum 1; width pass first, a dimension
///   whose size does not change is skipped.
public enum BicubicResize {
    /// How the output grid is specified.
    public enum Mode: Equatable, Sendable {
        /// Scale factors as passed to `F.interpolate(scale_factor=(h, w))`, without antialiasing.
        case scaleFactor(height: Double, width: Double)
        /// Explicit output size without antialiasing.
        case size(height: Int, width: Int)
        /// Explicit output size with `antialias=True`.
        case antialiased(height: Int, width: Int)
    }

    /// Output size for an input grid of `height × width`.
    public static func outputSize(height: Int, width: Int, mode: Mode) -> (height: Int, width: Int) {
        switch mode {
        case let .scaleFactor(sh, sw): (Int((Double(height) * sh).rounded(.down)), Int((Double(width) * sw).rounded(.down)))
        case let .size(h, w), let .antialiased(h, w): (h, w)
        }
    }

    /// Resizes `input` `[inH, inW, C]`.
    public static func resize(_ input: Tensor, mode: Mode) -> Tensor {
        precondition(input.rank == 3, "expected [H, W, C], got \(input.shape)")
        let (inH, inW) = (input.shape[0], input.shape[1])
        let (outH, outW) = outputSize(height: inH, width: inW, mode: mode)
        switch mode {
        case let .scaleFactor(sh, sw):
            return keysResize(input, rows: keysTaps(input: inH, output: outH, scale: Float(1.0 / sh)),
                              columns: keysTaps(input: inW, output: outW, scale: Float(1.0 / sw)))
        case .size:
            return keysResize(input, rows: keysTaps(input: inH, output: outH, scale: Float(inH) / Float(outH)),
                              columns: keysTaps(input: inW, output: outW, scale: Float(inW) / Float(outW)))
        case .antialiased:
            var grid = input
            if outW != inW { grid = antialiasedPass(grid, alongWidth: true, output: outW) }
            if outH != inH { grid = antialiasedPass(grid, alongWidth: false, output: outH) }
            return grid
        }
    }

    /// Separable Keys interpolation `[inH, inW, C]` → `[rows.count, columns.count, C]`: along the width
    /// for each of the 4 source rows, then along the height, in float as PyTorch's CPU kernel.
    static func keysResize(_ input: Tensor, rows: [Taps], columns: [Taps]) -> Tensor {
        let (inW, channels) = (input.shape[1], input.shape[2])
        let (outH, outW) = (rows.count, columns.count)
        return Tensor(shape: [outH, outW, channels]) { out in
            input.withUnsafeBufferPointer { source in
                for oy in 0..<outH {
                    for ox in 0..<outW {
                        let destination = out.baseAddress! + (oy * outW + ox) * channels
                        for c in 0..<channels {
                            var total: Float = 0
                            for (ty, (iy, wy)) in zip(rows[oy].indices, rows[oy].weights).enumerated() {
                                var along: Float = 0
                                for (tx, (ix, wx)) in zip(columns[ox].indices, columns[ox].weights).enumerated() {
                                    let term = source[(iy * inW + ix) * channels + c] * wx
                                    along = tx == 0 ? term : along + term
                                }
                                total = ty == 0 ? along * wy : total + along * wy
                            }
                            destination[c] = total
                        }
                    }
                }
            }
        }
    }

    /// Source indices and weights of one output position.
    package struct Taps { package var indices: [Int]; package var weights: [Float] }

    /// Keys cubic taps (A = −0.75), as `get_cubic_upsample_coefficients` with clamped indices.
    package static func keysTaps(input: Int, output: Int, scale: Float) -> [Taps] {
        let a: Float = -0.75
        func near(_ x: Float) -> Float { ((a + 2) * x - (a + 3)) * x * x + 1 }
        func far(_ x: Float) -> Float { ((a * x - 5 * a) * x + 8 * a) * x - 4 * a }
        return (0..<output).map { o in
            let real = scale * (Float(o) + 0.5) - 0.5
            let floorIndex = real.rounded(.down)
            let t = real - floorIndex
            let weights = [far(t + 1), near(t), near(1 - t), far(2 - t)]
            let indices = (0..<4).map { min(max(Int(floorIndex) - 1 + $0, 0), input - 1) }
            return Taps(indices: indices, weights: weights)
        }
    }

    /// PIL-style antialiased cubic taps (A = −0.5), as PyTorch's `_compute_weights_aa`.
    static func antialiasedTaps(input: Int, output: Int) -> [Taps] {
        let scale = Float(input) / Float(output)
        let support: Float = scale >= 1 ? 2 * scale : 2
        let inverseScale: Float = scale >= 1 ? 1 / scale : 1
        func filter(_ value: Float) -> Float {
            let x = abs(value), a: Float = -0.5
            if x < 1 { return ((a + 2) * x - (a + 3)) * x * x + 1 }
            if x < 2 { return (((x - 5) * x + 8) * x - 4) * a }
            return 0
        }
        return (0..<output).map { o in
            let center = scale * (Float(o) + 0.5)
            let lower = max(Int(center - support + 0.5), 0)
            let size = min(Int(center + support + 0.5), input) - lower
            var weights = (0..<size).map { filter((Float($0 + lower) - center + 0.5) * inverseScale) }
            let total = weights.reduce(0, +)
            if total != 0 { weights = weights.map { $0 / total } }
            return Taps(indices: Array(lower..<lower + size), weights: weights)
        }
    }

    /// One separable antialiased pass over `[H, W, C]`, along the width or the height.
    static func antialiasedPass(_ grid: Tensor, alongWidth: Bool, output: Int) -> Tensor {
        let (height, width, channels) = (grid.shape[0], grid.shape[1], grid.shape[2])
        let taps = antialiasedTaps(input: alongWidth ? width : height, output: output)
        let outH = alongWidth ? height : output, outW = alongWidth ? output : width
        return Tensor(shape: [outH, outW, channels]) { out in
            grid.withUnsafeBufferPointer { source in
                for oy in 0..<outH {
                    for ox in 0..<outW {
                        let tap = taps[alongWidth ? ox : oy]
                        let destination = out.baseAddress! + (oy * outW + ox) * channels
                        for c in 0..<channels {
                            var total: Float = 0
                            for (j, (index, weight)) in zip(tap.indices, tap.weights).enumerated() {
                                let (sy, sx) = alongWidth ? (oy, index) : (index, ox)
                                let term = source[(sy * width + sx) * channels + c] * weight
                                total = j == 0 ? term : total + term
                            }
                            destination[c] = total
                        }
                    }
                }
            }
        }
    }
}
