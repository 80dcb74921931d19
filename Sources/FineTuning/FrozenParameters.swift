/// Which parameters of a model get no optimiser update, by checkpoint key (`blocks.3.attn.qkv.weight`).
/// Train the others by handing only `trainableIndices(of:)` of `namedParameters()` to the optimiser.
public struct FrozenParameters: Sendable, Equatable {
    /// The keys that stay fixed.
    public let frozenKeys: Set<String>

    /// Nothing frozen: full fine-tuning.
    public static let none = FrozenParameters(frozenKeys: [])

    /// Freezes the keys matched by any of `patterns` (see `ParameterPattern` for the rule); throws when a pattern
    /// matches none of `keys`.
    public init(freezing patterns: [ParameterPattern], among keys: [String]) throws {
        frozenKeys = Set(try patterns.selectKeys(from: keys))
    }

    /// Freezes every key except those matched by `patterns`; throws when a pattern matches none of `keys`.
    public init(training patterns: [ParameterPattern], among keys: [String]) throws {
        let trained = Set(try patterns.selectKeys(from: keys))
        frozenKeys = Set(keys.filter { !trained.contains($0) })
    }

    private init(frozenKeys: Set<String>) { self.frozenKeys = frozenKeys }

    /// BitFit (Ben Zaken et al. 2022): every key ending in `.bias` trains, all others are frozen. Throws when
    /// `keys` has no bias.
    public static func bitFit(among keys: [String]) throws -> FrozenParameters {
        guard keys.contains(where: isBias) else {
            throw FineTuningError("BitFit needs parameters ending in '.bias'; none among the \(keys.count) keys")
        }
        return FrozenParameters(frozenKeys: Set(keys.filter { !isBias($0) }))
    }

    /// Whether `key` gets no update.
    public func isFrozen(_ key: String) -> Bool { frozenKeys.contains(key) }

    /// Positions in `keys` of the parameters that train, in order.
    public func trainableIndices(of keys: [String]) -> [Int] {
        keys.indices.filter { !isFrozen(keys[$0]) }
    }

    static func isBias(_ key: String) -> Bool { key == "bias" || key.hasSuffix(".bias") }
}
