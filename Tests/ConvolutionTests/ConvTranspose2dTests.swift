import Convolution
import TensorCore
import TensorKernels
import TestSupport
import XCTest

final class ConvTranspose2dTests: XCTestCase {
    /// Output and all gradients against `torch.nn.functional.conv_transpose2d` and autograd.
    func testMatchesPyTorch() throws {
        let fixture = try decodeConvolutionFixture(FixtureCases<ConvolutionCase>.self, "conv_transpose2d.json")
        XCTAssertEqual(fixture.cases.count, 5)
        for threads in [1, 2] {
            let context = ComputeContext(threads: threads)
            for item in fixture.cases {
                let layer = try ConvTranspose2d(weight: item.weight.tensor, bias: item.bias?.tensor,
                                                stride: Size2D(height: item.stride[0], width: item.stride[1]),
                                                padding: Size2D(height: item.padding[0], width: item.padding[1]))
                let (output, cache) = try layer.forward(item.input.tensor, context: context)
                assertClose(output, item.output.tensor, tolerance: 1e-5, "\(item.name): output")
                let gradients = try layer.backward(item.outputGradient.tensor, cache: cache, context: context)
                assertClose(gradients.input, item.inputGradient.tensor, tolerance: 1e-5, "\(item.name): input gradient")
                assertClose(gradients.weight, item.weightGradient.tensor, tolerance: 1e-5, "\(item.name): weight gradient")
                XCTAssertEqual(gradients.bias == nil, item.biasGradient == nil, item.name)
                if let bias = gradients.bias, let expected = item.biasGradient {
                    assertClose(bias, expected.tensor, tolerance: 1e-5, "\(item.name): bias gradient")
                }
            }
        }
    }

    /// Every gradient against central differences of the Double reference loop.
    func testGradientsMatchFiniteDifferences() throws {
        let geometries: [(input: [Int], out: Int, kernel: Size2D, stride: Size2D, padding: Size2D)] = [
            ([2, 3, 3, 2], 2, 2, 2, 0),
            ([1, 2, 3, 3], 2, 3, 2, 1),
            ([1, 2, 2, 3], 3, Size2D(height: 2, width: 3), Size2D(height: 1, width: 2), Size2D(height: 0, width: 1)),
        ]
        for (index, geometry) in geometries.enumerated() {
            let input = testTensor(geometry.input, seed: UInt64(50 + index))
            let weightShape = [geometry.input[1], geometry.out, geometry.kernel.height, geometry.kernel.width]
            let weight = testTensor(weightShape, seed: UInt64(60 + index))
            let bias = testTensor([geometry.out], seed: UInt64(70 + index))
            let layer = try ConvTranspose2d(weight: weight, bias: bias, stride: geometry.stride, padding: geometry.padding)
            let (output, cache) = try layer.forward(input, context: .serial)
            let upstream = testTensor(output.shape, seed: UInt64(80 + index))
            let gradients = try layer.backward(upstream, cache: cache, context: .serial)

            let strides = (geometry.stride.height, geometry.stride.width), pads = (geometry.padding.height, geometry.padding.width)
            func reference(_ x: [Double], _ w: [Double], _ b: [Double]) -> [Double] {
                Reference.convTranspose2d(x, geometry.input, weight: w, weightShape, bias: b, stride: strides, padding: pads).values
            }
            let (x, w, b, g) = (input.doubles, weight.doubles, bias.doubles, upstream.doubles)
            assertMatches(output, reference(x, w, b), tolerance: 1e-5, "case \(index): forward")
            assertMatches(gradients.input, numericalGradient(at: x, upstream: g) { reference($0, w, b) }, "case \(index): input")
            assertMatches(gradients.weight, numericalGradient(at: w, upstream: g) { reference(x, $0, b) }, "case \(index): weight")
            assertMatches(gradients.bias!, numericalGradient(at: b, upstream: g) { reference(x, w, $0) }, "case \(index): bias")
        }
    }

    /// Kernel 2, stride 2 doubles the grid and each input pixel paints its own 2×2 block.
    func testUpsamplingPaintsDisjointBlocks() throws {
        let input = testTensor([1, 2, 3, 4], seed: 3), weight = testTensor([2, 1, 2, 2], seed: 4)
        let output = try ConvTranspose2d(weight: weight, bias: nil, stride: 2).forward(input, context: .serial).output
        XCTAssertEqual(output.shape, [1, 1, 6, 8])
        let expected = input[0, 0, 1, 2] * weight[0, 0, 1, 0] + input[0, 1, 1, 2] * weight[1, 0, 1, 0]
        XCTAssertEqual(output[0, 0, 3, 4], expected, accuracy: 1e-6)
    }
}
