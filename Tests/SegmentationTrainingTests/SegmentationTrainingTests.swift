import Convolution
import Datasets
import Foundation
import MedicalImaging
import Metrics
import Models
import Randomness
import SegmentationDecoders
import SegmentationTraining
import TensorCore
import TensorKernels
import TestSupport
import XCTest

/// Training and evaluating decoders on tiny synthetic datasets with tiny backbones.
final class SegmentationTrainingTests: XCTestCase {
    let context = ComputeContext(threads: 2)

    func linearExperiment(backbone: VisionTransformer, classes: [String], size: Int, rates: [Double], epochs: Int,
                          augmentation: Augmentation? = nil, modality: PreprocessingPipeline.Modality = .xray) throws -> SegmentationExperiment<LinearDecoder> {
        let settings = try SegmentationTrainingConfiguration(learningRates: rates, epochs: epochs, batchSize: 4, loss: .diceCrossEntropy,
                                                             augmentation: augmentation, seed: 5)
        let encoder = try SegmentationInputEncoder(kind: .featureGrids(lastBlocks: 1), backbone: backbone, context: context)
        let width = backbone.configuration.width, count = classes.count
        let trainer = SegmentationTrainer(configuration: settings, encoder: encoder) { generator in
            try LinearDecoder(embedDimension: width, classes: count, generator: &generator)
        }
        return SegmentationExperiment(trainer: trainer,
                                      reader: try SegmentationCaseReader(classes: classes, pipeline: .study(size: size, modality: modality)))
    }

    /// A linear decoder on the tiny ViT learns the toy rectangles: held-out Dice far above an empty or an
    /// all-foreground prediction, and the better of two rates is the one selected.
    func testLinearDecoderLearnsToyShapes() throws {
        let catalog = try SegmentationTestData.writeMontgomery(count: 20, in: try Fixtures.temporaryDirectory(removedAfter: self))
        let parts = try SegmentationTestData.parts(catalog, validation: 0.2, test: 0.2)
        let experiment = try linearExperiment(backbone: try SegmentationTestData.tinyBackbone(), classes: MontgomeryCounty.classes,
                                              size: 56, rates: [1e-4, 3e-2], epochs: 25)
        var written = 0
        let outcome = try experiment.run(train: parts[.train]!, validation: parts[.validation]!, test: parts[.test]!, onTestCase: { item, prediction, _ in
            XCTAssertEqual(prediction.shape, [56, 56])
            XCTAssertEqual(item.truth.shape, [56, 56])
            written += 1
        })
        XCTAssertEqual(written, parts[.test]!.count)
        let dice = try SegmentationCohortScores(cases: outcome.testCases.map(\.scores)).meanDice!
        XCTAssertGreaterThan(dice, 0.85, "test Dice \(dice)")
        XCTAssertEqual(outcome.selectedLearningRate, 3e-2)
        XCTAssertGreaterThan(outcome.trials[1].validationDice!, outcome.trials[0].validationDice!)
        XCTAssertLessThan(outcome.trials[1].epochLosses.last!, outcome.trials[1].epochLosses.first!)
    }

    /// Training from grids computed once equals training with the backbone run at every step (identity augmentation).
    func testGridCacheMatchesForwardPath() throws {
        let catalog = try SegmentationTestData.writeMontgomery(count: 6, in: try Fixtures.temporaryDirectory(removedAfter: self))
        let backbone = SegmentationTestData.fiveBlockBackbone()
        let reader = try SegmentationCaseReader(classes: MontgomeryCounty.classes, pipeline: .study(size: 28, modality: .xray))
        let cases = try catalog.items.map(reader.read)
        let encoder = try SegmentationInputEncoder(kind: .featureGrids(lastBlocks: 5), backbone: backbone, context: context)
        let unet = try UNetDecoderConfiguration(embedDimension: 32, classes: 2)
        func trained(_ augmentation: Augmentation?) throws -> [String: Tensor] {
            let settings = try SegmentationTrainingConfiguration(learningRates: [1e-3], epochs: 2, batchSize: 4, loss: .dice,
                                                                 augmentation: augmentation, seed: 1)
            let trainer = SegmentationTrainer(configuration: settings, encoder: encoder) { try UNetDecoder(configuration: unet, generator: &$0) }
            return try trainer.train(try trainer.trainingSet(cases), learningRate: 1e-3).head.stateDict()
        }
        let cached = try trained(nil), forward = try trained(Augmentation(steps: []))
        var generator = SeededGenerator(seed: 1)
        let initial = try UNetDecoder(configuration: unet, generator: &generator).stateDict()
        XCTAssertEqual(Set(cached.keys), Set(forward.keys))
        for key in cached.keys.sorted() { assertClose(cached[key]!, forward[key]!, tolerance: 1e-5, key) }
        XCTAssertTrue(cached.keys.contains { initial[$0]!.scalars != cached[$0]!.scalars }, "training changed nothing")
    }

