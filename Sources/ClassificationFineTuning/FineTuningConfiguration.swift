import FineTuning
import Foundation

/// Which parameters of the backbone train: all of them, low-rank adapters on some Linears (the backbone frozen),
/// or the biases only (BitFit, Ben Zaken et al. 2022). The classification head always trains.
public enum FineTuningMode: Equatable, Sendable {
    /// Every backbone parameter that takes part in the forward pass (all but `mask_token`).
    case full
    /// LoRA adapters `A` `[r, in]`, `B` `[out, r]` on the Linears `configuration.targets` selects.
    case lora(LoRAConfiguration)
    /// Every backbone parameter whose key ends in `.bias`.
    case bitFit

    /// `full`, `lora` or `bitfit`.
    public var name: String {
        switch self {
        case .full: "full"
        case .lora: "lora"
        case .bitFit: "bitfit"
        }
    }
}

extension FineTuningMode: Codable {
    enum CodingKeys: String, CodingKey { case kind, rank, alpha, dropout, targets }

    /// `{"kind": "full" | "bitfit"}` or `{"kind": "lora", "rank", "alpha", "dropout", "targets": ["qkv", …]}`.
    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(name, forKey: .kind)
        if case let .lora(lora) = self {
            try container.encode(lora.rank, forKey: .rank)
            try container.encode(lora.alpha, forKey: .alpha)
            try container.encode(lora.dropout, forKey: .dropout)
            try container.encode(lora.targets.map(\.description), forKey: .targets)
        }
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        switch try container.decode(String.self, forKey: .kind) {
        case "full": self = .full
        case "bitfit": self = .bitFit
        case "lora":
            let targets = try container.decode([String].self, forKey: .targets).map { try ParameterPattern($0) }
            self = .lora(try LoRAConfiguration(rank: try container.decode(Int.self, forKey: .rank),
                                               alpha: try container.decode(Float.self, forKey: .alpha),
                                               dropout: try container.decode(Float.self, forKey: .dropout), targets: targets))
        case let other:
            throw DecodingError.dataCorruptedError(forKey: .kind, in: container, debugDescription: "unknown fine-tuning mode '\(other)'")
        }
    }
}

/// The settings of one fine-tuning run, recorded with every result. AdamW (β 0.9/0.999, ε 1e-8) with two
/// parameter groups, the head at `headLearningRate` and the trainable backbone parameters at
/// `backboneLearningRate` (the study sweeps the latter over 5e-4 … 1e-7); both follow a linear warm-up from 0 over
/// `warmupEpochs` epochs, then a cosine to 0 at the end of `epochs`; gradients are clipped to a global L2 norm of
/// `clipNorm` when it is set.
public struct FineTuningConfiguration: Codable, Equatable, Sendable {
    public let mode: FineTuningMode
    /// Base rate of the head's weight and bias.
    public let headLearningRate: Double
    /// Base rate of the trainable backbone parameters (LoRA `A`/`B`, biases, or all).
    public let backboneLearningRate: Double
    /// AdamW's decoupled weight decay `λ` (every trainable parameter).
    public let weightDecay: Double
    /// Epochs of linear warm-up (0: none); fewer than `epochs`.
    public let warmupEpochs: Int
    public let epochs: Int
    /// Images per optimiser step.
    public let batchSize: Int
    /// Maximum global L2 norm of the gradients; nil: no clipping.
    public let clipNorm: Float?
    /// Seeds the head's initial weights, the LoRA `A` matrices, the batch order, the augmentation and the dropout.
    public let seed: UInt64
    /// The study's random scale crop and horizontal flip on training images.
    public let augmentation: Bool
    /// Activation checkpointing: each block's activations are recomputed in the backward pass (same gradients,
    /// one block's activations in memory).
    public let recomputeBlocks: Bool

    /// Throws a `FineTuningError` naming the setting when a learning rate is not finite and > 0, the weight decay is
    /// negative or not finite, `epochs`, `batchSize` < 1, `warmupEpochs` outside `0..<epochs`, or `clipNorm` ≤ 0.
    public init(mode: FineTuningMode, headLearningRate: Double, backboneLearningRate: Double, weightDecay: Double = 0.05,
                warmupEpochs: Int = 0, epochs: Int, batchSize: Int, clipNorm: Float? = 1, seed: UInt64 = 0,
                augmentation: Bool = true, recomputeBlocks: Bool = false) throws {
        for (name, rate) in [("head", headLearningRate), ("backbone", backboneLearningRate)] where !(rate > 0 && rate.isFinite) {
            throw FineTuningError("the \(name) learning rate must be finite and > 0, not \(rate)")
        }
        guard weightDecay >= 0, weightDecay.isFinite else { throw FineTuningError("the weight decay must be finite and ≥ 0, not \(weightDecay)") }
        guard epochs >= 1 else { throw FineTuningError("fine-tuning needs at least 1 epoch, not \(epochs)") }
        guard batchSize >= 1 else { throw FineTuningError("the batch size must be at least 1, not \(batchSize)") }
        guard (0..<epochs).contains(warmupEpochs) else {
            throw FineTuningError("the warm-up epochs (\(warmupEpochs)) must be ≥ 0 and fewer than the epochs (\(epochs))")
        }
        if let clipNorm, !(clipNorm > 0 && clipNorm.isFinite) {
            throw FineTuningError("the gradient clipping norm must be finite and > 0, not \(clipNorm)")
        }
        self.mode = mode
        self.headLearningRate = headLearningRate
        self.backboneLearningRate = backboneLearningRate
        self.weightDecay = weightDecay
        self.warmupEpochs = warmupEpochs
        self.epochs = epochs
        self.batchSize = batchSize
        self.clipNorm = clipNorm
        self.seed = seed
        self.augmentation = augmentation
        self.recomputeBlocks = recomputeBlocks
    }

    enum CodingKeys: String, CodingKey {
        case mode, headLearningRate, backboneLearningRate, weightDecay, warmupEpochs, epochs, batchSize, clipNorm, seed, augmentation
        case recomputeBlocks
    }

    /// Decodes and validates as the initialiser does.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        try self.init(mode: c.decode(FineTuningMode.self, forKey: .mode), headLearningRate: c.decode(Double.self, forKey: .headLearningRate),
                      backboneLearningRate: c.decode(Double.self, forKey: .backboneLearningRate),
                      weightDecay: c.decode(Double.self, forKey: .weightDecay), warmupEpochs: c.decode(Int.self, forKey: .warmupEpochs),
                      epochs: c.decode(Int.self, forKey: .epochs), batchSize: c.decode(Int.self, forKey: .batchSize),
                      clipNorm: c.decodeIfPresent(Float.self, forKey: .clipNorm), seed: c.decode(UInt64.self, forKey: .seed),
                      augmentation: c.decode(Bool.self, forKey: .augmentation), recomputeBlocks: c.decode(Bool.self, forKey: .recomputeBlocks))
    }

    /// The configuration as compact JSON with sorted keys (how it is recorded in checkpoints and compared on resume).
    public func jsonText() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }

    /// The configuration recorded by `jsonText()`.
    public static func decode(jsonText: String) throws -> FineTuningConfiguration {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(FineTuningConfiguration.self, from: Data(jsonText.utf8))
    }
}
