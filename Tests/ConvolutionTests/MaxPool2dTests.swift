import Convolution
import Foundation
import TensorCore
import TensorKernels
import TestSupport
import XCTest

/// A max-pooling case of `scratch-unet/maxpool.json`.
private struct MaxPoolCase: Decodable {
    let name: String
    let kernel: Int
    let stride: Int
    let input: FixtureTensor
    let output: FixtureTensor
    let outputGradient: FixtureTensor
    let inputGradient: FixtureTensor
}

final class MaxPool2dTests: XCTestCase {
    private let context = ComputeContext(threads: 2)

    private func cases() throws -> [MaxPoolCase] {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(FixtureCases<MaxPoolCase>.self, from: Data(contentsOf: Fixtures.url("scratch-unet/maxpool.json"))).cases
    }

    /// Odd sides (floor), overlapping windows and ties (the first maximum takes the gradient), as PyTorch.
    func testMatchesPyTorch() throws {
        let all = try cases()
        XCTAssertEqual(all.count, 3)
        for c in all {
            let pool = try MaxPool2d(kernel: Size2D(c.kernel), stride: Size2D(c.stride))
            let (output, cache) = try pool.forward(c.input.tensor, context: context)
            XCTAssertEqual(output.shape, c.output.shape, c.name)
            XCTAssertEqual(output.scalars, c.output.values, c.name)
            let gradient = try pool.backward(c.outputGradient.tensor, cache: cache, context: context)
            assertClose(gradient, c.inputGradient.tensor, tolerance: 1e-6, c.name)
        }
    }

    func testTiesSendTheGradientToTheFirstMaximum() throws {
        let input = Tensor(shape: [1, 1, 2, 4], values: [5, 5, 1, 2, 5, 0, 2, 2])
        let pool = try MaxPool2d(kernel: 2)
        let (output, cache) = try pool.forward(input, context: .serial)
        XCTAssertEqual(output.scalars, [5, 2])
        let gradient = try pool.backward(Tensor(shape: [1, 1, 1, 2], values: [3, 7]), cache: cache, context: .serial)
        XCTAssertEqual(gradient.scalars, [3, 0, 0, 7, 0, 0, 0, 0])
    }

    /// Central differences in Double on distinct values (away from ties), overlapping windows.
    func testGradientMatchesFiniteDifferences() throws {
        let shape = [2, 2, 7, 6]
        let input = Tensor(shape: shape, values: (0..<Tensor.elementCount(shape)).map { Float(($0 * 37) % 101) / 10 })
        let pool = try MaxPool2d(kernel: 3, stride: 2)
        let (output, cache) = try pool.forward(input, context: context)
        XCTAssertEqual(output.shape, [2, 2, 3, 2])
        let upstream = testTensor(output.shape, seed: 21)
        let gradient = try pool.backward(upstream, cache: cache, context: context)
        let expected = numericalGradient(at: input.doubles, upstream: upstream.doubles, step: 1e-3) { x in
            referenceMaxPool(x, shape: shape, kernel: 3, stride: 2)
        }
        assertMatches(gradient, expected, "MaxPool2d input")
    }

    func testRejectsBadInput() throws {
        XCTAssertThrowsError(try MaxPool2d(kernel: 0))
        XCTAssertThrowsError(try MaxPool2d(kernel: 2, stride: Size2D(height: 1, width: 0)))
        let pool = try MaxPool2d(kernel: 2)
        XCTAssertThrowsError(try pool.forward(Tensor(shape: [1, 4, 4]), context: context))
        XCTAssertThrowsError(try pool.forward(Tensor(shape: [1, 1, 1, 4]), context: context)) { error in
            XCTAssertTrue("\(error)".contains("larger than the input"), "\(error)")
        }
        let (_, cache) = try pool.forward(Tensor(shape: [1, 1, 4, 4]), context: context)
        XCTAssertThrowsError(try pool.backward(Tensor(shape: [1, 1, 4, 4]), cache: cache, context: context))
    }
}

/// Max over every `kernel × kernel` window moved by `stride` of an `[N, C, H, W]` array, in Double.
private func referenceMaxPool(_ x: [Double], shape: [Int], kernel: Int, stride: Int) -> [Double] {
    let (planes, height, width) = (shape[0] * shape[1], shape[2], shape[3])
    let (outH, outW) = ((height - kernel) / stride + 1, (width - kernel) / stride + 1)
    var output: [Double] = []
    for p in 0..<planes {
        for oy in 0..<outH {
            for ox in 0..<outW {
                var best = -Double.infinity
                for i in 0..<kernel { for j in 0..<kernel { best = max(best, x[(p * height + oy * stride + i) * width + ox * stride + j]) } }
                output.append(best)
            }
        }
    }
    return output
}
