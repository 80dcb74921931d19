import Datasets
import Evaluation
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

/// Feature stores of patch grids written as `radprobe extract --patch-tokens grid` writes them: every
/// model input of an item is `PreprocessingPipeline.images(of:)` of its file, run through the backbone in
/// one batch, its normed patch tokens of the last `blocks` blocks kept (`[L, N, D]`, or the last block's
/// `[N, D]` in the layout of older stores); each fault a test needs can be put in.
struct PatchGridStoreWriter {
    var backbone: VisionTransformer
    var size = 28
    var blocks = 1
    var legacyLayout = false
    var checkpointSHA256 = String(repeating: "ab", count: 32)
    var preprocessing: String?
    var normed = true
    var dataset: String?
    var sliceFeatures: Bool?
    var keepGrids = true
    /// Items recorded as skipped at extraction.
    var skipped: Set<String> = []
    /// Items whose last slice is left out.
    var shortened: Set<String> = []

    @discardableResult
    func write(_ catalog: DatasetCatalog, to url: URL) throws -> FeatureStore {
        let pipeline = PreprocessingPipeline.study(size: size, modality: catalog.modality)
        let side = size / backbone.configuration.patchSize, width = backbone.configuration.width
        let grid = legacyLayout ? FeatureSpec(name: PatchGridFeature.name, itemShape: [side * side, width])
            : PatchGridFeature(blocks: blocks, tokens: side * side, width: width).spec
        let feature = keepGrids ? grid : FeatureSpec(name: "patch_mean", itemShape: [blocks, width])
        let keepSlices = sliceFeatures ?? catalog.holdsVolumes
        let key = try FeatureStoreKey(checkpointSHA256: checkpointSHA256, preprocessing: preprocessing ?? pipeline.description,
                                      inputSize: size, lastBlocks: blocks, normed: normed, patchTokens: keepGrids ? .grid : .mean)
        let plan = try FeatureStorePlan(key: key, dataset: dataset ?? catalog.name, labelSpace: catalog.labelSpace,
                                        items: catalog.items.map(FeatureStoreItem.init), features: [feature], chunkSize: 2,
                                        radProbeVersion: "test", sliceFeatures: keepSlices)
        let writer = try FeatureStoreWriter(at: url, plan: plan)
        for chunk in 0..<plan.chunkCount {
            var rows: [FeatureRow] = [], skippedItems: [SkippedItem] = []
            for item in catalog.items[plan.itemRange(ofChunk: chunk)] {
                if skipped.contains(item.id) { skippedItems.append(SkippedItem(id: item.id, error: "cannot be read")); continue }
                var images = try pipeline.images(of: MedicalImageFile.read(contentsOf: item.url).content)
                if shortened.contains(item.id) { images.removeLast() }
                let batch = Tensor.concatenate(images.map { $0.tensor.reshaped([1, 3, size, size]) })
                let layers = try backbone.forward(batch, layers: backbone.lastBlocks(blocks), normedLayers: true,
                                                  context: ComputeContext(threads: 2)).layers
                let perSlice = images.indices.map { row in
                    keepGrids ? (legacyLayout ? [layers.last!] : layers).flatMap { $0.patches.slice(outer: row ..< row + 1).scalars }
                        : [Float](repeating: 0, count: feature.itemCount)
                }
                let mean = perSlice.dropFirst().reduce(perSlice[0]) { zip($0, $1).map(+) }.map { $0 / Float(perSlice.count) }
                rows.append(FeatureRow(id: item.id, features: [feature.name: mean],
                                       slices: keepSlices ? [feature.name: perSlice.flatMap { $0 }] : [:], sliceCount: keepSlices ? perSlice.count : 0))
            }
            try writer.write(chunk: chunk, rows: rows, skipped: skippedItems)
        }
        return try writer.finish()
    }
}

/// `StoredPatchGrids`: a feature store's grids in place of the backbone give the same training and
/// scores, and stores that do not match the run are refused.
final class StoredPatchGridsTests: XCTestCase {
    let context = ComputeContext(threads: 2)
    let checkpoint = String(repeating: "ab", count: 32)

    func requirements(_ catalog: DatasetCatalog, backbone: VisionTransformer, kind: SegmentationInputKind,
                      size: Int = 28) throws -> PatchGridRequirements {
        try PatchGridRequirements(checkpointSHA256: checkpoint, preprocessing: PreprocessingPipeline.study(size: size, modality: catalog.modality).description,
                                  inputSize: size, patchSize: backbone.configuration.patchSize, width: backbone.configuration.width,
                                  kind: kind, dataset: catalog.name, holdsVolumes: catalog.holdsVolumes)
    }

