import LinearProbes
import TensorCore
import TensorKernels
import Training
import XCTest

final class LinearProbeInputTests: XCTestCase {
    private func features(items: Int, blocks: Int = 2, width: Int = 3, scale: Float = 1) throws -> ProbeFeatures {
        let count = items * blocks * width
        return try ProbeFeatures(classTokens: Tensor(shape: [items, blocks, width], values: (0..<count).map { scale * sin(Float($0)) }),
                                 patchMeans: Tensor(shape: [items, blocks, width], values: (0..<count).map { scale * cos(Float($0)) }))
    }

    private func assertThrows(_ fragment: String, _ body: () throws -> Void, line: UInt = #line) {
        XCTAssertThrowsError(try body(), line: line) { error in
            XCTAssertTrue("\(error)".contains(fragment), "'\(error)' does not mention '\(fragment)'", line: line)
        }
    }

    func testDINOv2GridOrderAndScaledRates() throws {
        let grid = try LinearProbeConfiguration.dinov2Grid(batchSize: 128)
        XCTAssertEqual(grid.count, 52)
        XCTAssertEqual(grid[0].description, "classifier_1_blocks_avgpool_False_lr_0_00001")
        XCTAssertEqual(grid[13].usesPatchMean, true)
        XCTAssertEqual(grid[26].blocks, 4)
        XCTAssertEqual(grid[51].learningRate, 0.05, accuracy: 1e-15)
    }

    func testBatchOrderCoversEveryItemOncePerEpoch() throws {
        let dropped = try BatchOrder(count: 10, batchSize: 4, epochs: 2, seed: 3, partialBatch: .drop)
        XCTAssertEqual(dropped.batches.map(\.count), [4, 4, 4, 4])
        let kept = try BatchOrder(count: 10, batchSize: 4, epochs: 2, seed: 3, partialBatch: .keep)
        XCTAssertEqual(kept.batches.map(\.count), [4, 4, 2, 4, 4, 2])
        XCTAssertEqual(kept.batches[0..<3].flatMap { $0 }.sorted(), Array(0..<10))
        XCTAssertNotEqual(kept.batches[0], kept.batches[3], "each epoch is reshuffled")
        assertThrows("no full batch") { _ = try BatchOrder(count: 3, batchSize: 4, epochs: 1, seed: 0, partialBatch: .drop) }
    }

    func testNormalInitialisationHasTheReferenceSpread() throws {
        let configuration = try LinearProbeConfiguration(blocks: 1, usesPatchMean: false, learningRate: 1)
        let head = try LinearHead.normalInitialised([configuration], inputBlocks: 1, width: 5_001, classes: 20, seed: 9)[0]
        let values = head.weight.scalars.map(Double.init)
        let mean = values.reduce(0, +) / Double(values.count)
        let deviation = (values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(values.count)).squareRoot()
        XCTAssertEqual(mean, 0, accuracy: 2e-4)
        XCTAssertEqual(deviation, 0.01, accuracy: 2e-4)
        XCTAssertEqual(head.bias.scalars, [Float](repeating: 0, count: 20))
    }

    /// Patch means narrower than the class tokens (VGG: pool5 512 against 4096) make a head input of
    /// `b·D + C`: the last blocks' class tokens, then the last block's patch mean.
    func testPatchMeansOfAnotherWidthFollowTheClassTokens() throws {
        let (items, blocks, width, patchWidth) = (4, 2, 3, 2)
        let cls = Tensor(shape: [items, blocks, width], values: (0..<items * blocks * width).map(Float.init))
        let means = Tensor(shape: [items, blocks, patchWidth], values: (0..<items * blocks * patchWidth).map { -Float($0) })
        let data = try ProbeFeatures(classTokens: cls, patchMeans: means)
        XCTAssertEqual(data.patchWidth, 2)
        let matrix = try data.matrix(blocks: 1, usesPatchMean: true)
        XCTAssertEqual(matrix.shape, [items, width + patchWidth])
        XCTAssertEqual(Array(matrix.scalars[5..<10]), [9, 10, 11, -6, -7], "item 1: block 1's class token, then block 1's patch mean")
        XCTAssertEqual(try data.rows([3, 1]).patchMeans?.scalars, [-12, -13, -14, -15, -4, -5, -6, -7])
        let head = try LinearProbeConfiguration(blocks: 2, usesPatchMean: true, learningRate: 0.1)
        let heads = try LinearProbeTrainer.train([head], features: data, targets: .multiClass(labels: [0, 1, 0, 1], classes: 2),
                                                 options: LinearProbeTrainingOptions(epochs: 1, batchSize: 2), context: .serial)
        XCTAssertEqual(heads[0].weight.shape, [2, blocks * width + patchWidth])
        assertThrows("same items and blocks") {
            _ = try ProbeFeatures(classTokens: cls, patchMeans: Tensor(shape: [items, 1, patchWidth], repeating: 0))
        }
    }

