import Foundation
import Randomness
import TensorCore
import Training

/// A trained (or initial) linear head, as `nn.Linear(inputWidth, classes)`: `logits = x · weightᵀ + bias`
/// with `weight` `[classes, inputWidth]` and `bias` `[classes]`, reading the input its configuration names.
public struct LinearHead: Sendable {
    /// Which features the head reads and its learning rate.
    public let configuration: LinearProbeConfiguration
    /// `[classes, inputWidth]`.
    public var weight: Tensor
    /// `[classes]`.
    public var bias: Tensor

    /// Checks that `weight` is `[classes, inputWidth]` and `bias` `[classes]`.
    public init(configuration: LinearProbeConfiguration, weight: Tensor, bias: Tensor) throws {
        guard weight.rank == 2, bias.shape == [weight.shape[0]] else {
            throw TrainingError("head \(configuration): weight \(weight.shape) and bias \(bias.shape) are not [classes, width] and [classes]")
        }
        self.configuration = configuration
        self.weight = weight
        self.bias = bias
    }

    /// Number of outputs.
    public var classes: Int { weight.shape[0] }

    /// Heads initialised as DINOv2's `LinearClassifier`: weights drawn from N(0, 0.01²), bias 0.
    ///
    /// Draws come from `SeededGenerator(seed: seed)`, head after head in the given order, each weight in
    /// row-major order, by Box–Muller: per pair of uniforms `u₁, u₂` (`uniform()`),
    /// `r = √(−2 ln(1 − u₁))` gives `r·cos(2πu₂)` then `r·sin(2πu₂)`, each times 0.01 (in `Double`, then
    /// rounded to `Float`); a head with an odd weight count discards its last sine.
    /// `patchWidth` is the width of the patch mean when it differs from the class token's `width`.
    public static func normalInitialised(_ configurations: [LinearProbeConfiguration], inputBlocks: Int, width: Int, patchWidth: Int? = nil,
                                         classes: Int, seed: UInt64) throws -> [LinearHead] {
        var generator = SeededGenerator(seed: seed)
        return try configurations.map { configuration in
            let inputWidth = configuration.blocks * width + (configuration.usesPatchMean ? patchWidth ?? width : 0)
            guard configuration.blocks <= inputBlocks else {
                throw TrainingError("head \(configuration) reads \(configuration.blocks) blocks; the features hold \(inputBlocks)")
            }
            let weight = Tensor(uninitializedShape: [classes, inputWidth]) { values in
                var index = 0
                while index < values.count {
                    let radius = (-2 * log(1 - generator.uniform())).squareRoot()
                    let angle = 2 * Double.pi * generator.uniform()
                    values[index] = Float(0.01 * radius * cos(angle))
                    if index + 1 < values.count { values[index + 1] = Float(0.01 * radius * sin(angle)) }
                    index += 2
                }
            }
            return try LinearHead(configuration: configuration, weight: weight, bias: Tensor(shape: [classes]))
        }
    }
}
