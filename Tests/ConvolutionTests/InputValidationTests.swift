import Convolution
import TensorCore
import TensorKernels
import XCTest

/// Bad shapes are thrown errors whose message names the problem.
final class InputValidationTests: XCTestCase {
    private func assertThrows<T>(_ expression: @autoclosure () throws -> T, mentioning text: String,
                                 file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try expression(), file: file, line: line) { error in
            XCTAssertTrue(error is ConvolutionError, "\(error)", file: file, line: line)
            XCTAssertTrue("\(error)".contains(text), "«\(error)» does not mention «\(text)»", file: file, line: line)
        }
    }

    func testConvolutionRejectsBadShapes() throws {
        let conv = try Conv2d(weight: Tensor(shape: [4, 3, 3, 3]), bias: Tensor(shape: [4]))
        assertThrows(try conv.forward(Tensor(shape: [1, 2, 5, 5]), context: .serial), mentioning: "input has 2 channels")
        assertThrows(try conv.forward(Tensor(shape: [2, 5, 5]), context: .serial), mentioning: "[N, C, H, W]")
        assertThrows(try conv.forward(Tensor(shape: [1, 3, 2, 5]), context: .serial), mentioning: "larger than the padded input")
        let padded = try Conv2d(weight: Tensor(shape: [4, 3, 3, 3]), bias: nil, padding: 1)
        XCTAssertEqual(try padded.forward(Tensor(shape: [1, 3, 1, 1]), context: .serial).output.shape, [1, 4, 1, 1])
        let (_, cache) = try conv.forward(Tensor(shape: [1, 3, 5, 5]), context: .serial)
        assertThrows(try conv.backward(Tensor(shape: [1, 4, 3, 4]), cache: cache, context: .serial), mentioning: "does not match the forward output")
        assertThrows(try Conv2d(weight: Tensor(shape: [4, 3, 3]), bias: nil), mentioning: "rank 4")
        assertThrows(try Conv2d(weight: Tensor(shape: [4, 3, 3, 3]), bias: Tensor(shape: [3])), mentioning: "bias must be [4]")
        assertThrows(try Conv2d(weight: Tensor(shape: [4, 3, 3, 3]), bias: nil, stride: 0), mentioning: "stride")
    }

    func testTransposedConvolutionRejectsBadShapes() throws {
        let up = try ConvTranspose2d(weight: Tensor(shape: [4, 2, 2, 2]), bias: Tensor(shape: [2]), stride: 2)
        assertThrows(try up.forward(Tensor(shape: [1, 2, 3, 3]), context: .serial), mentioning: "input has 2 channels")
        let (output, cache) = try up.forward(Tensor(shape: [1, 4, 3, 3]), context: .serial)
        XCTAssertEqual(output.shape, [1, 2, 6, 6])
        assertThrows(try up.backward(Tensor(shape: [1, 2, 6, 5]), cache: cache, context: .serial), mentioning: "does not match")
        let cropped = try ConvTranspose2d(weight: Tensor(shape: [1, 1, 1, 1]), bias: nil, padding: 1)
        assertThrows(try cropped.forward(Tensor(shape: [1, 1, 2, 2]), context: .serial), mentioning: "empty output")
    }

    func testBatchNormConcatenationAndResizeRejectBadShapes() throws {
        var norm = try BatchNorm2d(channels: 3)
        assertThrows(try norm.forwardTraining(Tensor(shape: [2, 4, 2, 2]), context: .serial), mentioning: "input has 4 channels")
        let (_, cache) = try norm.forwardTraining(Tensor(shape: [2, 3, 2, 2]), context: .serial)
        assertThrows(try norm.backward(Tensor(shape: [2, 3, 2, 1]), cache: cache, context: .serial), mentioning: "does not match")
        assertThrows(try BatchNorm2d(weight: Tensor(shape: [3]), bias: Tensor(shape: [2]), runningMean: Tensor(shape: [3]),
                                     runningVariance: Tensor(shape: [3])), mentioning: "bias must be [3]")

        assertThrows(try ChannelConcatenation.forward([Tensor(shape: [1, 2, 3, 3]), Tensor(shape: [1, 2, 3, 4])]),
                     mentioning: "only the channels may differ")
        assertThrows(try ChannelConcatenation.forward([]), mentioning: "no tensors")
        let (_, joinCache) = try ChannelConcatenation.forward([Tensor(shape: [1, 2, 3, 3]), Tensor(shape: [1, 1, 3, 3])])
        assertThrows(try ChannelConcatenation.backward(Tensor(shape: [1, 4, 3, 3]), cache: joinCache), mentioning: "has 4 channels")

        assertThrows(try BilinearResize(outputHeight: 0, outputWidth: 3), mentioning: "must be positive")
        let resize = try BilinearResize(outputHeight: 4, outputWidth: 4)
        let (_, resizeCache) = try resize.forward(Tensor(shape: [1, 1, 2, 2]), context: .serial)
        assertThrows(try resize.backward(Tensor(shape: [1, 1, 4, 3]), cache: resizeCache, context: .serial), mentioning: "does not match")
        assertThrows(try ReLU.backward(Tensor(shape: [3]), cache: ReLU.forward(Tensor(shape: [2])).cache), mentioning: "does not match")
    }
}
