import Convolution
import Randomness
import SegmentationDecoders
import TensorCore
import TensorKernels
import TestSupport
import XCTest

/// `linear.json`: PyTorch's 1×1 conv + bilinear upsampling run forward and backward.
private struct LinearFixture: Decodable {
    let stateDict: [String: FixtureTensor]
    let input, output, outputGradient, inputGradient: FixtureTensor
    let gradients: [String: FixtureTensor]
}

final class LinearDecoderTests: XCTestCase {
    private let context = ComputeContext(threads: 2)

    private func decoder(dimension: Int = 16, classes: Int = 3) throws -> LinearDecoder {
        var generator = SeededGenerator(seed: 7)
        return try LinearDecoder(embedDimension: dimension, classes: classes, generator: &generator)
    }

    func testForwardAndBackwardMatchPyTorch() throws {
        let f = try decodeDecoderFixture(LinearFixture.self, "linear.json")
        var decoder = try decoder()
        try decoder.load(stateDict: f.stateDict.tensors)
        let (output, cache) = try decoder.forward(f.input.tensor, imageSize: Size2D(28), context: context)
        assertClose(output, f.output.tensor, tolerance: 1e-5, "output")
        let gradients = try decoder.backward(f.outputGradient.tensor, cache: cache, inputGradient: true, context: context)
        assertGradientsClose(gradients.parameters, f.gradients, relative: 1e-5)
        let input = try XCTUnwrap(gradients.inputs?.first)
        assertClose(input, f.inputGradient.tensor, tolerance: 1e-5, "input gradient")
        XCTAssertNil(try decoder.backward(f.outputGradient.tensor, cache: cache, context: context).inputs)
    }

    func testRejectsBadInput() throws {
        let decoder = try decoder()
        XCTAssertThrowsError(try decoder.forward(Tensor(shape: [1, 8, 4, 4]), imageSize: Size2D(28), context: context)) { error in
            XCTAssertTrue("\(error)".contains("D = 16"), "\(error)")
        }
        XCTAssertThrowsError(try decoder.forward(Tensor(shape: [16, 4, 4]), imageSize: Size2D(28), context: context))
        XCTAssertThrowsError(try decoder.forward(Tensor(shape: [1, 16, 4, 4]), imageSize: Size2D(0), context: context))
        var generator = SeededGenerator(seed: 1)
        XCTAssertThrowsError(try LinearDecoder(embedDimension: 16, classes: 0, generator: &generator))
        var copy = decoder
        XCTAssertThrowsError(try copy.load(stateDict: ["head.weight": Tensor(shape: [3, 16, 1, 1])])) { error in
            XCTAssertTrue("\(error)".contains("head.bias"), "\(error)")
        }
        XCTAssertThrowsError(try copy.load(stateDict: ["head.weight": Tensor(shape: [3, 16, 3, 3]), "head.bias": Tensor(shape: [3])]))
        XCTAssertThrowsError(try copy.load(stateDict: ["head.weight": Tensor(shape: [3, 16, 1, 1]), "head.bias": Tensor(shape: [3]),
                                                       "extra": Tensor(shape: [1])]))
    }
}
