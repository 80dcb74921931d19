import TensorCore
import TestSupport
import Training
import XCTest

final class OptimizerTests: XCTestCase {
    private func runs() throws -> [String: OptimizerRun] { try decodeFixture([String: OptimizerRun].self, "optimizers.json") }

    private func groups() throws -> [ParameterGroup] {
        [try ParameterGroup(parameters: [0], learningRate: 0.1), try ParameterGroup(parameters: [1], learningRate: 0.05)]
    }

    /// Replays a run: `step` applies one update; the rates and every intermediate parameter are compared.
    private func replay(_ run: OptimizerRun, clip: Float? = nil,
                        rate: (Int) -> Double, step: (inout [Tensor], [Tensor]) throws -> Void) throws {
        var parameters = [Tensor(shape: [3, 4], values: run.weight), Tensor(shape: [3], values: run.bias)]
        for (t, pair) in run.gradients.enumerated() {
            XCTAssertEqual(rate(0), run.rates[t][0], accuracy: 1e-12, "rate of group 0 at step \(t)")
            XCTAssertEqual(rate(1), run.rates[t][1], accuracy: 1e-12, "rate of group 1 at step \(t)")
            var gradients = [Tensor(shape: [3, 4], values: pair[0]), Tensor(shape: [3], values: pair[1])]
            if let clip {
                let norm = try GradientClipping.clipByGlobalNorm(&gradients, maxNorm: clip)
                XCTAssertEqual(norm, run.norms[t], accuracy: 1e-5)
            }
            try step(&parameters, gradients)
            assertClose(parameters[0], Tensor(shape: [3, 4], values: run.trajectory[t][0]), tolerance: 1e-6, "weight after step \(t)")
            assertClose(parameters[1], Tensor(shape: [3], values: run.trajectory[t][1]), tolerance: 1e-6, "bias after step \(t)")
        }
    }

    private func replaySGD(_ name: String, momentum: Float, weightDecay: Float, schedule: LearningRateSchedule) throws {
        let run = try XCTUnwrap(runs()[name])
        var sgd = try SGD(parameterCount: 2, groups: groups(), momentum: momentum, weightDecay: weightDecay, schedule: schedule)
        try replay(run, rate: { sgd.currentLearningRate(group: $0) }, step: { try sgd.step(parameters: &$0, gradients: $1) })
    }

    func testSGDWithMomentumWeightDecayAndCosineMatchesTorch() throws {
        try replaySGD("sgd_cosine", momentum: 0.9, weightDecay: 1e-3, schedule: .cosine(totalSteps: 20, minimum: 0.001))
    }

    func testSGDWithWarmupMatchesTorchSequentialLR() throws {
        try replaySGD("sgd_warmup", momentum: 0.9, weightDecay: 0,
                      schedule: .cosine(totalSteps: 20, warmupSteps: 5, warmupStartFactor: 0.25))
    }

    func testPlainSGDMatchesTorch() throws {
        try replaySGD("sgd_plain", momentum: 0, weightDecay: 0, schedule: .constant)
    }

    func testAdamWWithCosineMatchesTorch() throws {
        let run = try XCTUnwrap(runs()["adamw_cosine"])
        var adam = try AdamW(parameterCount: 2, groups: groups(), weightDecay: 0.05, schedule: .cosine(totalSteps: 20, minimum: 0.001))
        try replay(run, rate: { adam.currentLearningRate(group: $0) }, step: { try adam.step(parameters: &$0, gradients: $1) })
    }

    func testAdamWWithGradientClippingMatchesTorch() throws {
        let run = try XCTUnwrap(runs()["adamw_clipped"])
        var adam = try AdamW(parameterCount: 2, groups: groups())
        try replay(run, clip: 1.5, rate: { adam.currentLearningRate(group: $0) },
                   step: { try adam.step(parameters: &$0, gradients: $1) })
    }

    func testBadSettingsThrow() throws {
        XCTAssertThrowsError(try ParameterGroup(parameters: [0], learningRate: 0))
        XCTAssertThrowsError(try ParameterGroup(parameters: [0], learningRate: -1))
        XCTAssertThrowsError(try SGD(parameterCount: 2, groups: [ParameterGroup(parameters: [0], learningRate: 1)]), "parameter 1 has no group")
        XCTAssertThrowsError(try LearningRateSchedule.cosine(totalSteps: 5, warmupSteps: 5))
        var sgd = try SGD(parameterCount: 1, groups: [ParameterGroup(parameters: [0], learningRate: 1)], momentum: 0.9)
        var parameters = [Tensor(shape: [2], repeating: 0)]
        XCTAssertThrowsError(try sgd.step(parameters: &parameters, gradients: [Tensor(shape: [3], repeating: 0)]))
        XCTAssertThrowsError(try sgd.step(parameters: &parameters, gradients: [Tensor(shape: [2], values: [.nan, 0])]))
    }
}
