import Foundation

/// The learning rate of step `t` (0-based: the rate the optimizer uses for its `t`-th update) given the
/// base rate `lr₀` of a parameter group.
///
/// - `constant`: `lr_t = lr₀`.
/// - `cosine`: an optional linear warm-up over the first `W` steps, `lr_t = lr₀ · (s + (1 − s) · t / W)`
///   for `t < W` (`s` = `warmupStartFactor`), then cosine annealing over the remaining `T − W` steps,
///   `lr_t = η + (lr₀ − η) · (1 + cos(π · u / (T − W))) / 2` with `u = min(t − W, T − W)` (`η` = `minimum`,
///   `T` = `totalSteps`). Without warm-up this is the closed form of `torch.optim.lr_scheduler.CosineAnnealingLR(
///   T_max=T, eta_min=η)`; with it, `SequentialLR([LinearLR(s, 1, W), CosineAnnealingLR(T − W, η)], [W])`.
///   Steps past `T` keep `η`.
public struct LearningRateSchedule: Sendable, Equatable {
    /// Steps of the whole run (`T`), warm-up included; 0 for a constant rate.
    public let totalSteps: Int
    /// Linear warm-up steps (`W`).
    public let warmupSteps: Int
    /// The fraction of `lr₀` at step 0 of the warm-up (`s`).
    public let warmupStartFactor: Double
    /// The rate reached at the end of the cosine (`η`), nil for a constant rate.
    public let minimum: Double?

    /// The base rate at every step.
    public static let constant = LearningRateSchedule(totalSteps: 0, warmupSteps: 0, warmupStartFactor: 1, minimum: nil)

    /// Cosine annealing from `lr₀` to `minimum` over `totalSteps`, after `warmupSteps` of linear warm-up.
    public static func cosine(totalSteps: Int, minimum: Double = 0, warmupSteps: Int = 0,
                              warmupStartFactor: Double = 0) throws -> LearningRateSchedule {
        guard totalSteps > warmupSteps, warmupSteps >= 0 else {
            throw TrainingError("a cosine schedule needs total steps (\(totalSteps)) above the warm-up steps (\(warmupSteps)) ≥ 0")
        }
        guard minimum >= 0, minimum.isFinite else { throw TrainingError("the minimum learning rate must be finite and ≥ 0, not \(minimum)") }
        guard (0...1).contains(warmupStartFactor) else {
            throw TrainingError("the warm-up start factor must be in [0, 1], not \(warmupStartFactor)")
        }
        return LearningRateSchedule(totalSteps: totalSteps, warmupSteps: warmupSteps,
                                    warmupStartFactor: warmupStartFactor, minimum: minimum)
    }

    /// `lr_t` for base rate `base` at step `step` (≥ 0).
    public func learningRate(base: Double, step: Int) -> Double {
        guard let minimum else { return base }
        if step < warmupSteps {
            return base * (warmupStartFactor + (1 - warmupStartFactor) * Double(step) / Double(warmupSteps))
        }
        let span = totalSteps - warmupSteps
        let progress = Double(min(step - warmupSteps, span)) / Double(span)
        return minimum + (base - minimum) * (1 + cos(Double.pi * progress)) / 2
    }
}
