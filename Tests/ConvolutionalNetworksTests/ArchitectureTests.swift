import Checkpoints
import ConvolutionalNetworks
import Foundation
import MedicalImaging
import TensorCore
import TensorKernels
import TestSupport
import XCTest

/// Key inference on the key/shape lists of torchvision's full-size models, preset checks, bad input,
/// and the preprocessing preset.
final class ArchitectureTests: XCTestCase {
    /// torchvision builder name → key → shape (scripts/make_cnn_fixtures.py).
    private func fullSizeShapes() throws -> [String: [String: [Int]]] {
        try JSONDecoder().decode([String: [String: [Int]]].self, from: Data(contentsOf: Fixtures.url("cnn/architectures.json")))
    }

    func testEveryPresetIsInferredFromItsFullSizeKeys() throws {
        let shapes = try fullSizeShapes()
        XCTAssertEqual(Set(shapes.keys), Set(ConvolutionalArchitecture.presets.map(\.name)))
        for (name, architecture) in ConvolutionalArchitecture.presets {
            let keys = try XCTUnwrap(shapes[name])
            XCTAssertEqual(try ConvolutionalArchitecture(inferringFrom: keys, source: name), architecture, name)
            XCTAssertEqual(try ConvolutionalArchitecture(inferringFrom: keys, preset: architecture, source: name), architecture, name)
            XCTAssertEqual(architecture.presetName, name)
        }
    }

    /// The keys and shapes of a preset are exactly the full-size model's, less its head and batch-norm counters.
    func testParameterShapesAreThoseOfTheFullSizeModels() throws {
        let shapes = try fullSizeShapes()
        for (name, architecture) in ConvolutionalArchitecture.presets {
            let head = name.hasPrefix("resnet") ? "fc." : name.hasPrefix("densenet") ? "classifier." : "classifier.6."
            let expected = try XCTUnwrap(shapes[name]).filter { !$0.key.hasPrefix(head) && !$0.key.hasSuffix("num_batches_tracked") }
            let actual = Dictionary(uniqueKeysWithValues: architecture.parameterShapes.map { ($0.key, $0.shape) })
            XCTAssertEqual(actual, expected, name)
            XCTAssertEqual(architecture.requiredKeys.count, expected.count, name)
        }
    }

    /// torchvision 0.14's parameter counts (`sum(p.numel() for p in model.parameters())`) less the head.
    func testStudyPresetsHaveTorchvisionsParameterCountsAndA7x7LastStageAt224() throws {
        for (name, count) in [("resnet152", 60_192_808 - 2_049_000), ("densenet201", 20_013_928 - 1_921_000), ("vgg19", 143_667_240 - 4_097_000)] {
            let architecture = try ConvolutionalArchitecture(preset: name)
            XCTAssertEqual(architecture.parameterCount, count, name)
            XCTAssertEqual(architecture.lastStageSide(inputSide: 224), 7, name)
        }
    }

    func testStudyPresetsHaveTheirDepthsAndStages() throws {
        XCTAssertEqual(try ConvolutionalArchitecture(preset: "resnet152"), .resnet(block: .bottleneck, blocks: [3, 8, 36, 3]))
        XCTAssertEqual(try ConvolutionalArchitecture(preset: "DenseNet201"), .densenet(layers: [6, 12, 48, 32]))
        XCTAssertEqual(try ConvolutionalArchitecture(preset: "vgg19").stageNames, ["pool1", "pool2", "pool3", "pool4", "pool5"])
        XCTAssertEqual(try ConvolutionalArchitecture(preset: "resnet152").stageNames, ["layer1", "layer2", "layer3", "layer4"])
        XCTAssertThrowsError(try ConvolutionalArchitecture(preset: "resnet200")) { error in
            XCTAssertTrue("\(error)".contains("unknown convolutional preset resnet200"), "\(error)")
        }
    }

    func testACheckpointOfAnotherFamilyNamesThePresetTheFamilyAndAKey() throws {
        let shapes = try fullSizeShapes()
        XCTAssertThrowsError(try ConvolutionalArchitecture(inferringFrom: try XCTUnwrap(shapes["resnet152"]),
                                                           preset: try ConvolutionalArchitecture(preset: "densenet201"), source: "r.pth")) { error in
            XCTAssertEqual("\(error)", "r.pth does not fit preset densenet201: its keys look like resnet152 (missing key features.conv0.weight; unexpected key bn1.bias)")
        }
        XCTAssertThrowsError(try ConvolutionalArchitecture(inferringFrom: try XCTUnwrap(shapes["vgg19_bn"]),
                                                           preset: try ConvolutionalArchitecture(preset: "vgg19"), source: "v.pth")) { error in
            XCTAssertEqual("\(error)", "v.pth does not fit preset vgg19: its keys look like vgg19_bn (missing key features.2.weight; unexpected key features.1.bias)")
        }
    }

