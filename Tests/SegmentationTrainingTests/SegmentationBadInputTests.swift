import Convolution
import Datasets
import Foundation
import MedicalImaging
import Metrics
import SegmentationTraining
import TestSupport
import XCTest

/// Bad or degenerate segmentation data: each problem is an error naming the file, or a stated result.
final class SegmentationBadInputTests: XCTestCase {
    let classes = ["background", "organ", "lesion"]

    func reader() throws -> SegmentationCaseReader { try SegmentationCaseReader(classes: classes, pipeline: .study(size: 28, modality: .ct)) }

    func assertError(_ body: @autoclosure () throws -> Any, mentions: [String], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try body(), file: file, line: line) { error in
            for text in mentions {
                XCTAssertTrue("\(error)".contains(text), "\(error) does not mention \(text)", file: file, line: line)
            }
        }
    }

    func testMaskOfAnotherShapeNamesTheFile() throws {
        let folder = try Fixtures.temporaryDirectory(removedAfter: self)
        let catalog = try SegmentationTestData.writeDecathlon(count: 1, in: folder)
        let mask = catalog.items[0].masks[0]
        try NIfTIWriter.writeLabelMap(Volume(size: [20, 16, 5], voxels: [Float](repeating: 0, count: 1600), spacing: [0.75, 0.875, 2.5]), to: mask)
        assertError(try reader().read(catalog.items[0]), mentions: [mask.path, "20×16×5", "20×16×6"])
    }

    func testMaskWithAnotherSpacingNamesTheFile() throws {
        let folder = try Fixtures.temporaryDirectory(removedAfter: self)
        let catalog = try SegmentationTestData.writeDecathlon(count: 1, in: folder)
        let mask = catalog.items[0].masks[0]
        try NIfTIWriter.writeLabelMap(Volume(size: [20, 16, 6], voxels: [Float](repeating: 0, count: 1920), spacing: [1, 1, 2.5]), to: mask)
        assertError(try reader().read(catalog.items[0]), mentions: [mask.path, "spacing"])
    }

    func test2DMaskOfAnotherSizeNamesTheFile() throws {
        let folder = try Fixtures.temporaryDirectory(removedAfter: self)
        let catalog = try SegmentationTestData.writeMontgomery(count: 1, in: folder)
        let mask = catalog.items[0].masks[1]
        try PNGWriter.write(Image2D(width: 50, height: 56, channels: 1, pixels: [Float](repeating: 0, count: 2800)), to: mask)
        let reader = try SegmentationCaseReader(classes: MontgomeryCounty.classes, pipeline: .study(size: 28, modality: .xray))
        assertError(try reader.read(catalog.items[0]), mentions: [mask.path, "50×56", "56×56"])
    }

    func testLabelOutsideTheClassesNamesFileAndValue() throws {
        let folder = try Fixtures.temporaryDirectory(removedAfter: self)
        let catalog = try SegmentationTestData.writeDecathlon(count: 1, in: folder) { _, labels in labels.voxels[5 + 20 * 3] = 7 }
        assertError(try reader().read(catalog.items[0]), mentions: [catalog.items[0].masks[0].path, "label 7", "(5, 3, 0)", "0…2"])
    }

    /// A volume without foreground: every class absent from the truth. An empty prediction scores Dice and
    /// Jaccard null (left out of the means); a prediction with foreground scores 0 for that class.
    func testVolumeWithoutForeground() throws {
        let folder = try Fixtures.temporaryDirectory(removedAfter: self)
        let catalog = try SegmentationTestData.writeDecathlon(count: 1, in: folder) { _, labels in
            labels.voxels = [Float](repeating: 0, count: labels.voxels.count)
        }
        let item = try reader().read(catalog.items[0])
        XCTAssertEqual(item.truth.largestLabel, 0)
        let empty = try SegmentationMetrics.evaluate(prediction: item.truth, truth: item.truth, spacing: item.spacing, classCount: 3)
        XCTAssertNil(empty[label: 1].dice)
        XCTAssertNil(empty.meanDice)
        var labels = item.truth.labels
        labels[0] = 1
        let spurious = try SegmentationMetrics.evaluate(prediction: try LabelMap(shape: item.truth.shape, labels: labels), truth: item.truth,
                                                        spacing: item.spacing, classCount: 3)
        XCTAssertEqual(spurious[label: 1].dice, 0)
        XCTAssertNil(spurious[label: 2].dice)
        XCTAssertEqual(spurious.meanDice, 0)
    }

    /// An empty prediction of a case with foreground: Dice and Jaccard 0, HD95 undefined (null).
    func testEmptyPrediction() throws {
        let folder = try Fixtures.temporaryDirectory(removedAfter: self)
        let catalog = try SegmentationTestData.writeDecathlon(count: 1, in: folder)
        let item = try reader().read(catalog.items[0])
        let empty = try item.labelMap(fromSlices: item.inputs.map { _ in [Int32](repeating: 0, count: 320) })
        let scores = try SegmentationMetrics.evaluate(prediction: empty, truth: item.truth, spacing: item.spacing, classCount: 3)
        XCTAssertEqual(scores.meanDice, 0)
        XCTAssertEqual(scores[label: 2].jaccard, 0)
        XCTAssertNil(scores[label: 1].hausdorff)
        XCTAssertEqual(scores[label: 1].missingMask, .prediction)
    }

    func testSettingsAreChecked() {
        assertError(try SegmentationTrainingConfiguration(learningRates: [], epochs: 1, batchSize: 1), mentions: ["learning-rate grid"])
        assertError(try SegmentationTrainingConfiguration(learningRates: [1e-3], epochs: 0, batchSize: 1), mentions: ["epochs"])
        assertError(try SegmentationCaseReader(classes: ["background"], pipeline: .study(size: 28, modality: .ct)), mentions: ["at least one class"])
    }
}
