import Convolution
import TensorCore
import TensorKernels
import XCTest

/// Layers large enough that im2col runs in several bands of output rows (the column matrix would exceed
/// about 1 M floats): the forward against the Double reference loops, the input and weight gradients
/// by the adjoint identities `⟨forward(x), g⟩ = ⟨x, ∂x(g)⟩` and `⟨forward(x; w = v, bias 0), g⟩ = ⟨∂w(g), v⟩`.
final class ConvolutionBandsTests: XCTestCase {
    private let context = ComputeContext(threads: 2)

    private func dot(_ a: Tensor, _ b: Tensor) -> Double {
        zip(a.scalars, b.scalars).reduce(0) { $0 + Double($1.0) * Double($1.1) }
    }

    private func assertRelativelyClose(_ a: Double, _ b: Double, _ message: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertLessThanOrEqual(abs(a - b), 1e-4 * max(1, abs(a), abs(b)), "\(message): \(a) vs \(b)", file: file, line: line)
    }

    /// 3×3, stride 2, padding 1 on 96×90 with 64 channels: K = 576, 48×45 outputs in bands of 40 and 8 rows.
    func testConv2dInSeveralBands() throws {
        let input = testTensor([2, 64, 96, 90], seed: 31)
        let weight = testTensor([2, 64, 3, 3], seed: 32), bias = testTensor([2], seed: 33)
        let layer = try Conv2d(weight: weight, bias: bias, stride: 2, padding: 1)
        let (output, cache) = try layer.forward(input, context: context)
        XCTAssertEqual(output.shape, [2, 2, 48, 45])
        let expected = Reference.conv2d(input.doubles, input.shape, weight: weight.doubles, weight.shape, bias: bias.doubles,
                                        stride: (2, 2), padding: (1, 1))
        assertMatches(output, expected.values, tolerance: 1e-4, "banded Conv2d output")

        let upstream = testTensor(output.shape, seed: 34)
        let gradients = try layer.backward(upstream, cache: cache, context: context)
        let linearPart = try Conv2d(weight: weight, bias: nil, stride: 2, padding: 1).forward(input, context: context).output
        assertRelativelyClose(dot(linearPart, upstream), dot(input, gradients.input), "input gradient adjoint")
        let probe = testTensor(weight.shape, seed: 35)
        let probed = try Conv2d(weight: probe, bias: nil, stride: 2, padding: 1).forward(input, context: context).output
        assertRelativelyClose(dot(probed, upstream), dot(gradients.weight, probe), "weight gradient adjoint")
    }

    /// Kernel 2, stride 2 from 2 to 300 channels on 40×32: K = 1200, the 40 input rows in bands of 32 and 8.
    func testConvTranspose2dInSeveralBands() throws {
        let input = testTensor([2, 2, 40, 32], seed: 41)
        let weight = testTensor([2, 300, 2, 2], seed: 42)
        let layer = try ConvTranspose2d(weight: weight, bias: nil, stride: 2)
        let (output, cache) = try layer.forward(input, context: context)
        XCTAssertEqual(output.shape, [2, 300, 80, 64])
        let expected = Reference.convTranspose2d(input.doubles, input.shape, weight: weight.doubles, weight.shape, bias: nil,
                                                 stride: (2, 2), padding: (0, 0))
        assertMatches(output, expected.values, tolerance: 1e-4, "banded ConvTranspose2d output")

        let upstream = testTensor(output.shape, seed: 43)
        let gradients = try layer.backward(upstream, cache: cache, context: context)
        assertRelativelyClose(dot(output, upstream), dot(input, gradients.input), "input gradient adjoint")
        let probe = testTensor(weight.shape, seed: 44)
        let probed = try ConvTranspose2d(weight: probe, bias: nil, stride: 2).forward(input, context: context).output
        assertRelativelyClose(dot(probed, upstream), dot(gradients.weight, probe), "weight gradient adjoint")
    }
}
