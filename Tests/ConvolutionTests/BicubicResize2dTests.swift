import Convolution
import TensorCore
import TensorKernels
import TestSupport
import XCTest

final class BicubicResize2dTests: XCTestCase {
    func testMatchesPyTorch() throws { try assertResizeMatchesPyTorch(BicubicResize2d.self, fixture: "bicubic.json") }

    func testGradientMatchesFiniteDifferences() throws {
        try assertResizeMatchesDefinition(BicubicResize2d.self, seed: 190) { Reference.bicubic($0, $1, height: $2, width: $3) }
    }

    func testRejectsBadShapes() throws {
        XCTAssertThrowsError(try BicubicResize2d(outputHeight: 0, outputWidth: 3))
        let resize = try BicubicResize2d(outputHeight: 2, outputWidth: 2)
        XCTAssertThrowsError(try resize.forward(Tensor(shape: [1, 2, 3]), context: .serial))
        let (_, cache) = try resize.forward(Tensor(shape: [1, 1, 3, 3]), context: .serial)
        XCTAssertThrowsError(try resize.backward(Tensor(shape: [1, 1, 3, 3]), cache: cache, context: .serial))
    }
}
