import Convolution
import Foundation
import Randomness
import SegmentationDecoders
import TensorCore
import TensorKernels
import TestSupport
import Training
import XCTest

/// `scratch-unet/unet.json`: the PyTorch U-Net (w = 4, C = 3, K = 2) in training mode, its weights drawn
/// from `SeededGenerator(seed:)` as `ScratchUNet` draws them; the gradients are in `unet_gradients.npy`.
private struct ScratchUNetFixture: Decodable {
    struct Entry: Decodable {
        let key: String
        let shape: [Int]
    }

    struct ClassicCounts: Decodable {
        let rgb: Int
        let grey: Int
    }

    let seed: UInt64
    let images: FixtureTensor
    let output: FixtureTensor
    let outputGradient: FixtureTensor
    let inputGradient: FixtureTensor
    let gradientLayout: [Entry]
    let runningStatistics: [String: FixtureTensor]
    let evaluationOutput: FixtureTensor
    let afterAdamw: [String: FixtureTensor]
    let parameterCount: Int
    let classicParameterCounts: ClassicCounts

    static func load() throws -> ScratchUNetFixture {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(Self.self, from: Data(contentsOf: Fixtures.url("scratch-unet/unet.json")))
    }

    /// PyTorch's gradients by key, cut from the concatenated `.npy` along `gradientLayout`.
    func gradients() throws -> [String: FixtureTensor] {
        let all = try Fixtures.array("scratch-unet/unet_gradients.npy").scalars
        var offset = 0
        var result: [String: FixtureTensor] = [:]
        for entry in gradientLayout {
            let count = entry.shape.reduce(1, *)
            result[entry.key] = FixtureTensor(shape: entry.shape, values: Array(all[offset..<offset + count]))
            offset += count
        }
        XCTAssertEqual(offset, all.count, "gradient layout covers the whole array")
        return result
    }
}

final class ScratchUNetTests: XCTestCase {
    private let context = ComputeContext(threads: 2)

    private func network(seed: UInt64 = 11, width: Int = 4, inputChannels: Int = 3) throws -> ScratchUNet {
        var generator = SeededGenerator(seed: seed)
        return try ScratchUNet(configuration: ScratchUNetConfiguration(inputChannels: inputChannels, classes: 2, baseWidth: width),
                               generator: &generator)
    }

    /// The same seed draws the same weights as the fixture's PyTorch network, so outputs, every gradient,
    /// the running statistics and the evaluation output must agree.
    func testTrainingForwardBackwardMatchPyTorch() throws {
        let f = try ScratchUNetFixture.load()
        var net = try network(seed: f.seed)
        let (output, cache) = try net.forwardTraining(f.images.tensor, context: context)
        assertClose(output, f.output.tensor, tolerance: 1e-5 * max(1, f.output.values.map(abs).max()!), "output")

        let expected = try f.gradients()
        let gradients = try net.backward(f.outputGradient.tensor, cache: cache, inputGradients: true, context: context)
        assertParameterGradientsClose(gradients.parameters, expected)
        let inputs = try XCTUnwrap(gradients.inputs)
        XCTAssertEqual(inputs.count, 1)
        assertClose(inputs[0], f.inputGradient.tensor, tolerance: 1e-5 * max(1, f.inputGradient.values.map(abs).max()!), "image gradient")
        let withoutInputs = try net.backward(f.outputGradient.tensor, cache: cache, context: context)
        XCTAssertNil(withoutInputs.inputs)
        assertParameterGradientsClose(withoutInputs.parameters, expected)

        let state = net.stateDict()
        XCTAssertEqual(Set(f.runningStatistics.keys), Set(state.keys.filter { $0.contains("running") }))
        for (key, statistic) in f.runningStatistics {
            assertClose(try XCTUnwrap(state[key], key), statistic.tensor, tolerance: 1e-5 * max(1, statistic.values.map(abs).max()!), key)
        }
        let evaluation = try net.forwardInference(f.images.tensor, context: context)
        assertClose(evaluation, f.evaluationOutput.tensor, tolerance: 1e-5 * max(1, f.evaluationOutput.values.map(abs).max()!), "evaluation output")
    }

