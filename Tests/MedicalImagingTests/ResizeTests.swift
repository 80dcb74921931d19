import Foundation
import MedicalImaging
import TensorCore
import TestSupport
import XCTest

/// `Resize` and `Image2D.resampled` against torch 1.13 `F.interpolate` (fixtures from
/// scripts/make_preprocess_fixtures.py): every interpolation on upscaling, downscaling, mixed RGB,
/// exact doubling and one unchanged axis; torchvision's shorter-side resize + centre crop.
final class ResizeTests: XCTestCase {
    static let cases: [(name: String, height: Int, width: Int)] = [
        ("up", 29, 31), ("down", 11, 16), ("mixed", 24, 24), ("double", 14, 18), ("samerows", 9, 5),
    ]

    func testEveryInterpolationMatchesTorch() throws {
        for (name, height, width) in Self.cases {
            let input = Image2D(try Fixtures.array("imaging/preprocess/resize_input_\(name).npy"))
            for mode in Resize.Interpolation.allCases {
                let expected = try Fixtures.array("imaging/preprocess/resize_\(mode.rawValue)_\(name).npy")
                let actual = input.resampled(width: width, height: height, interpolation: mode)
                assertClose(actual.tensor, expected, tolerance: 1e-5, "\(mode.rawValue) \(name)")
            }
        }
    }

    func testNearestModesCopyInputSamplesExactly() throws {
        let input = Image2D(try Fixtures.array("imaging/preprocess/resize_input_down.npy"))
        for mode in [Resize.Interpolation.nearest, .nearestExact] {
            let expected = try Fixtures.array("imaging/preprocess/resize_\(mode.rawValue)_down.npy")
            XCTAssertEqual(input.resampled(width: 16, height: 11, interpolation: mode).pixels, expected.scalars)
        }
    }

    func testShorterSideThenCenterCropMatchesTorchvision() throws {
        let cases: [(String, Int, Int, Resize.Interpolation)] = [("wide", 16, 16, .bilinearAntialiased),
                                                                 ("tall", 20, 16, .bicubicAntialiased)]
        for (name, shorter, crop, mode) in cases {
            let input = Image2D(try Fixtures.array("imaging/preprocess/shortcrop_input_\(name).npy"))
            let resize = Resize(size: crop, fit: .shorterSideThenCenterCrop(shorterSide: shorter), interpolation: mode)
            let expected = try Fixtures.array("imaging/preprocess/shortcrop_\(name).npy")
            assertClose(resize.apply(input).tensor, expected, tolerance: 1e-5, name)
        }
    }

    /// torchvision: longer side `int(s · long / short)`, crop offsets rounded half to even.
    func testShorterSideSizeAndCropOrigin() {
        XCTAssertTrue(Resize.shorterSideSize(height: 11, width: 37, shorterSide: 16) == (16, 53))
        XCTAssertTrue(Resize.shorterSideSize(height: 30, width: 19, shorterSide: 20) == (31, 20))
        XCTAssertTrue(Resize.shorterSideSize(height: 2000, width: 1800, shorterSide: 256) == (284, 256))
        XCTAssertTrue(Resize.centerCropOrigin(height: 16, width: 53, size: 16) == (0, 18))   // 18.5 → 18
        XCTAssertTrue(Resize.centerCropOrigin(height: 31, width: 20, size: 16) == (8, 2))    // 7.5 → 8
        XCTAssertTrue(Resize.centerCropOrigin(height: 27, width: 16, size: 16) == (6, 0))    // 5.5 → 6
    }

    func testMaskResizeUsesNearestWithTheSameGeometry() throws {
        let labels: [Float] = (0..<(11 * 37)).map { (i: Int) -> Float in Float((i / 5 + i % 37 / 4) % 4) }
        let mask = Image2D(width: 37, height: 11, channels: 1, pixels: labels)
        for fit in [Resize.Fit.square, .shorterSideThenCenterCrop(shorterSide: 16)] {
            let resize = Resize(size: 16, fit: fit, interpolation: .bicubicAntialiased)
            let resized = resize.resizedMask(mask)
            XCTAssertEqual(resized.width, 16)
            XCTAssertEqual(resized.height, 16)
            XCTAssertEqual(resized, Resize(size: 16, fit: fit, interpolation: .nearest).apply(mask))
            XCTAssertTrue(Set(resized.pixels).isSubset(of: [0, 1, 2, 3]))
        }
    }

    func testPixelSpacingFollowsTheResize() {
        var image = Image2D(width: 40, height: 10, channels: 1, pixels: [Float](repeating: 1, count: 400))
        image.pixelSpacing = [0.5, 0.25]
        let resized = image.resampled(width: 20, height: 20, interpolation: .bilinear)
        XCTAssertEqual(resized.pixelSpacing, [0.25, 0.5])
    }

    func testCropAndFlipsMoveSamples() {
        let image = Image2D(width: 4, height: 3, channels: 1, pixels: (0..<12).map(Float.init))
        XCTAssertEqual(image.cropped(top: 1, left: 1, height: 2, width: 2).pixels, [5, 6, 9, 10])
        XCTAssertEqual(image.flippedHorizontally().pixels, [3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8])
        XCTAssertEqual(image.flippedVertically().pixels, [8, 9, 10, 11, 4, 5, 6, 7, 0, 1, 2, 3])
    }
}
