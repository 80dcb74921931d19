import Foundation
import LinearProbes
import TensorCore
import TestSupport
import Training

/// A grid trained by PyTorch (scripts/make_linear_probe_fixtures.py) with the same initial weights and batch order.
struct ProbeFixture: Decodable {
    struct Configuration: Decodable {
        let blocks: Int
        let patch_mean: Bool
        let learning_rate: Double
    }

    struct Split: Decodable {
        let count: Int
        let class_tokens: [Float]
        let patch_means: [Float]
        let targets: Targets
    }

    /// Multi-label targets (nil for unknown) or class indices.
    enum Targets: Decodable {
        case binary([Float?])
        case indices([Int])

        init(from decoder: Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let indices = try? container.decode([Int].self) { self = .indices(indices) } else { self = .binary(try container.decode([Float?].self)) }
        }
    }

    let blocks: Int, width: Int, classes: Int, multi_label: Bool
    let batch_size: Int, epochs: Int, shuffle_seed: UInt64, init_seed: UInt64, keep_partial: Bool
    let configurations: [Configuration]
    let train: Split, validation: Split, test: Split
    let weights: [[Float]], biases: [[Float]]
    let validation_logits: [[Float]]
    let scores: [Double]
    let best: Int
    let refit_weight: [Float], refit_bias: [Float], test_logits: [Float]

    static func load(_ name: String) throws -> ProbeFixture {
        try JSONDecoder().decode(ProbeFixture.self, from: Data(contentsOf: Fixtures.url("linear/\(name)")))
    }

    func features(_ split: Split) throws -> ProbeFeatures {
        try ProbeFeatures(classTokens: Tensor(shape: [split.count, blocks, width], values: split.class_tokens),
                          patchMeans: Tensor(shape: [split.count, blocks, width], values: split.patch_means))
    }

    func targets(_ split: Split) -> ProbeTargets {
        switch split.targets {
        case .binary(let values): .multiLabel(Tensor(shape: [split.count, classes], values: values.map { $0 ?? .nan }))
        case .indices(let labels): .multiClass(labels: labels, classes: classes)
        }
    }

    func gridConfigurations() throws -> [LinearProbeConfiguration] {
        try configurations.map { try LinearProbeConfiguration(blocks: $0.blocks, usesPatchMean: $0.patch_mean, learningRate: $0.learning_rate) }
    }

    var options: LinearProbeTrainingOptions {
        LinearProbeTrainingOptions(epochs: epochs, batchSize: batch_size, shuffleSeed: shuffle_seed,
                                   initialisationSeed: init_seed, partialBatch: keep_partial ? .keep : .drop)
    }

    /// The negative mean validation loss, the score the fixture selects with.
    static func negativeLoss(_ logits: Tensor, _ targets: ProbeTargets) throws -> Double {
        switch targets {
        case .multiLabel(let values): -Double(try BinaryCrossEntropy.loss(logits: logits, targets: values).value)
        case .multiClass(let labels, _): -Double(try CrossEntropy.loss(logits: logits, labels: labels).value)
        }
    }
}