    /// Every gradient to `1e-5 · max(1, max |expected|)`, except the bias of a convolution that feeds a
    /// BatchNorm: its gradient `Σ ∂L/∂conv-output` is zero in exact arithmetic (BatchNorm removes the
    /// channel mean), so both engines return rounding noise of the size of the channel sums `Σ ∂L/∂bn-output`
    /// (the `bn.bias` gradient); it is compared, and checked to be near zero, on that scale.
    private func assertParameterGradientsClose(_ actual: [String: Tensor], _ expected: [String: FixtureTensor],
                                               file: StaticString = #filePath, line: UInt = #line) {
        let normalized = expected.filter { key, _ in key.hasSuffix(".conv.bias") && expected[key.replacingOccurrences(of: ".conv.", with: ".bn.")] != nil }
        assertGradientsClose(actual.filter { normalized[$0.key] == nil }, expected.filter { normalized[$0.key] == nil }, relative: 1e-5,
                             file: file, line: line)
        XCTAssertEqual(normalized.count, 2 * (2 * ScratchUNetConfiguration.depth + 1), file: file, line: line)
        for (key, value) in normalized {
            let sums = expected[key.replacingOccurrences(of: ".conv.", with: ".bn.")]!.values.map(abs).max()!
            let tolerance = 1e-5 * max(1, sums)
            guard let gradient = actual[key] else { XCTFail("no \(key) gradient", file: file, line: line); continue }
            assertClose(gradient, value.tensor, tolerance: tolerance, "\(key) gradient", file: file, line: line)
            assertClose(gradient, Tensor(shape: value.shape), tolerance: tolerance, "\(key) gradient is zero", file: file, line: line)
        }
    }

    /// One AdamW step (lr 1e-3, weight decay 0.01) on PyTorch's gradients lands on PyTorch's parameters.
    func testAdamWStepMatchesPyTorch() throws {
        let f = try ScratchUNetFixture.load()
        var net = try network(seed: f.seed)
        let (keys, tensors) = net.trainableParameters()
        XCTAssertEqual(keys, f.gradientLayout.map(\.key), "trainable parameters in PyTorch's named_parameters() order")
        let gradients = try f.gradients()
        var parameters = tensors
        var optimizer = try AdamW(parameterCount: keys.count, groups: [ParameterGroup(parameters: Array(keys.indices), learningRate: 1e-3)])
        try optimizer.step(parameters: &parameters, gradients: try keys.map { try XCTUnwrap(gradients[$0]?.tensor, $0) })
        try net.setTrainableParameters(parameters)
        let state = net.stateDict()
        XCTAssertEqual(Set(f.afterAdamw.keys), Set(keys))
        for (key, expected) in f.afterAdamw {
            let actual = Array(try XCTUnwrap(state[key], key).scalars.prefix(expected.values.count))
            assertClose(Tensor(shape: [actual.count], values: actual), expected.tensor, tolerance: 1e-5, key)
        }
    }

    /// State-dict keys and shapes as the PyTorch module names them; parameter counts as PyTorch counts,
    /// including the classic w = 64 network (≈ 31 M).
    func testStateDictAndParameterCounts() throws {
        let f = try ScratchUNetFixture.load()
        let net = try network()
        let shapes = Dictionary(uniqueKeysWithValues: net.parameterShapes().map { ($0.key, $0.shape) })
        for entry in f.gradientLayout { XCTAssertEqual(shapes[entry.key], entry.shape, entry.key) }
        for (key, statistic) in f.runningStatistics { XCTAssertEqual(shapes[key], statistic.shape, key) }
        XCTAssertEqual(shapes.count, f.gradientLayout.count + f.runningStatistics.count)
        XCTAssertEqual(shapes["encoders.4.1.conv.weight"], [64, 64, 3, 3])
        XCTAssertEqual(shapes["ups.0.weight"], [64, 32, 2, 2])
        XCTAssertEqual(shapes["decoders.3.0.conv.weight"], [4, 8, 3, 3])
        XCTAssertEqual(net.parameterCount, f.parameterCount)

        let classic = try network(width: 64)
        let grey = try network(width: 64, inputChannels: 1)
        print("ScratchUNet w = 64, 3 → 2: \(classic.parameterCount) parameters (PyTorch: \(f.classicParameterCounts.rgb)); 1 → 2: \(grey.parameterCount) (PyTorch: \(f.classicParameterCounts.grey))")
        XCTAssertEqual(classic.parameterCount, f.classicParameterCounts.rgb)
        XCTAssertEqual(grey.parameterCount, f.classicParameterCounts.grey)
    }

    func testRejectsBadInput() throws {
        var net = try network()
        XCTAssertThrowsError(try net.forwardTraining(Tensor(shape: [1, 3, 40, 32]), context: context)) { error in
            XCTAssertTrue("\(error)".contains("multiples of 16"), "\(error)")
        }
        XCTAssertThrowsError(try net.forwardInference(Tensor(shape: [1, 1, 32, 32]), context: context)) { error in
            XCTAssertTrue("\(error)".contains("channels"), "\(error)")
        }
        XCTAssertThrowsError(try net.forwardInference(Tensor(shape: [3, 32, 32]), context: context))
        XCTAssertThrowsError(try ScratchUNetConfiguration(classes: 0))
        XCTAssertThrowsError(try ScratchUNetConfiguration(inputChannels: 3, classes: 2, baseWidth: 0))
        XCTAssertThrowsError(try net.setTrainableParameters([]))
        var other = try network()
        let (_, cache) = try other.forwardTraining(Tensor(shape: [2, 3, 32, 32], repeating: 0.5), context: context)
        XCTAssertThrowsError(try net.backward(Tensor(shape: [2, 2, 16, 16]), cache: cache, context: context))
    }
}
