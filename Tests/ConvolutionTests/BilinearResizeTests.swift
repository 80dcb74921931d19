import Convolution
import TensorCore
import TensorKernels
import TestSupport
import XCTest

final class BilinearResizeTests: XCTestCase {
    /// Up, down, same-size and one-axis resizes and their input gradients against
    /// `F.interpolate(mode="bilinear", align_corners=False)` and autograd.
    func testMatchesPyTorch() throws {
        let fixture = try decodeConvolutionFixture(FixtureCases<ResizeCase>.self, "bilinear.json")
        XCTAssertEqual(fixture.cases.count, 6)
        let context = ComputeContext(threads: 2)
        for item in fixture.cases {
            let resize = try BilinearResize(outputHeight: item.size[0], outputWidth: item.size[1])
            let (output, cache) = try resize.forward(item.input.tensor, context: context)
            assertClose(output, item.output.tensor, tolerance: 1e-5, "\(item.name): output")
            let inputGradient = try resize.backward(item.outputGradient.tensor, cache: cache, context: context)
            assertClose(inputGradient, item.inputGradient.tensor, tolerance: 1e-5, "\(item.name): input gradient")
        }
    }

    /// The backward is the adjoint of the forward: central differences of the Double reference.
    func testGradientMatchesFiniteDifferences() throws {
        for (index, (shape, size)) in [([1, 2, 3, 4], (7, 5)), ([2, 1, 6, 5], (4, 2)), ([1, 1, 2, 2], (2, 5))].enumerated() {
            let input = testTensor(shape, seed: UInt64(90 + index))
            let resize = try BilinearResize(outputHeight: size.0, outputWidth: size.1)
            let (output, cache) = try resize.forward(input, context: .serial)
            let upstream = testTensor(output.shape, seed: UInt64(95 + index))
            let gradient = try resize.backward(upstream, cache: cache, context: .serial)
            let reference = { (x: [Double]) in Reference.bilinear(x, shape, height: size.0, width: size.1) }
            assertMatches(output, reference(input.doubles), tolerance: 1e-5, "case \(index): forward")
            assertMatches(gradient, numericalGradient(at: input.doubles, upstream: upstream.doubles, reference), "case \(index): input")
        }
    }
}
