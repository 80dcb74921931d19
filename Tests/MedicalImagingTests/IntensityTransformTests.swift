import Foundation
import MedicalImaging
import Randomness
import TensorCore
import TestSupport
import XCTest

/// Windowing, percentile clipping, min–max, ImageNet normalisation and whole pipelines (fixtures from
/// scripts/make_preprocess_fixtures.py: numpy's `nanpercentile`, torch for the pipelines).
final class IntensityTransformTests: XCTestCase {
    func grey(_ values: [Float]) -> Image2D { Image2D(width: values.count, height: 1, channels: 1, pixels: values) }

    func testWindowClipsAndSendsNaNToTheLowerBound() {
        let image = grey([-3000, -1024, -1023.5, 0, 600, 600.5, 3000, .nan])
        XCTAssertEqual(IntensityWindow.ct.apply(image).pixels, [-1024, -1024, -1023.5, 0, 600, 600, 600, -1024])
    }

    func testWindowFromCenterAndWidth() {
        let window = IntensityWindow(center: 40, width: 400)
        XCTAssertEqual(window, IntensityWindow(lower: -160, upper: 240))
        XCTAssertNil(IntensityWindow(center: 40, width: 0))
        XCTAssertNil(IntensityWindow(center: .nan, width: 10))
    }

    func testPercentilesMatchNumPy() throws {
        let values = try Fixtures.array("imaging/preprocess/percentile_input.npy").scalars
        let expected = try Fixtures.array("imaging/preprocess/percentile_expected.npy").scalars
        let sorted = values.filter { !$0.isNaN }.sorted()
        XCTAssertEqual(sorted.count, 1001 - 37)
        for (p, reference) in zip([0, 5, 37.3, 50, 95, 99.9, 100], expected) {
            let actual = Float(PercentileClip.percentile(p, ofSorted: sorted))
            XCTAssertEqual(actual, reference, accuracy: 1e-6 * max(1, abs(reference)), "p = \(p)")
        }
        let window = try XCTUnwrap(PercentileClip.mri.window(of: values))
        XCTAssertEqual(window.lower, expected[1], accuracy: 1e-4)
        XCTAssertEqual(window.upper, expected[4], accuracy: 1e-4)
        let clipped = PercentileClip.mri.apply(grey(values)).pixels
        XCTAssertEqual(clipped.min(), window.lower)
        XCTAssertEqual(clipped.max(), window.upper)
        XCTAssertFalse(clipped.contains { $0.isNaN })
    }

    func testPercentileInterpolatesBetweenNeighbours() {
        let sorted: [Float] = [10, 20, 30, 40, 50]
        XCTAssertEqual(PercentileClip.percentile(5, ofSorted: sorted), 12)       // (n − 1) · 0.05 = 0.2
        XCTAssertEqual(PercentileClip.percentile(95, ofSorted: sorted), 48)      // 3.8
        XCTAssertEqual(PercentileClip.percentile(100, ofSorted: sorted), 50)
        XCTAssertEqual(PercentileClip.percentile(50, ofSorted: [7]), 7)
        XCTAssertEqual(PercentileClip.mri.apply(grey([.nan, .nan])).pixels, [0, 0])
    }

    func testMinMaxScaleIgnoresNaN() {
        XCTAssertEqual(MinMaxScale().apply(grey([2, .nan, 6, 4])).pixels, [0, 0, 1, 0.5])
        XCTAssertEqual(MinMaxScale().apply(grey([3, 3])).pixels, [0, 0])
    }

    func testChannelNormalizeStatisticsAreRecordedAndParsed() {
        for statistics in ChannelNormalize.Statistics.allCases {
            let step = PreprocessingStep.normalize(ChannelNormalize(statistics))
            XCTAssertEqual(PreprocessingStep(record: step.description), step)
        }
        XCTAssertNil(PreprocessingStep(record: "laion"))
        let clip = ChannelNormalize(.clip).apply(grey([0.25]))
        XCTAssertEqual(clip.pixels[2], (0.25 - 0.40821073) / 0.27577711, accuracy: 1e-6)
        XCTAssertEqual(ChannelNormalize(.inception).apply(grey([0.25])).pixels, [-0.5, -0.5, -0.5])
    }

    func testImageNetNormalizeReplicatesGrey() {
        let normalised = ChannelNormalize().apply(grey([0.5]))
        XCTAssertEqual(normalised.channels, 3)
        for c in 0..<3 {
            XCTAssertEqual(normalised.pixels[c], (0.5 - ChannelNormalize.Statistics.imagenet.mean[c]) / ChannelNormalize.Statistics.imagenet.std[c])
        }
        XCTAssertEqual(GreyToRGB().apply(grey([1, 2])).pixels, [1, 2, 1, 2, 1, 2])
    }

    func testCTPipelineMatchesTorch() throws {
        let hu = Image2D(try Fixtures.array("imaging/preprocess/pipeline_ct_input.npy"))
        let pipeline = PreprocessingPipeline.study(size: 16, modality: .ct)
        let expected = try Fixtures.array("imaging/preprocess/pipeline_ct.npy")
        assertClose(pipeline.tensor(hu), expected, tolerance: 1e-5, "CT pipeline")
    }