    func experiment<Head: SegmentationHead>(_ catalog: DatasetCatalog, backbone: VisionTransformer, kind: SegmentationInputKind,
                                            grids: StoredPatchGrids?, rates: [Double] = [3e-3, 3e-2],
                                            makeHead: @escaping @Sendable (inout SeededGenerator) throws -> Head) throws -> SegmentationExperiment<Head> {
        let settings = try SegmentationTrainingConfiguration(learningRates: rates, epochs: 2, batchSize: 3, loss: .diceCrossEntropy, seed: 9)
        let encoder = try SegmentationInputEncoder(kind: kind, backbone: backbone, context: context)
        let classes = catalog.labelSpace.names
        return SegmentationExperiment(trainer: SegmentationTrainer(configuration: settings, encoder: encoder, grids: grids, makeHead: makeHead),
                                      reader: try SegmentationCaseReader(classes: classes, pipeline: .study(size: 28, modality: catalog.modality)))
    }

    /// Runs the experiment on the backbone and on `store`'s grids and asserts the same decoder, validation and test scores.
    func assertSameOutcome<Head: SegmentationHead>(_ catalog: DatasetCatalog, store: FeatureStore, backbone: VisionTransformer,
                                                   kind: SegmentationInputKind,
                                                   makeHead: @escaping @Sendable (inout SeededGenerator) throws -> Head,
                                                   file: StaticString = #filePath, line: UInt = #line) throws {
        let parts = try SegmentationTestData.parts(catalog, validation: 0.25, test: 0.25)
        let grids = try StoredPatchGrids(store: store, requirements: try requirements(catalog, backbone: backbone, kind: kind))
        let outcomes = try [nil, grids].map { grids in
            try experiment(catalog, backbone: backbone, kind: kind, grids: grids, makeHead: makeHead)
                .run(train: parts[.train]!, validation: parts[.validation]!, test: parts[.test]!)
        }
        let (direct, stored) = (outcomes[0], outcomes[1])
        XCTAssertEqual(direct.selectedLearningRate, stored.selectedLearningRate, file: file, line: line)
        for (a, b) in zip(direct.trials, stored.trials) {
            XCTAssertEqual(a.validationDice!, b.validationDice!, accuracy: 1e-5, file: file, line: line)
            for (x, y) in zip(a.epochLosses, b.epochLosses) { XCTAssertEqual(x, y, accuracy: 1e-5, file: file, line: line) }
        }
        let (first, second) = (direct.head.stateDict(), stored.head.stateDict())
        XCTAssertEqual(Set(first.keys), Set(second.keys), file: file, line: line)
        for key in first.keys.sorted() { assertClose(second[key]!, first[key]!, tolerance: 1e-5, key, file: file, line: line) }
        XCTAssertEqual(direct.testCases.map(\.id), stored.testCases.map(\.id), file: file, line: line)
        for (a, b) in zip(direct.testCases, stored.testCases) {
            XCTAssertEqual(a.scores.meanDice!, b.scores.meanDice!, accuracy: 1e-6, a.id, file: file, line: line)
        }
    }

    /// Volumes: the per-slice grids (kept for the last of 2 blocks) line up with the cases' axial slices.
    func testVolumesFromStoredGridsTrainAsFromTheBackbone() throws {
        let folder = try Fixtures.temporaryDirectory(removedAfter: self)
        let catalog = try SegmentationTestData.writeDecathlon(count: 4, in: folder.appendingPathComponent("data"))
        let backbone = try SegmentationTestData.tinyBackbone()
        let store = try PatchGridStoreWriter(backbone: backbone, blocks: 2).write(catalog, to: folder.appendingPathComponent("store"))
        XCTAssertTrue(store.plan.sliceFeatures)
        try assertSameOutcome(catalog, store: store, backbone: backbone, kind: .featureGrids(lastBlocks: 1)) {
            try LinearDecoder(embedDimension: 64, classes: 3, generator: &$0)
        }
    }

    /// 2D images: the U-Net's five grids come from the store's `[5, N, D]` rows, oldest block first.
    func testUNetFromStoredGridsTrainsAsFromTheBackbone() throws {
        let folder = try Fixtures.temporaryDirectory(removedAfter: self)
        let catalog = try SegmentationTestData.writeMontgomery(count: 8, in: folder.appendingPathComponent("data"))
        let backbone = SegmentationTestData.fiveBlockBackbone()
        let store = try PatchGridStoreWriter(backbone: backbone, blocks: 5).write(catalog, to: folder.appendingPathComponent("store"))
        let unet = try UNetDecoderConfiguration(embedDimension: 32, classes: 2)
        try assertSameOutcome(catalog, store: store, backbone: backbone, kind: .featureGrids(lastBlocks: 5)) {
            try UNetDecoder(configuration: unet, generator: &$0)
        }
    }