    func testBadInputThrowsClearErrors() throws {
        let data = try features(items: 8)
        let targets = ProbeTargets.multiClass(labels: [0, 1, 0, 1, 0, 1, 0, 1], classes: 2)
        let options = LinearProbeTrainingOptions(epochs: 1, batchSize: 4)
        let context = ComputeContext.serial
        assertThrows("learning rate") { _ = try LinearProbeConfiguration(blocks: 1, usesPatchMean: false, learningRate: 0) }
        let fourBlocks = try LinearProbeConfiguration(blocks: 4, usesPatchMean: true, learningRate: 0.1)
        assertThrows("reads 4 blocks") { _ = try LinearProbeTrainer.train([fourBlocks], features: data, targets: targets, options: options, context: context) }
        let one = try LinearProbeConfiguration(blocks: 1, usesPatchMean: true, learningRate: 0.1)
        assertThrows("labels") {
            _ = try LinearProbeTrainer.train([one], features: data, targets: .multiClass(labels: [0, 1], classes: 2), options: options, context: context)
        }
        assertThrows("0..<2") {
            _ = try LinearProbeTrainer.train([one], features: data, targets: .multiClass(labels: [0, 1, 2, 0, 1, 0, 1, 0], classes: 2),
                                             options: options, context: context)
        }
        assertThrows("[0, 1] or NaN") {
            _ = try LinearProbeTrainer.train([one], features: data, targets: .multiLabel(Tensor(shape: [8, 1], repeating: -1)),
                                             options: options, context: context)
        }
        assertThrows("empty") {
            let empty = try ProbeFeatures(classTokens: Tensor(shape: [0, 2, 3]), patchMeans: Tensor(shape: [0, 2, 3]))
            _ = try LinearProbeTrainer.train([one], features: empty, targets: .multiClass(labels: [], classes: 2), options: options, context: context)
        }
        assertThrows("non-finite") {
            _ = try ProbeFeatures(classTokens: Tensor(shape: [1, 1, 2], values: [0, .infinity]), patchMeans: Tensor(shape: [1, 1, 2]))
        }
    }

    func testDivergingHeadStopsWithItsNameAndStep() throws {
        let data = try features(items: 8, scale: 1e6)
        let targets = ProbeTargets.multiLabel(Tensor(shape: [8, 1], values: [1, 0, 1, 0, 1, 1, 0, 0]))
        let calm = try LinearProbeConfiguration(blocks: 1, usesPatchMean: false, learningRate: 1e-3)
        let wild = try LinearProbeConfiguration(blocks: 2, usesPatchMean: true, learningRate: 1e36)
        assertThrows("head 1 (classifier_2_blocks_avgpool_True") {
            _ = try LinearProbeTrainer.train([calm, wild], features: data, targets: targets,
                                             options: LinearProbeTrainingOptions(epochs: 20, batchSize: 4), context: .serial)
        }
    }

    /// Features of a store that kept class tokens only: heads without the patch mean train and match the
    /// same heads trained with patch means present; a head that reads it is refused, naming the option.
    func testFeaturesWithoutPatchMeansServeClassTokenHeads() throws {
        let full = try features(items: 8)
        let tokensOnly = try ProbeFeatures(classTokens: full.classTokens, patchMeans: nil)
        let targets = ProbeTargets.multiClass(labels: [0, 1, 1, 0, 1, 0, 0, 1], classes: 2)
        let options = LinearProbeTrainingOptions(epochs: 2, batchSize: 4)
        let plain = try LinearProbeConfiguration(blocks: 2, usesPatchMean: false, learningRate: 0.1)
        let withMean = try LinearProbeConfiguration(blocks: 1, usesPatchMean: true, learningRate: 0.1)
        let a = try LinearProbeTrainer.train([plain], features: tokensOnly, targets: targets, options: options, context: .serial)[0]
        let b = try LinearProbeTrainer.train([plain], features: full, targets: targets, options: options, context: .serial)[0]
        XCTAssertEqual(a.weight.scalars, b.weight.scalars)
        assertThrows("--patch-tokens mean") {
            _ = try LinearProbeTrainer.train([withMean], features: tokensOnly, targets: targets, options: options, context: .serial)
        }
        let meanHead = try LinearProbeTrainer.train([withMean], features: full, targets: targets, options: options, context: .serial)[0]
        assertThrows("--patch-tokens mean") { _ = try LinearHead.logits(of: [meanHead], features: tokensOnly, context: .serial) }
        _ = try LinearHead.logits(of: [a], features: tokensOnly, context: .serial)
        assertThrows("with patch means and features without") { _ = try full.appending(tokensOnly) }
    }
}
