import Foundation
import Training

/// One head of the linear-probe grid: which features it reads and its SGD learning rate (already scaled).
public struct LinearProbeConfiguration: Sendable, Hashable, CustomStringConvertible {
    /// Class tokens of the last `blocks` blocks are concatenated (in block order).
    public let blocks: Int
    /// Whether the last block's mean patch token is appended.
    public let usesPatchMean: Bool
    /// The SGD base learning rate.
    public let learningRate: Double

    public init(blocks: Int, usesPatchMean: Bool, learningRate: Double) throws {
        guard blocks >= 1 else { throw TrainingError("a head must read at least one block, not \(blocks)") }
        guard learningRate > 0, learningRate.isFinite else { throw TrainingError("a learning rate must be finite and > 0, not \(learningRate)") }
        self.blocks = blocks
        self.usesPatchMean = usesPatchMean
        self.learningRate = learningRate
    }

    /// DINOv2's default learning rates (before scaling).
    public static let dinov2LearningRates: [Double] = [1e-5, 2e-5, 5e-5, 1e-4, 2e-4, 5e-4, 1e-3, 2e-3, 5e-3, 1e-2, 2e-2, 5e-2, 0.1]

    /// DINOv2's grid, in its order: for each block choice, for patch mean off then on, for each rate `r`,
    /// a head with learning rate `r · batchSize / 256` (one process).
    public static func dinov2Grid(blockChoices: [Int] = [1, 4], learningRates: [Double] = dinov2LearningRates,
                                  batchSize: Int) throws -> [LinearProbeConfiguration] {
        guard batchSize > 0 else { throw TrainingError("batch size must be positive, not \(batchSize)") }
        return try blockChoices.flatMap { blocks in
            try [false, true].flatMap { patchMean in
                try learningRates.map { rate in
                    try LinearProbeConfiguration(blocks: blocks, usesPatchMean: patchMean, learningRate: rate * Double(batchSize) / 256)
                }
            }
        }
    }

    var input: ProbeInput { ProbeInput(blocks: blocks, usesPatchMean: usesPatchMean) }

    /// The reference's head name, e.g. `classifier_4_blocks_avgpool_True_lr_0_00250`.
    public var description: String {
        let rate = String(format: "%.5f", learningRate).replacingOccurrences(of: ".", with: "_")
        return "classifier_\(blocks)_blocks_avgpool_\(usesPatchMean ? "True" : "False")_lr_\(rate)"
    }
}
