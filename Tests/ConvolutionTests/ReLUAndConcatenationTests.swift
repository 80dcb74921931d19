import Convolution
import TensorCore
import TestSupport
import XCTest

final class ReLUAndConcatenationTests: XCTestCase {
    func testReLUPassesTheGradientWherePositive() throws {
        let input = Tensor(shape: [1, 1, 2, 3], values: [-2, 0, 3, 0.5, -0.1, 4])
        let (output, cache) = ReLU.forward(input)
        XCTAssertEqual(output.scalars, [0, 0, 3, 0.5, 0, 4])
        let gradient = try ReLU.backward(Tensor(shape: [1, 1, 2, 3], values: [1, 2, 3, 4, 5, 6]), cache: cache)
        XCTAssertEqual(gradient.scalars, [0, 0, 3, 4, 0, 6])
    }

    /// Central differences away from the kink.
    func testReLUGradientMatchesFiniteDifferences() throws {
        let input = testTensor([2, 3, 2, 2], seed: 11)
        let (_, cache) = ReLU.forward(input)
        let upstream = testTensor(input.shape, seed: 12)
        let gradient = try ReLU.backward(upstream, cache: cache)
        let expected = numericalGradient(at: input.doubles, upstream: upstream.doubles, step: 1e-7) { $0.map { max($0, 0) } }
        assertMatches(gradient, expected, "ReLU input")
    }

    /// Parts land at their channel ranges, and the backward cuts them out again.
    func testConcatenationAndSplitAreInverse() throws {
        let a = testTensor([2, 2, 3, 2], seed: 13), b = testTensor([2, 3, 3, 2], seed: 14)
        let (output, cache) = try ChannelConcatenation.forward([a, b])
        XCTAssertEqual(output.shape, [2, 5, 3, 2])
        XCTAssertEqual(output[1, 1, 2, 0], a[1, 1, 2, 0])
        XCTAssertEqual(output[1, 4, 0, 1], b[1, 2, 0, 1])
        XCTAssertEqual(output[0, 2, 1, 1], b[0, 0, 1, 1])
        let parts = try ChannelConcatenation.backward(output, cache: cache)
        XCTAssertEqual(parts.map(\.shape), [a.shape, b.shape])
        XCTAssertEqual(parts[0].scalars, a.scalars)
        XCTAssertEqual(parts[1].scalars, b.scalars)
    }
}
