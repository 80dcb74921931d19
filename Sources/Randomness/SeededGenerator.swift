/// A small deterministic random number generator, SplitMix64 (Steele, Lea & Flood 2014, as in Java's
/// `SplittableRandom`): the state advances by the golden-ratio increment `0x9E3779B97F4A7C15` and each
/// output is the state mixed by `z ^= z >> 30; z *= 0xBF58476D1CE4E5B9; z ^= z >> 27;
/// z *= 0x94D049BB133111EB; z ^= z >> 31`. The same seed gives the same sequence on every platform and
/// Swift version, as long as draws go through `uniform()` and `integer(below:)` (the standard library's
/// `random(in:using:)` algorithms are not guaranteed stable).
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    /// The generator's state (the seed before the first draw).
    public private(set) var state: UInt64

    /// A generator starting from `seed`.
    public init(seed: UInt64) { state = seed }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform double in [0, 1): the top 53 bits of `next()` times 2⁻⁵³.
    public mutating func uniform() -> Double { Double(next() >> 11) * 0x1p-53 }

    /// A uniform double in `range`: `lower + (upper − lower) · uniform()`.
    public mutating func uniform(in range: ClosedRange<Double>) -> Double {
        range.lowerBound + (range.upperBound - range.lowerBound) * uniform()
    }

    /// An integer in `0..<bound` (`bound > 0`): the high word of `next() · bound` (Lemire's
    /// multiply-shift, without the rejection step; the bias is below `bound / 2⁶⁴`).
    public mutating func integer(below bound: Int) -> Int {
        precondition(bound > 0, "integer(below:) needs a positive bound, not \(bound)")
        return Int(next().multipliedFullWidth(by: UInt64(bound)).high)
    }
}

extension SeededGenerator {
    /// Fisher–Yates shuffle drawing through `integer(below:)`, so a seed gives the same order everywhere.
    public mutating func shuffle<T>(_ elements: inout [T]) {
        guard elements.count > 1 else { return }
        for last in stride(from: elements.count - 1, to: 0, by: -1) {
            elements.swapAt(last, integer(below: last + 1))
        }
    }
}
