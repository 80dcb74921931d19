import Foundation
import MedicalImaging
import TensorCore
import TestSupport
import XCTest

/// Preprocessing parity with torch 1.13 (`interpolate(mode="bilinear", align_corners=False,
/// antialias=True)` + ImageNet normalisation), fixtures from scripts/make_imaging_fixtures.py.
final class PreprocessingTests: XCTestCase {
    /// The study's pipeline without modality clipping: `minmax > grey3 > resize[size,square,bilinear-aa] > imagenet`.
    func study(_ size: Int) -> PreprocessingPipeline { .study(size: size, modality: .other) }

    func parity(_ png: String, size: Int, expected: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let image = try PNGReader.read(contentsOf: Fixtures.url("imaging/preprocess/\(png)"))
        let actual = study(size).tensor(image)
        let reference = try Fixtures.array("imaging/preprocess/\(expected)")
        XCTAssertEqual(actual.shape, [1, 3, size, size], file: file, line: line)
        assertClose(actual, reference, tolerance: 1e-5, "\(png) → \(size)", file: file, line: line)
    }

    func testDownscaleGrey16MatchesTorch() throws {
        try parity("parity_grey16.png", size: 32, expected: "grey16_61x47_to_32.npy")
    }

    func testUpscaleRGB8MatchesTorch() throws {
        try parity("parity_rgb8.png", size: 24, expected: "rgb8_11x9_to_24.npy")
    }

    func testMixedScaleGrey8MatchesTorch() throws {
        try parity("parity_grey8_wide.png", size: 24, expected: "grey8_40x10_to_24.npy")
    }

    /// A radiograph-sized 2000×1800 16-bit image to 224: compares every 7th row and column.
    func testLargeDownscaleTo224MatchesTorch() throws {
        let width = 2000, height = 1800
        var pixels = [Float](repeating: 0, count: width * height)
        for y in 0..<height {
            for x in 0..<width { pixels[y * width + x] = Float((x * x * 3 + y * 7919 + x * y * 13) % 65521) }
        }
        let output = study(224).tensor(Image2D(width: width, height: height, channels: 1, pixels: pixels, bitDepth: 16))
        XCTAssertEqual(output.shape, [1, 3, 224, 224])
        let strided = Tensor(shape: [1, 3, 32, 32]) { out in
            for c in 0..<3 { for y in 0..<32 { for x in 0..<32 { out[(c * 32 + y) * 32 + x] = output[0, c, 7 * y, 7 * x] } } }
        }
        let reference = try Fixtures.array("imaging/preprocess/synthetic_2000x1800_to_224_stride7.npy")
        assertClose(strided, reference, tolerance: 1e-5, "2000×1800 → 224")
    }

    func testConstantImageGivesZerosNotNaN() {
        let constant = Image2D(width: 5, height: 4, channels: 1, pixels: [Float](repeating: 1234, count: 20), bitDepth: 16)
        let scaled = MinMaxScale().apply(constant)
        XCTAssertEqual(scaled.pixels, [Float](repeating: 0, count: 20))
        let output = study(8).tensor(constant)
        XCTAssertEqual(output.shape, [1, 3, 8, 8])
        for c in 0..<3 {
            let expected = (0 - ChannelNormalize.Statistics.imagenet.mean[c]) / ChannelNormalize.Statistics.imagenet.std[c]
            for y in 0..<8 { for x in 0..<8 { XCTAssertEqual(output[0, c, y, x], expected, accuracy: 1e-6) } }
        }
        XCTAssertTrue(output.scalars.allSatisfy { $0.isFinite })
    }

    func testMinMaxSpansAllChannelsTogether() {
        let image = Image2D(width: 2, height: 1, channels: 3, pixels: [10, 20, 30, 40, 50, 110])
        XCTAssertEqual(MinMaxScale().apply(image).pixels, [0, 0.1, 0.2, 0.3, 0.4, 1])
    }

    func testResizeKeepsConstantsAndIdentity() {
        let constant = Image2D(width: 37, height: 53, channels: 1, pixels: [Float](repeating: 0.25, count: 37 * 53))
        for (w, h) in [(7, 11), (64, 80), (37, 53), (200, 3)] {
            let resized = constant.resampled(width: w, height: h, interpolation: .bilinearAntialiased)
            XCTAssertEqual(resized.pixels.count, w * h)
            for v in resized.pixels { XCTAssertEqual(v, 0.25, accuracy: 1e-6) }
        }
        let ramp = Image2D(width: 6, height: 5, channels: 3, pixels: (0..<90).map { Float($0) })
        XCTAssertEqual(ramp.resampled(width: 6, height: 5, interpolation: .bilinearAntialiased).pixels, ramp.pixels)
    }

    func testGreyIsReplicatedBeforeNormalisation() throws {
        let grey = try PNGReader.read(contentsOf: Fixtures.url("imaging/preprocess/parity_grey16.png"))
        let output = study(12).tensor(grey)
        for y in 0..<12 {
            for x in 0..<12 {
                let v0 = output[0, 0, y, x] * ChannelNormalize.Statistics.imagenet.std[0] + ChannelNormalize.Statistics.imagenet.mean[0]
                let v2 = output[0, 2, y, x] * ChannelNormalize.Statistics.imagenet.std[2] + ChannelNormalize.Statistics.imagenet.mean[2]
                XCTAssertEqual(v0, v2, accuracy: 1e-6)
            }
        }
    }

    /// The pipeline's reorderings (scaling after the resize, grey3 after it) give the step-by-step result
    /// to float rounding, also for bicubic kernels that overshoot the [0, 1] range; an image with NaN or
    /// ±∞ takes the step-by-step path exactly.
    func testReorderedStepsMatchStepByStep() throws {
        let grey = try PNGReader.read(contentsOf: Fixtures.url("imaging/preprocess/parity_grey16.png"))
        let hard = Image2D(width: 9, height: 7, channels: 1, pixels: (0..<63).map { $0 % 2 == 0 ? 4000 : -300 }, bitDepth: 16)
        for interpolation in [Resize.Interpolation.bilinearAntialiased, .bicubic, .bicubicAntialiased, .nearest] {
            let pipeline = PreprocessingPipeline.study(size: 12, modality: .other, interpolation: interpolation)
            for image in [grey, hard] {
                let stepByStep = pipeline.steps.reduce(image) { $1.apply($0) }
                let fused = pipeline(image)
                XCTAssertEqual(fused.bitDepth, stepByStep.bitDepth)
                assertClose(Tensor(shape: [fused.pixels.count], values: fused.pixels),
                            Tensor(shape: [stepByStep.pixels.count], values: stepByStep.pixels), tolerance: 2e-6, "\(interpolation)")
            }
            var broken = hard.pixels
            broken[3] = .nan
            broken[10] = .infinity
            let special = Image2D(width: 9, height: 7, channels: 1, pixels: broken)
            XCTAssertEqual(pipeline(special).pixels, pipeline.steps.reduce(special) { $1.apply($0) }.pixels)
        }
        XCTAssertLessThan(PreprocessingPipeline.study(size: 12, modality: .other, interpolation: .bicubic)(hard).pixels.min() ?? 0,
                          PreprocessingPipeline.study(size: 12, modality: .other, interpolation: .bilinear)(hard).pixels.min() ?? 0,
                          "bicubic overshoots below the bilinear minimum, so the overshoot is kept")
    }
}
