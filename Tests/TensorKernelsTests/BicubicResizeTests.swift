import TensorCore
@testable import TensorKernels
import TestSupport
import XCTest

/// The two DINOv2 position-grid resizes against plain reimplementations of their definitions.
final class BicubicResizeTests: XCTestCase {
    func grid(_ h: Int, _ w: Int, _ c: Int) -> Tensor {
        Tensor(shape: [h, w, c], values: (0..<(h * w * c)).map { Float(sin(Double($0) * 0.37) * 2) })
    }

    /// Keys cubic (A = −0.75) on one axis, in Double, clamped indices.
    func keys1D(input: Int, output: Int, scale: Double) -> [[(Int, Double)]] {
        func w(_ x: Double) -> Double {
            let a = -0.75, x = abs(x)
            if x <= 1 { return ((a + 2) * x - (a + 3)) * x * x + 1 }
            if x < 2 { return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a }
            return 0
        }
        return (0..<output).map { o in
            let real = (Double(o) + 0.5) * scale - 0.5
            let f = real.rounded(.down), t = real - f
            return (-1...2).map { d in (min(max(Int(f) + d, 0), input - 1), w(t - Double(d))) }
        }
    }

    func testScaleFactorModeMatchesDefinition() {
        let (m, c) = (5, 3)
        let input = grid(m, m, c)
        for (gh, gw) in [(16, 16), (13, 19), (3, 4), (5, 5)] {
            let sh = (Double(gh) + 0.1) / Double(m), sw = (Double(gw) + 0.1) / Double(m)
            let output = BicubicResize.resize(input, mode: .scaleFactor(height: sh, width: sw))
            XCTAssertEqual(output.shape, [gh, gw, c])
            let rows = keys1D(input: m, output: gh, scale: 1 / sh), columns = keys1D(input: m, output: gw, scale: 1 / sw)
            var expected = Tensor(shape: [gh, gw, c])
            for oy in 0..<gh { for ox in 0..<gw { for ch in 0..<c {
                var total = 0.0
                for (iy, wy) in rows[oy] { for (ix, wx) in columns[ox] { total += wy * wx * Double(input[iy, ix, ch]) } }
                expected[oy, ox, ch] = Float(total)
            } } }
            assertClose(output, expected, tolerance: 2e-5, "\(gh)×\(gw)")
        }
    }

    func testAntialiasedModeMatchesDefinitionAndIsIdentityAtSameSize() {
        let input = grid(5, 5, 2)
        assertClose(BicubicResize.resize(input, mode: .antialiased(height: 5, width: 5)), input, tolerance: 0)
        for (gh, gw) in [(16, 16), (13, 19), (3, 2)] {
            let output = BicubicResize.resize(input, mode: .antialiased(height: gh, width: gw))
            XCTAssertEqual(output.shape, [gh, gw, 2])
            func taps(_ n: Int, _ out: Int) -> [[(Int, Double)]] {
                let scale = Double(n) / Double(out), support = scale >= 1 ? 2 * scale : 2, inv = scale >= 1 ? 1 / scale : 1
                func f(_ v: Double) -> Double { let x = abs(v), a = -0.5; return x < 1 ? ((a + 2) * x - (a + 3)) * x * x + 1 : x < 2 ? (((x - 5) * x + 8) * x - 4) * a : 0 }
                return (0..<out).map { o in
                    let center = scale * (Double(o) + 0.5)
                    let lo = max(Int(center - support + 0.5), 0), hi = min(Int(center + support + 0.5), n)
                    let weights = (lo..<hi).map { f((Double($0) - center + 0.5) * inv) }
                    let total = weights.reduce(0, +)
                    return zip(lo..<hi, weights).map { ($0, $1 / total) }
                }
            }
            let rows = taps(5, gh), columns = taps(5, gw)
            var expected = Tensor(shape: [gh, gw, 2])
            for oy in 0..<gh { for ox in 0..<gw { for ch in 0..<2 {
                var total = 0.0
                for (iy, wy) in rows[oy] { for (ix, wx) in columns[ox] { total += wy * wx * Double(input[iy, ix, ch]) } }
                expected[oy, ox, ch] = Float(total)
            } } }
            assertClose(output, expected, tolerance: 2e-5, "\(gh)×\(gw)")
        }
    }
}
