/// Vectorised transcendental functions on 16 floats at a time (AVX-512 width; narrower CPUs split it).
///
/// - `exp`: Cody–Waite range reduction `x = n·ln2 + r`, a degree-6 polynomial for `eʳ` on
///   `|r| ≤ ln2/2` (Cephes `expf` coefficients), then `2ⁿ` through the exponent bits. Inputs are
///   clamped to [-87.3, 88.37]. Measured maximum relative error against `Foundation.exp`: see
///   `VectorMathTests` (≤ 2e-7).
/// - `erf`: `x·P(x²)/Q(x²)` with `P`, `Q` of degree 5, fitted on [0, 4] by `scripts/fit_erf_rational.py`
///   (fit error 2.2e-8); inputs clamped to [−4, 4], where erf is ±1 in float. Measured maximum absolute
///   error of the float evaluation: 3.7e-7 (`KernelTests` bounds it by 4e-7).
public enum VectorMath {
    public typealias Vector = SIMD16<Float>

    @_transparent
    public static func exp(_ x: Vector) -> Vector {
        let clamped = clamp(x, -87.3, 88.37)
        // Round x·log2(e) to the nearest integer n by adding 1.5·2²³: the sum's low mantissa bits hold n.
        let magic = Vector(repeating: 12_582_912)
        let shifted = clamped * 1.442_695_040_888_963_4 + magic
        let n = shifted - magic
        let integerN = unsafeBitCast(shifted, to: SIMD16<Int32>.self) &- 0x4B40_0000
        var r = clamped.addingProduct(n, Vector(repeating: -0.693_359_375))
        r = r.addingProduct(n, Vector(repeating: 2.121_944_400_546_905_827_679e-4))
        let r2 = r * r
        var p = Vector(repeating: 1.987_569_150_0e-4)
        p = fused(p, r, 1.398_199_950_7e-3)
        p = fused(p, r, 8.333_451_907_3e-3)
        p = fused(p, r, 4.166_579_589_4e-2)
        p = fused(p, r, 1.666_666_545_9e-1)
        p = fused(p, r, 5.000_000_120_1e-1)
        let expR = (r + 1).addingProduct(p, r2)
        let exponentBits = (integerN &+ 127) &<< 23
        return expR * unsafeBitCast(exponentBits, to: Vector.self)
    }

    @_transparent
    public static func erf(_ x: Vector) -> Vector {
        let clamped = clamp(x, -4, 4)
        let z = clamped * clamped
        var p = Vector(repeating: 1.975_029_792_405_935_7e-06)
        p = fused(p, z, 2.879_538_508_906_015_5e-04)
        p = fused(p, z, 4.000_777_775_182_273e-03)
        p = fused(p, z, 5.345_862_640_540_239e-02)
        p = fused(p, z, 1.961_851_362_101_707e-01)
        p = fused(p, z, 1.128_378_979_188_230_4)
        var q = Vector(repeating: 3.747_832_153_997_571e-05)
        q = fused(q, z, 1.215_619_656_419_382_6e-03)
        q = fused(q, z, 1.543_872_796_471_768_4e-02)
        q = fused(q, z, 1.164_496_470_239_331_8e-01)
        q = fused(q, z, 5.071_957_361_123_833e-01)
        q = fused(q, z, 1)
        return clamped * p / q
    }

    /// `a · b + c` with one rounding (an FMA instruction).
    @_transparent
    public static func fused(_ a: Vector, _ b: Vector, _ c: Float) -> Vector {
        Vector(repeating: c).addingProduct(a, b)
    }

    /// `min(max(x, lower), upper)` per lane, as compare-and-blend (the standard library's `clamped` and
    /// `pointwiseMax` handle NaN lane by lane and do not vectorise).
    @_transparent
    public static func clamp(_ x: Vector, _ lower: Float, _ upper: Float) -> Vector {
        let low = Vector(repeating: lower), high = Vector(repeating: upper)
        return x.replacing(with: low, where: x .< low).replacing(with: high, where: x .> high)
    }

    /// Lane-wise maximum as compare-and-blend.
    @_transparent
    public static func maximum(_ a: Vector, _ b: Vector) -> Vector { a.replacing(with: b, where: b .> a) }

    /// Exact-erf GELU: `x/2 · (1 + erf(x/√2))` (PyTorch `nn.GELU()` with `approximate='none'`).
    @_transparent
    public static func gelu(_ x: Vector) -> Vector {
        let half = Vector(repeating: 0.5), inverseRoot2 = Vector(repeating: 0.707_106_781_186_547_6)
        return half * x * (1 + erf(x * inverseRoot2))
    }

    /// SiLU: `x · σ(x) = x / (1 + e^(−x))`.
    @_transparent
    public static func silu(_ x: Vector) -> Vector {
        let one = Vector(repeating: 1)
        return x / (one + exp(-x))
    }
}

/// Applies a 16-wide vector function to `count` floats in place, padding the tail.
@inlinable
func mapInPlace(_ values: UnsafeMutablePointer<Float>, count: Int, _ function: (SIMD16<Float>) -> SIMD16<Float>) {
    var i = 0
    while i + 16 <= count {
        store(function(load(values + i)), values + i)
        i += 16
    }
    if i < count {
        var tail = SIMD16<Float>(repeating: 0)
        for j in 0..<(count - i) { tail[j] = values[i + j] }
        let result = function(tail)
        for j in 0..<(count - i) { values[i + j] = result[j] }
    }
}

/// 16 floats from `p` (no alignment required).
@usableFromInline @inline(__always)
func load(_ p: UnsafePointer<Float>) -> SIMD16<Float> { UnsafeRawPointer(p).loadUnaligned(as: SIMD16<Float>.self) }

@usableFromInline @inline(__always)
func load(_ p: UnsafeMutablePointer<Float>) -> SIMD16<Float> { load(UnsafePointer(p)) }

/// Writes 16 floats to `p` (no alignment required).
@usableFromInline @inline(__always)
func store(_ v: SIMD16<Float>, _ p: UnsafeMutablePointer<Float>) { UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD16<Float>.self) }