    /// Augmentation draws are reproducible and change the training (image and mask together).
    func testAugmentedTrainingIsSeeded() throws {
        let catalog = try SegmentationTestData.writeMontgomery(count: 4, in: try Fixtures.temporaryDirectory(removedAfter: self))
        let backbone = try SegmentationTestData.tinyBackbone()
        let reader = try SegmentationCaseReader(classes: MontgomeryCounty.classes, pipeline: .study(size: 28, modality: .xray))
        let cases = try catalog.items.map(reader.read)
        let encoder = try SegmentationInputEncoder(kind: .featureGrids(lastBlocks: 1), backbone: backbone, context: context)
        func trained(_ augmentation: Augmentation?) throws -> Tensor {
            let settings = try SegmentationTrainingConfiguration(learningRates: [1e-2], epochs: 2, batchSize: 2, augmentation: augmentation, seed: 9)
            let trainer = SegmentationTrainer(configuration: settings, encoder: encoder) { try LinearDecoder(embedDimension: 64, classes: 2, generator: &$0) }
            return try trainer.train(try trainer.trainingSet(cases), learningRate: 1e-2).head.head.weight
        }
        let first = try trained(.segmentation), again = try trained(.segmentation), plain = try trained(nil)
        XCTAssertEqual(first.scalars, again.scalars)
        XCTAssertNotEqual(first.scalars, plain.scalars)
    }

    /// Volumes: slices put back into the voxel grid reproduce the truth, and the predicted label maps
    /// written as NIfTI carry the source's size and affine.
    func testVolumeReassemblyAndPredictionFiles() throws {
        let folder = try Fixtures.temporaryDirectory(removedAfter: self)
        let catalog = try SegmentationTestData.writeDecathlon(count: 3, in: folder.appendingPathComponent("data"))
        let reader = try SegmentationCaseReader(classes: ["background", "organ", "lesion"], pipeline: .study(size: 28, modality: .ct))
        let item = try reader.read(catalog.items[0])
        XCTAssertEqual(item.inputs.count, 6)
        XCTAssertEqual(item.truth.shape, [6, 16, 20])
        XCTAssertEqual(item.spacing, [2.5, 0.875, 0.75])
        // The truth cut into axial slices (display orientation) and put back is the truth again.
        let mask = try MedicalImageFile.read(contentsOf: catalog.items[0].masks[0]).content
        guard case .volume(let labels) = mask else { return XCTFail("label map is not a volume") }
        let slices = try VolumeSlicer(axis: .axial).slices(of: labels).map { $0.pixels.map { Int32($0) } }
        XCTAssertNotEqual(slices[2], Array(item.truth.labels[(2 * 320)..<(3 * 320)]), "the slicer must reorder this affine's voxels")
        XCTAssertEqual(try item.labelMap(fromSlices: slices), item.truth)

        let experiment = try linearExperiment(backbone: try SegmentationTestData.tinyBackbone(), classes: reader.classes, size: 28,
                                              rates: [1e-2], epochs: 2, modality: .ct)
        let out = folder.appendingPathComponent("predictions")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        let outcome = try experiment.run(train: [catalog.items[0], catalog.items[1]], validation: [], test: [catalog.items[2]], onTestCase: { item, prediction, _ in
            try SegmentationReport.writePrediction(prediction, of: item, into: out)
        })
        XCTAssertEqual(outcome.testCases.map(\.id), ["case_2"])
        let written = try MedicalImageFile.read(contentsOf: out.appendingPathComponent("case_2.nii.gz")).content
        guard case .volume(let volume) = written else { return XCTFail("prediction is not a volume") }
        XCTAssertEqual(volume.size, SegmentationTestData.volumeSize)
        XCTAssertEqual(volume.affine, SegmentationTestData.volumeAffine)
        XCTAssertEqual(volume.spacing, SegmentationTestData.volumeSpacing)
        XCTAssertTrue(volume.voxels.allSatisfy { [0, 1, 2].contains($0) })
    }

