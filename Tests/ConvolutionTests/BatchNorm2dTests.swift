import Convolution
import TensorCore
import TensorKernels
import TestSupport
import XCTest

final class BatchNorm2dTests: XCTestCase {
    /// A training step (output, gradients, running statistics) and an eval-mode forward against
    /// `torch.nn.BatchNorm2d`.
    func testMatchesPyTorch() throws {
        let fixture = try decodeConvolutionFixture(FixtureCases<BatchNormCase>.self, "batch_norm2d.json")
        XCTAssertEqual(fixture.cases.count, 2)
        for item in fixture.cases {
            var layer = try BatchNorm2d(weight: item.weight.tensor, bias: item.bias.tensor,
                                        runningMean: item.runningMean.tensor, runningVariance: item.runningVar.tensor)
            let context = ComputeContext(threads: 2)
            let (output, cache) = try layer.forwardTraining(item.input.tensor, context: context)
            assertClose(output, item.output.tensor, tolerance: 1e-5, "\(item.name): output")
            assertClose(layer.runningMean, item.runningMeanAfter.tensor, tolerance: 1e-6, "\(item.name): running mean")
            assertClose(layer.runningVariance, item.runningVarAfter.tensor, tolerance: 1e-6, "\(item.name): running variance")
            let gradients = try layer.backward(item.outputGradient.tensor, cache: cache, context: context)
            assertClose(gradients.input, item.inputGradient.tensor, tolerance: 1e-5, "\(item.name): input gradient")
            assertClose(gradients.weight, item.weightGradient.tensor, tolerance: 1e-5, "\(item.name): weight gradient")
            assertClose(gradients.bias, item.biasGradient.tensor, tolerance: 1e-5, "\(item.name): bias gradient")
            let evaluation = try layer.forwardInference(item.evalInput.tensor, context: context)
            assertClose(evaluation, item.evalOutput.tensor, tolerance: 1e-5, "\(item.name): eval output")
        }
    }

    /// Training-mode gradients against central differences of the Double reference.
    func testGradientsMatchFiniteDifferences() throws {
        let shape = [2, 3, 3, 2]
        let input = testTensor(shape, seed: 5), gamma = testTensor([3], seed: 6), beta = testTensor([3], seed: 7)
        var layer = try BatchNorm2d(weight: gamma, bias: beta, runningMean: Tensor(shape: [3]),
                                    runningVariance: Tensor(shape: [3], repeating: 1))
        let (output, cache) = try layer.forwardTraining(input, context: .serial)
        let upstream = testTensor(shape, seed: 8)
        let gradients = try layer.backward(upstream, cache: cache, context: .serial)
        let (x, w, b, g) = (input.doubles, gamma.doubles, beta.doubles, upstream.doubles)
        assertMatches(output, Reference.batchNorm(x, shape, gamma: w, beta: b), tolerance: 1e-5, "forward")
        assertMatches(gradients.input, numericalGradient(at: x, upstream: g) { Reference.batchNorm($0, shape, gamma: w, beta: b) }, "input")
        assertMatches(gradients.weight, numericalGradient(at: w, upstream: g) { Reference.batchNorm(x, shape, gamma: $0, beta: b) }, "weight")
        assertMatches(gradients.bias, numericalGradient(at: b, upstream: g) { Reference.batchNorm(x, shape, gamma: w, beta: $0) }, "bias")
    }

    func testFreshLayerStartsAsPyTorchAndNamesItsKeys() throws {
        let layer = try BatchNorm2d(channels: 4)
        XCTAssertEqual(layer.weight.scalars, [1, 1, 1, 1])
        XCTAssertEqual(layer.runningVariance.scalars, [1, 1, 1, 1])
        XCTAssertEqual(layer.parameterShapes().map(\.key), ["weight", "bias", "running_mean", "running_var"])
    }

    func testTrainingNeedsMoreThanOneValuePerChannel() throws {
        var layer = try BatchNorm2d(channels: 2)
        XCTAssertThrowsError(try layer.forwardTraining(Tensor(shape: [1, 2, 1, 1]), context: .serial)) { error in
            XCTAssertTrue("\(error)".contains("more than one value per channel"), "\(error)")
        }
    }
}
