import Randomness

/// Independent seeds derived from a run's seed: `derive(seed, a, b, …)` chains SplitMix64 draws, each
/// generator seeded by the previous draw XOR the next part, so `(seed, epoch)` and `(seed, epoch, item)` give
/// unrelated streams that depend on nothing else (not on the batch an item lands in, nor on a resumed run).
enum SeedDerivation {
    /// Purposes mixed into derived seeds, so that streams of different jobs never coincide.
    enum Purpose: UInt64 {
        case head = 1, lora, dropout, batchOrder, augmentation
    }

    static func derive(_ seed: UInt64, _ purpose: Purpose, _ parts: UInt64...) -> UInt64 {
        var generator = SeededGenerator(seed: seed ^ (purpose.rawValue &* 0xD1B5_4A32_D192_ED03))
        for part in parts { generator = SeededGenerator(seed: generator.next() ^ part) }
        return generator.next()
    }
}