    /// The per-case table: fixed columns, six decimals, empty fields for undefined values.
    func testCaseTable() throws {
        let present = SegmentationClassScores(label: 1, predictedVoxels: 3, truthVoxels: 5, overlappingVoxels: 2, hausdorff: 1.5)
        let absent = SegmentationClassScores(label: 2, predictedVoxels: 0, truthVoxels: 0, overlappingVoxels: 0, hausdorff: nil)
        let missed = SegmentationClassScores(label: 2, predictedVoxels: 0, truthVoxels: 4, overlappingVoxels: 0, hausdorff: nil)
        let table = SegmentationReport.caseTable([("a", SegmentationScores(classes: [present, absent])),
                                                  ("b,c", SegmentationScores(classes: [present, missed]))],
                                                 classes: ["background", "organ", "lesion"])
        XCTAssertEqual(table, """
        case,mean_dice,mean_jaccard,score,mean_hd95_mm,dice_organ,jaccard_organ,hd95_mm_organ,dice_lesion,jaccard_lesion,hd95_mm_lesion
        a,0.500000,0.333333,0.416667,1.500000,0.500000,0.333333,1.500000,,,
        "b,c",0.250000,0.166667,0.208333,1.500000,0.500000,0.333333,1.500000,0.000000,0.000000,

        """)
    }

    /// The JSON pieces: nulls for undefined means, per-class means over the cases where defined.
    func testSummaryMeans() throws {
        let scored = SegmentationClassScores(label: 1, predictedVoxels: 4, truthVoxels: 4, overlappingVoxels: 4, hausdorff: 0)
        let absent = SegmentationClassScores(label: 1, predictedVoxels: 0, truthVoxels: 0, overlappingVoxels: 0, hausdorff: nil)
        let cohort = try SegmentationCohortScores(cases: [SegmentationScores(classes: [scored]), SegmentationScores(classes: [absent])])
        let text = String(decoding: try SegmentationReport.encode(["test": SegmentationReport.testMeans(cohort),
                                                                   "per_class": SegmentationReport.classMeans(cohort, classes: ["bg", "organ"])]),
                          as: UTF8.self)
        let object = try JSONSerialization.jsonObject(with: Data(text.utf8)) as! [String: Any]
        let test = object["test"] as! [String: Any]
        XCTAssertEqual(test["cases"] as? Int, 2)
        XCTAssertEqual(test["mean_dice"] as? Double, 1)
        let perClass = (object["per_class"] as! [[String: Any]])[0]
        XCTAssertEqual(perClass["name"] as? String, "organ")
        XCTAssertEqual(perClass["cases_with_dice"] as? Int, 1)
        let empty = try SegmentationCohortScores(cases: [SegmentationScores(classes: [absent])])
        XCTAssertTrue(SegmentationReport.testMeans(empty)["mean_dice"] is NSNull)
    }

    /// The overlay tints predicted pixels with the class colour and leaves the rest grey.
    func testOverlayTintsPredictedClasses() {
        let image = Image2D(width: 2, height: 1, channels: 1, pixels: [0, 100])
        let overlay = SegmentationReport.overlay(image, labels: [1, 0])
        XCTAssertEqual(overlay.channels, 3)
        XCTAssertEqual(overlay.pixels, [(0.4 * 230).rounded(), 255, (0.4 * 25).rounded(), 255, (0.4 * 75).rounded(), 255])
    }
}
