import Convolution
import TensorCore
import TensorKernels
import TestSupport
import XCTest

final class Conv2dTests: XCTestCase {
    /// Output and all gradients against `torch.nn.functional.conv2d` and autograd, one and two workers.
    func testMatchesPyTorch() throws {
        let fixture = try decodeConvolutionFixture(FixtureCases<ConvolutionCase>.self, "conv2d.json")
        XCTAssertEqual(fixture.cases.count, 8)
        for threads in [1, 2] {
            let context = ComputeContext(threads: threads)
            for item in fixture.cases {
                let layer = try Conv2d(weight: item.weight.tensor, bias: item.bias?.tensor,
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
                let parameters = try layer.parameterGradients(item.outputGradient.tensor, cache: cache, context: context)
                XCTAssertEqual(parameters.weight.scalars, gradients.weight.scalars, item.name)
            }
        }
    }

    /// Every gradient against central differences of the Double reference loop, for several geometries.
    func testGradientsMatchFiniteDifferences() throws {
        let geometries: [(input: [Int], out: Int, kernel: Size2D, stride: Size2D, padding: Size2D)] = [
            ([2, 2, 5, 4], 3, 3, 1, 1),
            ([1, 3, 6, 5], 2, 1, 1, 0),
            ([2, 2, 7, 6], 2, Size2D(height: 2, width: 3), Size2D(height: 2, width: 1), Size2D(height: 1, width: 0)),
            ([1, 2, 5, 5], 2, 3, 2, 2),
        ]
        for (index, geometry) in geometries.enumerated() {
            let input = testTensor(geometry.input, seed: UInt64(10 + index))
            let weightShape = [geometry.out, geometry.input[1], geometry.kernel.height, geometry.kernel.width]
            let weight = testTensor(weightShape, seed: UInt64(20 + index))
            let bias = testTensor([geometry.out], seed: UInt64(30 + index))
            let layer = try Conv2d(weight: weight, bias: bias, stride: geometry.stride, padding: geometry.padding)
            let (output, cache) = try layer.forward(input, context: .serial)
            let upstream = testTensor(output.shape, seed: UInt64(40 + index))
            let gradients = try layer.backward(upstream, cache: cache, context: .serial)

            let strides = (geometry.stride.height, geometry.stride.width), pads = (geometry.padding.height, geometry.padding.width)
            func reference(_ x: [Double], _ w: [Double], _ b: [Double]) -> [Double] {
                Reference.conv2d(x, geometry.input, weight: w, weightShape, bias: b, stride: strides, padding: pads).values
            }
            let (x, w, b, g) = (input.doubles, weight.doubles, bias.doubles, upstream.doubles)
            assertMatches(output, reference(x, w, b), tolerance: 1e-5, "case \(index): forward")
            assertMatches(gradients.input, numericalGradient(at: x, upstream: g) { reference($0, w, b) }, "case \(index): input")
            assertMatches(gradients.weight, numericalGradient(at: w, upstream: g) { reference(x, $0, b) }, "case \(index): weight")
            assertMatches(gradients.bias!, numericalGradient(at: b, upstream: g) { reference(x, w, $0) }, "case \(index): bias")
        }
    }

    /// A 1×1 convolution is a per-pixel matrix product over the channels.
    func testPointwiseConvolutionIsAChannelMatrixProduct() throws {
        let input = testTensor([2, 3, 4, 5], seed: 1), weight = testTensor([4, 3, 1, 1], seed: 2)
        let output = try Conv2d(weight: weight, bias: nil).forward(input, context: ComputeContext(threads: 2)).output
        XCTAssertEqual(output.shape, [2, 4, 4, 5])
        for (n, o, y, x) in [(0, 0, 0, 0), (1, 3, 2, 4), (0, 2, 3, 1)] {
            let expected = (0..<3).reduce(Float(0)) { $0 + weight[o, $1, 0, 0] * input[n, $1, y, x] }
            XCTAssertEqual(output[n, o, y, x], expected, accuracy: 1e-6)
        }
    }

    func testParameterKeysFollowPyTorch() throws {
        let layer = try Conv2d(weight: Tensor(shape: [4, 3, 3, 3]), bias: Tensor(shape: [4]), padding: 1)
        XCTAssertEqual(layer.parameterShapes().map(\.key), ["weight", "bias"])
        XCTAssertEqual(try Conv2d(weight: Tensor(shape: [4, 3, 1, 1]), bias: nil).parameterShapes().map(\.key), ["weight"])
    }
}
