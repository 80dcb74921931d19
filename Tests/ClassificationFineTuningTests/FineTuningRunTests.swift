import ClassificationFineTuning
import Datasets
import FineTuning
import Foundation
import MedicalImaging
import TensorCore
import TensorKernels
import TestSupport
import XCTest

/// Fine-tuning runs on a toy dataset: learning, the files written, resuming and refusing to resume another run,
/// and the datasets fine-tuning refuses.
final class FineTuningRunTests: XCTestCase {
    let context = ComputeContext(threads: 2)

    func identity(_ catalog: DatasetCatalog, split: String = "s") -> FineTuningIdentity {
        FineTuningIdentity(dataset: catalog.name, classNames: catalog.labelSpace.names, splitSha256: split, checkpointSha256: "c",
                           inputSize: 28, preprocessing: "p")
    }

    func run(_ toy: ToyDataset, _ configuration: FineTuningConfiguration, folder: URL, split: String = "s") throws -> FineTuningRun {
        FineTuningRun(data: try FineTuningData(catalog: toy.catalog, split: toy.split),
                      pipeline: .study(size: 28, modality: toy.catalog.modality), configuration: configuration,
                      identity: identity(toy.catalog, split: split), folder: folder)
    }

    /// A hard version of the toy task (low contrast): full fine-tuning brings the validation loss down and the
    /// validation AUROC to 1 within a few epochs, and the best epoch tests well.
    func testFullFineTuningLearnsTheToyTask() throws {
        let folder = try Fixtures.temporaryDirectory(removedAfter: self)
        let toy = try ToyDataset(in: folder, count: 32, contrast: 25)
        let configuration = try FineTuningConfiguration(mode: .full, headLearningRate: 1e-2, backboneLearningRate: 1e-3, warmupEpochs: 1,
                                                        epochs: 6, batchSize: 4, seed: 1)
        let outcome = try run(toy, configuration, folder: folder.appendingPathComponent("out"))
            .run(backbone: try ToyDataset.backbone(), context: context)
        let curves = outcome.record.curves
        XCTAssertEqual(curves.count, 6)
        XCTAssertLessThan(curves[0].validationAurocMacro!, 1, "the task must not be solved before training")
        XCTAssertEqual(curves.last!.validationAurocMacro, 1, "\(curves)")
        XCTAssertLessThan(curves.last!.validationLoss, curves[0].validationLoss / 2)
        let test = try XCTUnwrap(outcome.testProbabilities)
        let labels = try FineTuningData(catalog: toy.catalog, split: toy.split).test.map { Int($0.labels[0]) }
        let correct = labels.indices.filter { row in (test[row, labels[row]]) > 0.5 }.count
        XCTAssertGreaterThanOrEqual(correct, labels.count - 1, "test accuracy of the selected epoch")
    }

    /// The state file resumes only the same run: another seed (configuration) or split is refused, naming it.
    func testResumingAnotherRunIsRefused() throws {
        let folder = try Fixtures.temporaryDirectory(removedAfter: self)
        let toy = try ToyDataset(in: folder, count: 12)
        let out = folder.appendingPathComponent("out")
        let configuration = try FineTuningConfiguration(mode: .bitFit, headLearningRate: 1e-2, backboneLearningRate: 1e-3, epochs: 2,
                                                        batchSize: 4, seed: 1)
        let first = try run(toy, configuration, folder: out).run(backbone: try ToyDataset.backbone(), context: context, stopAfterEpochs: 1)
        XCTAssertFalse(first.completed)
        XCTAssertNil(first.testProbabilities)
        XCTAssertEqual(first.record.epochsCompleted, 1)
        let other = try FineTuningConfiguration(mode: .bitFit, headLearningRate: 1e-2, backboneLearningRate: 1e-3, epochs: 2,
                                                batchSize: 4, seed: 2)
        XCTAssertThrowsError(try run(toy, other, folder: out).run(backbone: try ToyDataset.backbone(), context: context)) { error in
            XCTAssertTrue("\(error)".contains("configuration:"), "\(error)")
        }
        XCTAssertThrowsError(try run(toy, configuration, folder: out, split: "t").run(backbone: try ToyDataset.backbone(), context: context)) {
            XCTAssertTrue("\($0)".contains("split file (sha256): s before, t now"), "\($0)")
        }
        let resumed = try run(toy, configuration, folder: out).run(backbone: try ToyDataset.backbone(), context: context)
        XCTAssertTrue(resumed.completed)
        XCTAssertEqual(resumed.record.curves.first, first.record.curves.first)
    }

    func testVolumeAndSegmentationDatasetsAreRefused() throws {
        let item = DatasetItem(id: "a", url: URL(fileURLWithPath: "/nonexistent/a.nii.gz"), labels: [0], patient: "p")
        let volumes = DatasetCatalog(name: "vols", modality: .ct, labelSpace: .multiClass(classes: ["x"]), items: [item], holdsVolumes: true)
        let split = try DatasetSplit(catalog: volumes, method: .systematic(validation: 0, test: 0))
        XCTAssertThrowsError(try FineTuningData(catalog: volumes, split: split)) {
            XCTAssertTrue("\($0)".contains("fine-tuning takes 2D datasets"), "\($0)")
        }
        let masks = DatasetCatalog(name: "seg", modality: .ct, labelSpace: .segmentation(classes: ["bg", "organ"]), items: [item])
        XCTAssertThrowsError(try FineTuningData(catalog: masks, split: try DatasetSplit(catalog: masks, method: .systematic(validation: 0, test: 0)))) {
            XCTAssertTrue("\($0)".contains("segmentation"), "\($0)")
        }
    }
}
