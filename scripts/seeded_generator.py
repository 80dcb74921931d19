"""SplitMix64 and the draws RadProbe makes from it, exactly as Sources/Randomness/SeededGenerator.swift,
for fixture scripts that must draw the same samples as the Swift code (imported, not run)."""

MASK64 = (1 << 64) - 1


class SeededGenerator:
    """SplitMix64: the state advances by 0x9E3779B97F4A7C15; each output is the mixed state."""

    def __init__(self, seed):
        self.state = seed & MASK64

    def next(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK64
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
        return z ^ (z >> 31)

    def uniform(self):
        """A double in [0, 1): the top 53 bits times 2^-53."""
        return (self.next() >> 11) * 2.0 ** -53

    def integer_below(self, bound):
        """An integer in [0, bound): the high word of next() * bound."""
        return (self.next() * bound) >> 64

    def shuffle(self, items):
        """Fisher-Yates from the last position down, drawing through integer_below."""
        for last in range(len(items) - 1, 0, -1):
            j = self.integer_below(last + 1)
            items[last], items[j] = items[j], items[last]


assert SeededGenerator(0).next() == 0xE220A8397B1DCDAF  # the published first output for seed 0
