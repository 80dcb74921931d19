import Convolution
import Randomness
import SegmentationDecoders
import TensorCore
import TensorKernels
import TestSupport
import Training
import XCTest

/// `unet.json`: the PyTorch U-Net decoder (D = 16, K = 3) in training mode with a Dice + CE loss.
private struct UNetFixture: Decodable {
    let stateDict: [String: FixtureTensor]
    let inputs: [FixtureTensor]
    let labels: [Int]
    let output: FixtureTensor
    let loss: Float
    let outputGradient: FixtureTensor
    let inputGradients: [FixtureTensor]
    let gradients: [String: FixtureTensor]
    let runningStatistics: [String: FixtureTensor]
    let evaluationOutput: FixtureTensor
    let afterAdamw: [String: FixtureTensor]
}

final class UNetDecoderTests: XCTestCase {
    private let context = ComputeContext(threads: 2)

    private func freshDecoder(seed: UInt64 = 3) throws -> UNetDecoder {
        var generator = SeededGenerator(seed: seed)
        return try UNetDecoder(configuration: UNetDecoderConfiguration(embedDimension: 16, classes: 3), generator: &generator)
    }

    private func fixtureDecoder() throws -> (UNetDecoder, UNetFixture) {
        let f = try decodeDecoderFixture(UNetFixture.self, "unet.json")
        var decoder = try freshDecoder()
        try decoder.load(stateDict: f.stateDict.tensors)
        return (decoder, f)
    }

    func testTrainingForwardBackwardMatchPyTorch() throws {
        var (decoder, f) = try fixtureDecoder()
        let (output, cache) = try decoder.forwardTraining(f.inputs.map(\.tensor), imageSize: Size2D(28), context: context)
        assertClose(output, f.output.tensor, tolerance: 1e-5, "output")
        let loss = try DiceCrossEntropyLoss(dice: DiceLoss()).loss(logits: output, labels: f.labels)
        XCTAssertEqual(loss.value, f.loss, accuracy: 1e-5)
        assertClose(loss.gradient, f.outputGradient.tensor, tolerance: 1e-7, "loss gradient")

        let gradients = try decoder.backward(f.outputGradient.tensor, cache: cache, inputGradients: true, context: context)
        assertGradientsClose(gradients.parameters, f.gradients, relative: 1e-5)
        let inputs = try XCTUnwrap(gradients.inputs)
        XCTAssertEqual(inputs.count, 5)
        for (index, (actual, expected)) in zip(inputs, f.inputGradients).enumerated() {
            assertClose(actual, expected.tensor, tolerance: 1e-5 * max(1, expected.values.map(abs).max()!), "input \(index) gradient")
        }
        let withoutInputs = try decoder.backward(f.outputGradient.tensor, cache: cache, context: context)
        XCTAssertNil(withoutInputs.inputs)
        assertGradientsClose(withoutInputs.parameters, f.gradients, relative: 1e-5)

        let state = decoder.stateDict()
        for (key, expected) in f.runningStatistics {
            assertClose(try XCTUnwrap(state[key], key), expected.tensor, tolerance: 1e-6, key)
        }
        let evaluation = try decoder.forwardInference(f.inputs.map(\.tensor), imageSize: Size2D(28), context: context)
        assertClose(evaluation, f.evaluationOutput.tensor, tolerance: 1e-5, "evaluation output")
    }

    /// One AdamW step (lr 1e-3, weight decay 0.01) on the fixture's gradients lands on PyTorch's parameters.
    func testAdamWStepMatchesPyTorch() throws {
        var (decoder, f) = try fixtureDecoder()
        let (keys, tensors) = decoder.trainableParameters()
        XCTAssertEqual(Set(keys), Set(f.afterAdamw.keys))
        var parameters = tensors
        let gradients = try keys.map { try XCTUnwrap(f.gradients[$0]?.tensor, $0) }
        var optimizer = try AdamW(parameterCount: keys.count, groups: [ParameterGroup(parameters: Array(keys.indices), learningRate: 1e-3)])
        try optimizer.step(parameters: &parameters, gradients: gradients)
        try decoder.setTrainableParameters(parameters)
        let state = decoder.stateDict()
        for (key, expected) in f.afterAdamw {
            assertClose(try XCTUnwrap(state[key]), expected.tensor, tolerance: 1e-6, key)
        }
    }

    func testDefaultChannelPlanAndStateDictKeys() throws {
        let decoder = try freshDecoder()
        XCTAssertEqual(decoder.configuration.stageChannels, [8, 4, 2, 1])
        XCTAssertEqual(try UNetDecoderConfiguration(embedDimension: 384, classes: 2).stageChannels, [192, 96, 48, 24])
        let f = try decodeDecoderFixture(UNetFixture.self, "unet.json")
        let shapes = Dictionary(uniqueKeysWithValues: decoder.parameterShapes().map { ($0.key, $0.shape) })
        XCTAssertEqual(shapes, f.stateDict.mapValues(\.shape))
    }

    /// Every convolution's weight and bias lie in ±1/√fan_in (fan_in = size(1)·kh·kw, as PyTorch), fill
    /// a good part of that range, and the same seed gives the same decoder.
    func testKaimingUniformInitialisation() throws {
        let decoder = try freshDecoder()
        let state = decoder.stateDict()
        for (key, weight) in state where key.hasSuffix("weight") && weight.rank == 4 {
            let bound = 1 / Float(weight.shape.dropFirst().reduce(1, *)).squareRoot()
            let bias = try XCTUnwrap(state[key.replacingOccurrences(of: "weight", with: "bias")])
            for tensor in [weight, bias] {
                let largest = tensor.scalars.map(abs).max()!
                XCTAssertLessThanOrEqual(largest, bound, key)
                if tensor.count >= 8 { XCTAssertGreaterThan(largest, bound / 2, key) }
            }
        }
        for (key, value) in try freshDecoder().stateDict() { XCTAssertEqual(value.scalars, state[key]?.scalars, key) }
        XCTAssertNotEqual(try freshDecoder(seed: 4).stateDict()["head.weight"]?.scalars, state["head.weight"]?.scalars)
        XCTAssertEqual(state["fuses.0.bn.weight"]?.scalars, [Float](repeating: 1, count: 8))
    }

    func testRejectsBadInput() throws {
        var decoder = try freshDecoder()
        let grid = Tensor(shape: [1, 16, 2, 2])
        XCTAssertThrowsError(try decoder.forwardTraining([grid, grid, grid, grid], imageSize: Size2D(28), context: context)) { error in
            XCTAssertTrue("\(error)".contains("last 5 blocks"), "\(error)")
        }
        XCTAssertThrowsError(try decoder.forwardInference([grid, grid, grid, grid, Tensor(shape: [1, 16, 3, 3])], imageSize: Size2D(28), context: context))
        XCTAssertThrowsError(try decoder.forwardInference(Array(repeating: Tensor(shape: [1, 12, 2, 2]), count: 5), imageSize: Size2D(28), context: context))
        XCTAssertThrowsError(try UNetDecoderConfiguration(embedDimension: 24, classes: 2))
        XCTAssertEqual(try UNetDecoderConfiguration(embedDimension: 24, classes: 2, stageChannels: [12, 6, 3, 3]).stageChannels, [12, 6, 3, 3])
        XCTAssertThrowsError(try UNetDecoderConfiguration(embedDimension: 16, classes: 2, stageChannels: [8, 4, 2]))
        XCTAssertThrowsError(try decoder.setTrainableParameters([]))
    }
}
