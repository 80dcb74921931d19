import Foundation
import Metrics
import TestSupport
import XCTest

/// Parity with `Tests/Fixtures/segmentation-metrics/cases.json` (scripts/make_segmentation_metric_fixtures.py):
/// Dice and Jaccard from numpy, HD95 from scipy's exact distance transform in float64 following MONAI's
/// definition, and MONAI 1.3.2's own float32 HD95.
final class SegmentationFixtureTests: XCTestCase {
    private struct Fixture: Decodable {
        let cases: [Case]
    }

    private struct Case: Decodable {
        let name: String
        let shape: [Int]
        let spacing: [Double]
        let classCount: Int
        let prediction: [Int32]
        let truth: [Int32]
        let classes: [String: ClassValues]
        let meanDice: Double?
        let meanJaccard: Double?
    }

    private struct ClassValues: Decodable {
        let dice: Double?
        let jaccard: Double?
        let hd95: Double?
        let monaiHd95: MONAIValue
        let predictionVoxels: Int
        let truthVoxels: Int
    }

    /// MONAI's HD95: a number, or "nan" where a mask is empty.
    private enum MONAIValue: Decodable {
        case number(Double)
        case notANumber

        init(from decoder: Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let value = try? container.decode(Double.self) { self = .number(value); return }
            let text = try container.decode(String.self)
            guard text == "nan" else { throw DecodingError.dataCorruptedError(in: container, debugDescription: "unexpected \(text)") }
            self = .notANumber
        }
    }

    private func loadCases() throws -> [Case] {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(Fixture.self, from: Data(contentsOf: Fixtures.url("segmentation-metrics/cases.json"))).cases
    }

    func testMatchesReferenceOnEveryFixtureCase() throws {
        let cases = try loadCases()
        XCTAssertEqual(cases.map(\.name), ["blobs_2d", "blobs_3d", "touching_borders_3d", "single_pixel_2d"])
        for item in cases {
            let scores = try SegmentationMetrics.evaluate(
                prediction: LabelMap(shape: item.shape, labels: item.prediction), truth: LabelMap(shape: item.shape, labels: item.truth),
                spacing: item.spacing, classCount: item.classCount)
            XCTAssertEqual(scores.classCount, item.classCount, item.name)
            for label in 1..<item.classCount {
                let expected = try XCTUnwrap(item.classes[String(label)]), actual = scores[label: label]
                let name = "\(item.name) class \(label)"
                XCTAssertEqual(actual.predictedVoxels, expected.predictionVoxels, name)
                XCTAssertEqual(actual.truthVoxels, expected.truthVoxels, name)
                assertClose(actual.dice, expected.dice, tolerance: 1e-12, "\(name) Dice")
                assertClose(actual.jaccard, expected.jaccard, tolerance: 1e-12, "\(name) Jaccard")
                assertClose(actual.hausdorff, expected.hd95, tolerance: 1e-9, "\(name) HD95")
                switch expected.monaiHd95 {
                case .number(let monai):
                    assertClose(actual.hausdorff, monai, tolerance: 1e-5 * max(1, monai), "\(name) HD95 vs MONAI (float32)")
                case .notANumber:
                    XCTAssertNil(actual.hausdorff, name)
                    XCTAssertNotNil(actual.missingMask, name)
                }
            }
            assertClose(scores.meanDice, item.meanDice, tolerance: 1e-12, "\(item.name) mean Dice")
            assertClose(scores.meanJaccard, item.meanJaccard, tolerance: 1e-12, "\(item.name) mean Jaccard")
        }
    }

    func testFixtureCoversTheConventions() throws {
        let cases = try loadCases()
        let missing = cases.flatMap { item in
            item.classes.values.map { ($0.predictionVoxels == 0, $0.truthVoxels == 0) }
        }
        XCTAssertTrue(missing.contains { $0 == (true, true) }, "a class absent from both maps")
        XCTAssertTrue(missing.contains { $0 == (true, false) }, "a class only in the truth")
        XCTAssertTrue(missing.contains { $0 == (false, true) }, "a class only in the prediction")
        XCTAssertTrue(cases.contains { $0.shape.count == 2 } && cases.contains { $0.shape.count == 3 })
        XCTAssertTrue(cases.allSatisfy { Set($0.spacing).count > 1 }, "anisotropic spacing")
    }
}
