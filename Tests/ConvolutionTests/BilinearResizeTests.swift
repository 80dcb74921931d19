import Convolution
import XCTest

final class BilinearResizeTests: XCTestCase {
    func testMatchesPyTorch() throws { try assertResizeMatchesPyTorch(BilinearResize.self, fixture: "bilinear.json") }

    func testGradientMatchesFiniteDifferences() throws {
        try assertResizeMatchesDefinition(BilinearResize.self, seed: 90) { Reference.bilinear($0, $1, height: $2, width: $3) }
    }
}