    /// A store written before several blocks were kept (`patch_grid` `[N, D]`) serves a linear decoder.
    func testOlderSingleBlockStoreServesTheLinearDecoder() throws {
        let folder = try Fixtures.temporaryDirectory(removedAfter: self)
        let catalog = try SegmentationTestData.writeMontgomery(count: 8, in: folder.appendingPathComponent("data"))
        let backbone = try SegmentationTestData.tinyBackbone()
        let store = try PatchGridStoreWriter(backbone: backbone, blocks: 2, legacyLayout: true).write(catalog, to: folder.appendingPathComponent("store"))
        XCTAssertEqual(try PatchGridFeature(plan: store.plan, store: "store")?.blocks, 1)
        try assertSameOutcome(catalog, store: store, backbone: backbone, kind: .featureGrids(lastBlocks: 1)) {
            try LinearDecoder(embedDimension: 64, classes: 2, generator: &$0)
        }
    }

    /// Each mismatch is refused with the store named and the difference given.
    func testMismatchedStoresAreRefused() throws {
        let folder = try Fixtures.temporaryDirectory(removedAfter: self)
        let images = try SegmentationTestData.writeMontgomery(count: 2, in: folder.appendingPathComponent("images"))
        let volumes = try SegmentationTestData.writeDecathlon(count: 1, in: folder.appendingPathComponent("volumes"))
        let backbone = try SegmentationTestData.tinyBackbone()
        let base = PatchGridStoreWriter(backbone: backbone)
        func refused(_ change: (inout PatchGridStoreWriter) -> Void, catalog: DatasetCatalog? = nil, kind: SegmentationInputKind = .featureGrids(lastBlocks: 1),
                     mentioning phrase: String, line: UInt = #line) throws {
            var writer = base
            change(&writer)
            let url = folder.appendingPathComponent(UUID().uuidString)
            let store = try writer.write(catalog ?? images, to: url)
            XCTAssertThrowsError(try StoredPatchGrids(store: store, requirements: try requirements(catalog ?? images, backbone: backbone, kind: kind)),
                                 line: line) { error in
                XCTAssertTrue("\(error)".contains(url.path) && "\(error)".contains(phrase), "\(error)", line: line)
            }
        }
        try refused({ $0.checkpointSHA256 = String(repeating: "cd", count: 32) }, mentioning: "checkpoint SHA-256 \(String(repeating: "cd", count: 32)) vs \(checkpoint)")
        try refused({ $0.preprocessing = "minmax > grey3 > resize[28,square,bilinear-aa]" }, mentioning: "preprocessing 'minmax > grey3 > resize[28,square,bilinear-aa]' vs")
        try refused({ $0.size = 14 }, mentioning: "input size 14 vs 28")
        try refused({ $0.normed = false }, mentioning: "blocks not normed")
        try refused({ $0.dataset = "other" }, mentioning: "dataset 'other' vs 'montgomery'")
        try refused({ $0.keepGrids = false }, mentioning: "no patch grids (patch_tokens=mean")
        try refused({ $0.blocks = 2 }, kind: .featureGrids(lastBlocks: 5), mentioning: "the grids of the last 2 blocks, but the decoder reads the last 5")
        try refused({ $0.sliceFeatures = false }, catalog: volumes, mentioning: "no per-slice features, which volumes need")
        XCTAssertThrowsError(try requirements(images, backbone: backbone, kind: .images)) { error in
            XCTAssertTrue("\(error)".contains("a feature store holds patch grids"), "\(error)")
        }
    }

