import Convolution
import TensorCore
import TensorKernels
import TestSupport
import XCTest

final class BicubicResize2dTests: XCTestCase {
    /// Up, down, same-size and one-axis resizes and their input gradients against
    /// `F.interpolate(mode="bicubic", align_corners=False)` and autograd.
    func testMatchesPyTorch() throws {
        let fixture = try decodeConvolutionFixture(FixtureCases<ResizeCase>.self, "bicubic.json")
        XCTAssertEqual(fixture.cases.count, 6)
        let context = ComputeContext(threads: 2)
        for item in fixture.cases {
            let resize = try BicubicResize2d(outputHeight: item.size[0], outputWidth: item.size[1])
            let (output, cache) = try resize.forward(item.input.tensor, context: context)
            assertClose(output, item.output.tensor, tolerance: 1e-5, "\(item.name): output")
            let inputGradient = try resize.backward(item.outputGradient.tensor, cache: cache, context: context)
            assertClose(inputGradient, item.inputGradient.tensor, tolerance: 1e-5, "\(item.name): input gradient")
        }
    }

    /// The forward follows the definition, and the backward is its adjoint (central differences in Double).
    func testGradientMatchesFiniteDifferences() throws {
        for (index, (shape, size)) in [([1, 2, 3, 4], (7, 5)), ([2, 1, 6, 5], (4, 2)), ([1, 1, 2, 2], (2, 5))].enumerated() {
            let input = testTensor(shape, seed: UInt64(190 + index))
            let resize = try BicubicResize2d(outputHeight: size.0, outputWidth: size.1)
            let (output, cache) = try resize.forward(input, context: .serial)
            let upstream = testTensor(output.shape, seed: UInt64(195 + index))
            let gradient = try resize.backward(upstream, cache: cache, context: .serial)
            let reference = { (x: [Double]) in Reference.bicubic(x, shape, height: size.0, width: size.1) }
            assertMatches(output, reference(input.doubles), tolerance: 1e-5, "case \(index): forward")
            assertMatches(gradient, numericalGradient(at: input.doubles, upstream: upstream.doubles, reference), "case \(index): input")
        }
    }

    func testRejectsBadShapes() throws {
        XCTAssertThrowsError(try BicubicResize2d(outputHeight: 0, outputWidth: 3))
        let resize = try BicubicResize2d(outputHeight: 2, outputWidth: 2)
        XCTAssertThrowsError(try resize.forward(Tensor(shape: [1, 2, 3]), context: .serial))
        let (_, cache) = try resize.forward(Tensor(shape: [1, 1, 3, 3]), context: .serial)
        XCTAssertThrowsError(try resize.backward(Tensor(shape: [1, 1, 3, 3]), cache: cache, context: .serial))
    }
}
