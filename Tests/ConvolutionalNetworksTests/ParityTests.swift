import Checkpoints
import ConvolutionalNetworks
import TensorCore
import TensorKernels
import TestSupport
import XCTest

/// Tiny torchvision models (scripts/make_cnn_fixtures.py) against their PyTorch outputs: the pooled
/// features and every stage output, to 1e-4 of the reference's largest magnitude.
final class ParityTests: XCTestCase {
    private let context = ComputeContext(threads: 2)

    private func input() throws -> Tensor {
        try XCTUnwrap(SafetensorsFile.read(contentsOf: Fixtures.url("cnn/input.safetensors"))["input"])
    }

    /// Checks `backbone` on the shared input against `<model>.reference.safetensors`.
    private func assertMatchesReference(_ backbone: ConvolutionalBackbone, model: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let reference = try SafetensorsFile.read(contentsOf: Fixtures.url("cnn/\(model).reference.safetensors"))
        let features = try backbone.features(try input(), includeStages: true, context: context)
        let expected = [("pooled", features.pooled)] + features.stages.map { ($0.name, $0.map) }
        XCTAssertEqual(Set(expected.map(\.0)), Set(reference.tensors.keys), file: file, line: line)
        for (name, actual) in expected {
            let target = try XCTUnwrap(reference[name], file: file, line: line)
            let scale = target.scalars.reduce(Float(1)) { max($0, abs($1)) }
            assertClose(actual, target, tolerance: 1e-4 * scale, "\(model) \(name)", file: file, line: line)
        }
    }

    private func backbone(_ model: String) throws -> ConvolutionalBackbone {
        try ConvolutionalBackbone(contentsOf: Fixtures.url("cnn/\(model).pth"))
    }

    /// The parameter count agrees with the checkpoint's learned tensors (head and batch-norm statistics
    /// left out), and the last stage's width and side with the stage output.
    func testParameterCountAndLastStageShapeAgreeWithTheCheckpointAndOutputs() throws {
        let statistics = ["running_mean", "running_var", "num_batches_tracked"]
        for (model, head) in [("resnet_bottleneck", "fc."), ("resnet_basic", "fc."), ("densenet", "classifier."), ("vgg_bn", "classifier.6."), ("vgg", "classifier.6.")] {
            let stateDict = try CheckpointFile.read(contentsOf: Fixtures.url("cnn/\(model).pth"))
            let learned = stateDict.tensors.filter { key, _ in !key.hasPrefix(head) && !statistics.contains { key.hasSuffix($0) } }
            let backbone = try ConvolutionalBackbone(stateDict: stateDict)
            XCTAssertEqual(backbone.parameterCount, learned.values.reduce(0) { $0 + $1.count }, model)
            let last = try XCTUnwrap(backbone.features(try input(), includeStages: true, context: context).stages.last).map
            let side = backbone.architecture.lastStageSide(inputSide: try input().shape[2])
            XCTAssertEqual(Array(last.shape.dropFirst()), [backbone.lastStageChannels, side, side], model)
        }
    }

    func testResNetWithBottleneckBlocksMatchesTorchvision() throws {
        let model = try backbone("resnet_bottleneck")
        XCTAssertEqual(model.architecture, .resnet(block: .bottleneck, blocks: [2, 1, 1, 1]))
        XCTAssertEqual(model.featureDimension, 128)
        try assertMatchesReference(model, model: "resnet_bottleneck")
    }

    func testResNetWithBasicBlocksMatchesTorchvision() throws {
        let model = try backbone("resnet_basic")
        XCTAssertEqual(model.architecture, .resnet(block: .basic, blocks: [1, 2, 1, 1]))
        try assertMatchesReference(model, model: "resnet_basic")
    }

    func testDenseNetMatchesTorchvision() throws {
        let model = try backbone("densenet")
        XCTAssertEqual(model.architecture, .densenet(layers: [2, 2, 2, 2]))
        try assertMatchesReference(model, model: "densenet")
    }

    func testVGGWithBatchNormMatchesTorchvision() throws {
        let model = try backbone("vgg_bn")
        XCTAssertEqual(model.architecture, .vgg(convolutions: [2, 2, 4, 4, 4], batchNorm: true))
        try assertMatchesReference(model, model: "vgg_bn")
    }

    func testVGGWithoutBatchNormMatchesTorchvision() throws {
        let model = try backbone("vgg")
        XCTAssertEqual(model.architecture, .vgg(convolutions: [2, 2, 4, 4, 4], batchNorm: false))
        try assertMatchesReference(model, model: "vgg")
    }

    /// torchvision's released DenseNet checkpoints name the layers' modules `norm.1`, `conv.2`, …
    func testDenseNetLoadsTheLegacyKeyNamesOfReleasedCheckpoints() throws {
        let stateDict = try CheckpointFile.read(contentsOf: Fixtures.url("cnn/densenet.pth"))
        let legacy = Dictionary(uniqueKeysWithValues: stateDict.tensors.map { key, tensor in
            (key.replacing(/denselayer(\d+)\.(norm|conv)([12])\./) { "denselayer\($0.output.1).\($0.output.2).\($0.output.3)." }, tensor)
        })
        XCTAssertTrue(legacy.keys.contains("features.denseblock1.denselayer1.norm.1.weight"))
        try assertMatchesReference(try ConvolutionalBackbone(stateDict: StateDict(legacy, source: "legacy densenet")), model: "densenet")
    }

    func testSafetensorsAndDataParallelPrefixLoadAsThePyTorchCheckpoint() throws {
        let stateDict = try CheckpointFile.read(contentsOf: Fixtures.url("cnn/resnet_bottleneck.pth"))
        let prefixed = StateDict(Dictionary(uniqueKeysWithValues: stateDict.tensors.map { ("module." + $0.key, $0.value) }), source: "prefixed")
        let url = try Fixtures.temporaryDirectory(removedAfter: self).appendingPathComponent("resnet.safetensors")
        try SafetensorsFile.write(prefixed, to: url)
        try assertMatchesReference(try ConvolutionalBackbone(contentsOf: url), model: "resnet_bottleneck")
    }

    func testStagesAreLeftOutUnlessAskedFor() throws {
        let features = try backbone("resnet_basic").features(try input(), context: .serial)
        XCTAssertTrue(features.stages.isEmpty)
        XCTAssertEqual(features.pooled.shape, [2, 32])
    }
}
