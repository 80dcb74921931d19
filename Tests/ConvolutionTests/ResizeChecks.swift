import Convolution
import TensorCore
import TensorKernels
import TestSupport
import XCTest

/// A resize layer of NCHW planes as the resize tests drive it.
protocol PlaneResizeLayer {
    associatedtype Cache
    init(outputHeight: Int, outputWidth: Int) throws
    func forward(_ input: Tensor, context: ComputeContext) throws -> (output: Tensor, cache: Cache)
    func backward(_ outputGradient: Tensor, cache: Cache, context: ComputeContext) throws -> Tensor
}

extension BilinearResize: PlaneResizeLayer {}
extension BicubicResize2d: PlaneResizeLayer {}

extension XCTestCase {
    /// The up, down, same-size and one-axis resizes of `fixture` and their input gradients against
    /// `F.interpolate(…, align_corners=False)` and autograd.
    func assertResizeMatchesPyTorch<Layer: PlaneResizeLayer>(_ layer: Layer.Type, fixture: String,
                                                             file: StaticString = #filePath, line: UInt = #line) throws {
        let cases = try decodeConvolutionFixture(FixtureCases<ResizeCase>.self, fixture).cases
        XCTAssertEqual(cases.count, 6, file: file, line: line)
        let context = ComputeContext(threads: 2)
        for item in cases {
            let resize = try Layer(outputHeight: item.size[0], outputWidth: item.size[1])
            let (output, cache) = try resize.forward(item.input.tensor, context: context)
            assertClose(output, item.output.tensor, tolerance: 1e-5, "\(item.name): output")
            let inputGradient = try resize.backward(item.outputGradient.tensor, cache: cache, context: context)
            assertClose(inputGradient, item.inputGradient.tensor, tolerance: 1e-5, "\(item.name): input gradient")
        }
    }

    /// The forward follows `reference` (Double loops from the definition) and the backward is its adjoint
    /// (central differences), on three shapes drawn from `seed`.
    func assertResizeMatchesDefinition<Layer: PlaneResizeLayer>(
        _ layer: Layer.Type, seed: UInt64, reference: @escaping (_ input: [Double], _ shape: [Int], _ height: Int, _ width: Int) -> [Double]
    ) throws {
        for (index, (shape, size)) in [([1, 2, 3, 4], (7, 5)), ([2, 1, 6, 5], (4, 2)), ([1, 1, 2, 2], (2, 5))].enumerated() {
            let input = testTensor(shape, seed: seed + UInt64(index))
            let resize = try Layer(outputHeight: size.0, outputWidth: size.1)
            let (output, cache) = try resize.forward(input, context: .serial)
            let upstream = testTensor(output.shape, seed: seed + 5 + UInt64(index))
            let gradient = try resize.backward(upstream, cache: cache, context: .serial)
            let definition = { (x: [Double]) in reference(x, shape, size.0, size.1) }
            assertMatches(output, definition(input.doubles), tolerance: 1e-5, "case \(index): forward")
            assertMatches(gradient, numericalGradient(at: input.doubles, upstream: upstream.doubles, definition), "case \(index): input")
        }
    }
}