    func testMRIVolumePipelineClipsToVolumePercentilesThenSlices() throws {
        let array = try Fixtures.array("imaging/preprocess/pipeline_mri_volume.npy")   // [nz, ny, nx]
        let volume = Volume(size: [array.shape[2], array.shape[1], array.shape[0]], voxels: array.scalars)
        let slices = try PreprocessingPipeline.study(size: 16, modality: .mri).slices(of: volume, axis: .axial)
        XCTAssertEqual(slices.count, 4)
        let actual = Tensor(shape: [1, 3, 16, 16], values: slices[2].pixels)
        let expected = try Fixtures.array("imaging/preprocess/pipeline_mri_axial2.npy")
        assertClose(actual, expected, tolerance: 1e-5, "MRI axial slice 2")
    }

    func testModalityDefaults() {
        XCTAssertEqual(PreprocessingPipeline.Modality.ct.intensityStep, .window(IntensityWindow(lower: -1024, upper: 600)))
        XCTAssertEqual(PreprocessingPipeline.Modality.mri.intensityStep, .percentileClip(PercentileClip(lower: 5, upper: 95)))
        XCTAssertNil(PreprocessingPipeline.Modality.xray.intensityStep)
        XCTAssertEqual(PreprocessingPipeline.Modality(dicomModality: "CT"), .ct)
        XCTAssertEqual(PreprocessingPipeline.Modality(dicomModality: "MR "), .mri)
        XCTAssertEqual(PreprocessingPipeline.Modality(dicomModality: "DX"), .xray)
        XCTAssertEqual(PreprocessingPipeline.Modality(dicomModality: "US"), .other)
    }

    func testRecordsAreStable() throws {
        XCTAssertEqual(PreprocessingPipeline.study(size: 224, modality: .ct).description,
                       "window[-1024,600] > minmax > grey3 > resize[224,square,bilinear-aa] > imagenet")
        XCTAssertEqual(PreprocessingPipeline.study(size: 448, modality: .mri).description,
                       "percentile[5,95] > minmax > grey3 > resize[448,square,bilinear-aa] > imagenet")
        XCTAssertEqual(PreprocessingPipeline.study(size: 224, modality: .xray).description,
                       "minmax > grey3 > resize[224,square,bilinear-aa] > imagenet")
        XCTAssertEqual(PreprocessingPipeline.dinov2Evaluation(modality: .xray).description,
                       "minmax > grey3 > resize[224,short256-crop,bicubic-aa] > imagenet")
        XCTAssertEqual(PreprocessingPipeline(steps: [.window(IntensityWindow(center: 40, width: 401)!)]).description,
                       "window[-160.5,240.5]")
    }

    func testRecordsRoundTripThroughTextAndJSON() throws {
        let pipelines = [
            PreprocessingPipeline.study(size: 224, modality: .ct), .study(size: 32, modality: .mri, interpolation: .bicubic),
            .dinov2Evaluation(modality: .other),
            PreprocessingPipeline(steps: [.percentileClip(PercentileClip(lower: 0.5, upper: 99.5)),
                                          .resize(Resize(size: 8, interpolation: .nearestExact))]),
        ]
        for pipeline in pipelines {
            XCTAssertEqual(PreprocessingPipeline(record: pipeline.description), pipeline)
            let json = try JSONEncoder().encode(pipeline)
            XCTAssertEqual(try JSONDecoder().decode(PreprocessingPipeline.self, from: json), pipeline)
        }
        XCTAssertEqual(String(decoding: try JSONEncoder().encode(PreprocessingPipeline.study(size: 16, modality: .xray)),
                              as: UTF8.self),
                       "\"minmax > grey3 > resize[16,square,bilinear-aa] > imagenet\"")
        for bad in ["minmax > blur", "window[1,0]", "resize[224,square]", "resize[224,short100-crop,bicubic]",
                    "percentile[5,101]", "window[a,b]", "minmax[", "grey3]"] {
            XCTAssertNil(PreprocessingPipeline(record: bad), bad)
        }
        XCTAssertThrowsError(try JSONDecoder().decode(PreprocessingPipeline.self, from: Data("\"imagenet > x\"".utf8)))
    }

    /// Infinities do not set the range: finite values scale as without them, +∞ → 1, −∞ → 0, NaN → 0.
    func testMinMaxIgnoresInfinities() {
        let image = Image2D(width: 5, height: 1, channels: 1, pixels: [2, 4, .infinity, -.infinity, .nan])
        XCTAssertEqual(MinMaxScale().apply(image).pixels, [0, 1, 1, 0, 0])
    }

    /// Percentiles found by selection equal those of a full sort on arrays that stress quickselect:
    /// random, few distinct values, sorted, reversed, constant, tiny, and large enough to partition.
    func testSelectedPercentilesEqualSortedOnes() {
        var rng = SeededGenerator(seed: 99)
        var cases: [[Float]] = [[3], [2, 1], Array(repeating: 5, count: 1000)]
        for n in [17, 100, 1001, 40_000] {
            cases.append((0..<n).map { _ in Float(rng.uniform(in: -1000...1000)) })
            cases.append((0..<n).map { _ in Float(rng.integer(below: 4)) })
            cases.append((0..<n).map(Float.init))
            cases.append((0..<n).reversed().map(Float.init))
        }
        for values in cases {
            let sorted = values.sorted()
            for (lower, upper) in [(5.0, 95.0), (0.0, 100.0), (50.0, 50.0), (0.5, 99.5), (25.0, 75.0)] {
                let window = PercentileClip(lower: lower, upper: upper).window(of: values)
                XCTAssertEqual(window?.lower, Float(PercentileClip.percentile(lower, ofSorted: sorted)), "n \(values.count), p \(lower)")
                XCTAssertEqual(window?.upper, Float(PercentileClip.percentile(upper, ofSorted: sorted)), "n \(values.count), p \(upper)")
            }
        }
    }
}