    func testATinyModelWithAPresetIsRefusedWithItsLayout() throws {
        XCTAssertThrowsError(try ConvolutionalBackbone(contentsOf: Fixtures.url("cnn/resnet_bottleneck.pth"),
                                                       preset: ConvolutionalArchitecture(preset: "resnet152"))) { error in
            let message = "\(error)"
            XCTAssertTrue(message.contains("does not fit preset resnet152: its keys look like ResNet (bottleneck blocks [2, 1, 1, 1])"), message)
            XCTAssertTrue(message.contains("missing key layer1.2.conv1.weight"), message)
        }
    }

    func testKeysOfNoFamilyAreRefused() throws {
        let shapes = ["blocks.0.attn.qkv.weight": [12, 4], "cls_token": [1, 1, 4]]
        XCTAssertThrowsError(try ConvolutionalArchitecture(inferringFrom: shapes, source: "vit.pth")) { error in
            XCTAssertTrue("\(error)".hasPrefix("vit.pth: the keys fit no torchvision ResNet, DenseNet or VGG"), "\(error)")
        }
        XCTAssertThrowsError(try ConvolutionalArchitecture(inferringFrom: shapes, preset: .densenet(layers: [6, 12, 48, 32]), source: "vit.pth")) { error in
            XCTAssertTrue("\(error)".contains("its keys fit no torchvision ResNet, DenseNet or VGG (missing key features.conv0.weight; unexpected key blocks.0.attn.qkv.weight)"), "\(error)")
        }
    }

    func testLeftOverAndMisshapenTensorsAreReported() throws {
        let stateDict = try CheckpointFile.read(contentsOf: Fixtures.url("cnn/resnet_basic.pth"))
        var extra = stateDict.tensors
        extra["layer2.0.extra.weight"] = Tensor(shape: [1])
        XCTAssertThrowsError(try ConvolutionalBackbone(stateDict: StateDict(extra, source: "extra.pth"))) { error in
            XCTAssertEqual("\(error)", "extra.pth: unexpected keys (1): layer2.0.extra.weight")
        }
        var misshapen = stateDict.tensors
        misshapen["layer1.0.bn1.running_var"] = Tensor(shape: [5])
        XCTAssertThrowsError(try ConvolutionalBackbone(stateDict: StateDict(misshapen, source: "bad.pth"))) { error in
            XCTAssertEqual("\(error)", "bad.pth: layer1.0.bn1.running_var has shape [5], expected [4]")
        }
        var missing = stateDict.tensors
        missing["layer1.0.conv2.weight"] = nil
        XCTAssertThrowsError(try ConvolutionalBackbone(stateDict: StateDict(missing, source: "cut.pth"))) { error in
            XCTAssertEqual("\(error)", "cut.pth: missing key layer1.0.conv2.weight")
        }
    }

    func testInputsThatDoNotFitAreRefused() throws {
        let model = try ConvolutionalBackbone(contentsOf: Fixtures.url("cnn/vgg.pth"))
        XCTAssertThrowsError(try model.features(Tensor(shape: [1, 1, 64, 64]), context: .serial)) { error in
            XCTAssertTrue("\(error)".contains("takes 3-channel images"), "\(error)")
        }
        XCTAssertThrowsError(try model.features(Tensor(shape: [3, 64, 64]), context: .serial))
        XCTAssertThrowsError(try model.features(Tensor(shape: [1, 3, 8, 8]), context: .serial)) { error in
            XCTAssertTrue("\(error)".contains("smaller than the 2×2 pooling window"), "\(error)")
        }
    }

    func testEvaluationPipelineIsTorchvisionsImageNetTransform() {
        XCTAssertEqual(ConvolutionalArchitecture.evaluationPipeline(modality: .ct).description,
                       "window[-1024,600] > minmax > grey3 > resize[224,short256-crop,bilinear-aa] > imagenet")
    }
}
