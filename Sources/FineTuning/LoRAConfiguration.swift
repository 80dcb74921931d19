/// The settings of LoRA (Hu et al. 2022): each targeted Linear `y = x·Wᵀ + b` becomes
/// `y = x·Wᵀ + b + (α/r)·(dropout(x)·Aᵀ)·Bᵀ` with trainable `A` `[r, in]`, `B` `[out, r]`; `W`, `b` frozen.
public struct LoRAConfiguration: Sendable, Equatable {
    /// The rank `r` (> 0).
    public let rank: Int
    /// `α` (> 0); the update is scaled by `α / r`.
    public let alpha: Float
    /// The dropout probability `p` in [0, 1) on the input of `A` (training only).
    public let dropout: Float
    /// The Linears adapted: patterns over parameter keys, of which the rank-2 `….weight` keys count.
    public let targets: [ParameterPattern]

    /// The study's setting: r = 48, α = 16, dropout 0.1 on `qkv`, `fc1`, `fc2`.
    public static let study = try! LoRAConfiguration(rank: 48, alpha: 16, dropout: 0.1, targets: ["qkv", "fc1", "fc2"])

    public init(rank: Int, alpha: Float, dropout: Float = 0, targets: [ParameterPattern] = ["qkv", "fc1", "fc2"]) throws {
        guard rank > 0 else { throw FineTuningError("LoRA rank must be > 0, not \(rank)") }
        guard alpha > 0, alpha.isFinite else { throw FineTuningError("LoRA alpha must be finite and > 0, not \(alpha)") }
        guard dropout >= 0, dropout < 1 else { throw FineTuningError("LoRA dropout must be in [0, 1), not \(dropout)") }
        guard !targets.isEmpty else { throw FineTuningError("LoRA needs at least one target pattern") }
        self.rank = rank
        self.alpha = alpha
        self.dropout = dropout
        self.targets = targets
    }

    /// `α / r`, the factor on `B·A`.
    public var scale: Float { alpha / Float(rank) }
}

/// One Linear chosen for LoRA: its module key (`blocks.0.attn.qkv`) and the shape of its weight `[out, in]`.
public struct LoRATarget: Sendable, Equatable {
    public let module: String
    public let inFeatures: Int
    public let outFeatures: Int

    public init(module: String, inFeatures: Int, outFeatures: Int) {
        self.module = module
        self.inFeatures = inFeatures
        self.outFeatures = outFeatures
    }

    /// The parameters LoRA adds to it: `r·(in + out)` (`A` `[r, in]` and `B` `[out, r]`).
    public func addedParameters(rank: Int) -> Int { rank * (inFeatures + outFeatures) }

    /// The Linears among `parameters` (key, shape) whose `….weight` key is rank 2 and matched by a pattern;
    /// throws when a pattern matches no such weight, listing a few that exist.
    public static func select(_ patterns: [ParameterPattern], among parameters: [(key: String, shape: [Int])]) throws -> [LoRATarget] {
        let linearWeights = parameters.filter { $0.key.hasSuffix(".weight") && $0.shape.count == 2 }
        let chosen = Set(try patterns.selectKeys(from: linearWeights.map(\.key)))
        return linearWeights.filter { chosen.contains($0.key) }.map {
            LoRATarget(module: String($0.key.dropLast(".weight".count)), inFeatures: $0.shape[1], outFeatures: $0.shape[0])
        }
    }
}