    /// Items skipped at extraction or absent from the store, and a volume whose stored slices are not
    /// its case's, are errors naming them; stored grids cannot be augmented.
    func testMissingItemsSliceCountsAndAugmentationAreRefused() throws {
        let folder = try Fixtures.temporaryDirectory(removedAfter: self)
        let catalog = try SegmentationTestData.writeDecathlon(count: 4, in: folder.appendingPathComponent("data"))
        let backbone = try SegmentationTestData.tinyBackbone()
        let parts = try SegmentationTestData.parts(catalog, validation: 0.25, test: 0.25)
        let (train, validation, test) = (parts[.train]!, parts[.validation]!, parts[.test]!)
        func run(_ writer: PatchGridStoreWriter, catalog stored: DatasetCatalog = catalog) throws -> SegmentationExperiment<LinearDecoder>.Outcome {
            let store = try writer.write(stored, to: folder.appendingPathComponent(UUID().uuidString))
            let grids = try StoredPatchGrids(store: store, requirements: try requirements(catalog, backbone: backbone, kind: .featureGrids(lastBlocks: 1)))
            return try experiment(catalog, backbone: backbone, kind: .featureGrids(lastBlocks: 1), grids: grids) {
                try LinearDecoder(embedDimension: 64, classes: 3, generator: &$0)
            }.run(train: train, validation: validation, test: test)
        }
        var writer = PatchGridStoreWriter(backbone: backbone)
        writer.skipped = [test[0].id]
        XCTAssertThrowsError(try run(writer)) { error in
            XCTAssertTrue("\(error)".contains("no grids of 1 item of the split: \(test[0].id) (skipped at extraction: cannot be read)"), "\(error)")
        }
        let subset = DatasetCatalog(name: catalog.name, modality: catalog.modality, labelSpace: catalog.labelSpace,
                                    items: catalog.items.filter { $0.id != validation[0].id }, holdsVolumes: true)
        XCTAssertThrowsError(try run(PatchGridStoreWriter(backbone: backbone), catalog: subset)) { error in
            XCTAssertTrue("\(error)".contains("\(validation[0].id) (not in the store)"), "\(error)")
        }
        writer = PatchGridStoreWriter(backbone: backbone)
        writer.shortened = [train[1].id]
        XCTAssertThrowsError(try run(writer)) { error in
            XCTAssertTrue("\(error)".contains("item \(train[1].id) has 5 slices in the feature store, but its case has 6 axial slices"), "\(error)")
        }

        let store = try PatchGridStoreWriter(backbone: backbone).write(catalog, to: folder.appendingPathComponent("augmented"))
        let grids = try StoredPatchGrids(store: store, requirements: try requirements(catalog, backbone: backbone, kind: .featureGrids(lastBlocks: 1)))
        let settings = try SegmentationTrainingConfiguration(learningRates: [1e-3], epochs: 1, batchSize: 2, augmentation: .segmentation)
        let trainer = SegmentationTrainer(configuration: settings, encoder: try SegmentationInputEncoder(kind: .featureGrids(lastBlocks: 1), backbone: backbone, context: context),
                                          grids: grids) { try LinearDecoder(embedDimension: 64, classes: 3, generator: &$0) }
        let reader = try SegmentationCaseReader(classes: catalog.labelSpace.names, pipeline: .study(size: 28, modality: .ct))
        XCTAssertThrowsError(try trainer.trainingSet([try reader.read(train[0])])) { error in
            XCTAssertTrue("\(error)".contains("stored patch grids cannot be augmented"), "\(error)")
        }
    }

    /// A case's inputs are the extraction's: `PreprocessingPipeline.images(of:)` of the file, so a
    /// multi-frame MRI volume is clipped over all its frames (as a store made from it), while its masks
    /// follow frame 0's slices.
    func testCaseInputsAreTheExtractionsForMultiFrameVolumes() throws {
        let folder = try Fixtures.temporaryDirectory(removedAfter: self)
        let size = [12, 10, 3], count = 360
        let first = (0..<count).map { Float($0 % 37) }, second = (0..<count).map { Float(500 + ($0 * 13) % 900) }
        let image = Volume(size: size, frames: 2, voxels: first + second, spacing: [1, 1, 2])
        let labels = (0..<count).map { Float($0 % 12 < 5 ? 1 : 0) }
        let imageURL = folder.appendingPathComponent("mr.nii.gz"), maskURL = folder.appendingPathComponent("mr_label.nii.gz")
        try NIfTIWriter.write(image, to: imageURL, as: .float32)
        try NIfTIWriter.writeLabelMap(Volume(size: size, voxels: labels, spacing: [1, 1, 2], storedType: "uint8"), to: maskURL)
        let pipeline = PreprocessingPipeline.study(size: 14, modality: .mri)
        let loaded = try SegmentationCaseReader(classes: ["background", "organ"], pipeline: pipeline)
            .read(DatasetItem(id: "mr", url: imageURL, patient: "p", masks: [maskURL]))
        let extracted = try pipeline.images(of: MedicalImageFile.read(contentsOf: imageURL).content)
        XCTAssertEqual(loaded.inputs.map(\.pixels), extracted.map(\.pixels))
        XCTAssertEqual(loaded.inputLabels.count, 3)
        XCTAssertNotEqual(try pipeline.slices(of: image.frame(0), axis: .axial).map(\.pixels), extracted.map(\.pixels),
                          "frame 0 alone is clipped differently; the test would not tell the two apart")
    }
}
