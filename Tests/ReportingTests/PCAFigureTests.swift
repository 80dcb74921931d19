import MedicalImaging
@testable import Reporting
import TensorCore
import TestSupport
import XCTest

/// The PCA figure's maths against numpy (scripts/make_pca_fixture.py): axes, variances, projections,
/// the foreground rule and the colours.
final class PCAFigureTests: XCTestCase {
    func maps() throws -> [PatchFeatureMap] {
        let features = try Fixtures.array("report/pca/features.npy") // [40, 6]
        return try (0..<2).map { try PatchFeatureMap(features: features.slice(outer: $0 * 20..<($0 + 1) * 20), gridHeight: 4, gridWidth: 5) }
    }

    func testAxesVariancesAndProjectionsMatchNumPy() throws {
        let features = try Fixtures.array("report/pca/features.npy")
        let pca = try PatchPCA(features: features, count: 4)
        assertClose(Tensor(shape: [4, 6], values: pca.axes.flatMap { $0.map(Float.init) }), try Fixtures.array("report/pca/components.npy"), tolerance: 1e-5)
        assertClose(Tensor(shape: [4], values: pca.variances.map(Float.init)), try Fixtures.array("report/pca/variances.npy"), tolerance: 1e-5)
        assertClose(Tensor(shape: [40, 4], values: pca.project(features).flatMap { $0.map(Float.init) }), try Fixtures.array("report/pca/projections.npy"), tolerance: 1e-4)
    }

    func testForegroundAndColoursMatchNumPy() throws {
        let figure = try PCAFigure(maps: maps())
        XCTAssertEqual(figure.foreground.map { $0 ? Float(1) : 0 }, try Fixtures.array("report/pca/foreground.npy").scalars)
        assertClose(Tensor(shape: [40, 3], values: figure.colours.flatMap { $0.map(Float.init) }), try Fixtures.array("report/pca/rgb.npy"), tolerance: 1e-4)
    }

    func testImageTilesThePatchGridsUpsampledNearest() throws {
        let figure = try PCAFigure(maps: maps())
        let image = figure.image(pixelsPerPatch: 3, columns: 1)
        XCTAssertEqual([image.width, image.height, image.channels], [15, 24, 3])
        // Patch (row 1, column 2) of the second image: rows 12 + 3…5, columns 6…8.
        let colour = figure.colours[20 + 1 * 5 + 2]
        for channel in 0..<3 {
            XCTAssertEqual(image[channel: channel, y: 16, x: 7], Float((colour[channel] * 255).rounded()))
        }
        XCTAssertEqual(image[channel: 0, y: 0, x: 0], 0) // border patch: background, black
    }

    func testBadShapesAreErrors() {
        XCTAssertThrowsError(try PatchFeatureMap(features: Tensor(shape: [5, 2], repeating: 0), gridHeight: 2, gridWidth: 2))
        XCTAssertThrowsError(try PatchPCA(features: Tensor(shape: [1, 3], repeating: 0), count: 2))
        XCTAssertThrowsError(try PCAFigure(maps: []))
    }
}
