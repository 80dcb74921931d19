import Backbones
import Checkpoints
import ConvolutionalNetworks
import Foundation
import MedicalImaging
import Models
import SegmentAnything
import TensorCore
import TensorKernels
import TestSupport
import XCTest

/// Every family through the common interface: the family found from the keys, the outputs equal to the
/// reference library's (the fixtures of each family's own parity tests), the layer and size rules, and
/// checkpoints refused when they do not fit the preset named.
final class BackboneTests: XCTestCase {
    private let context = ComputeContext(threads: 2)

    func testDINOv2IsInferredAndMatchesTheOfficialCode() throws {
        let backbone = try Backbone(contentsOf: Fixtures.url("dinov2/plain/model.pth"))
        XCTAssertEqual(backbone.family, .dinov2)
        XCTAssertNotNil(backbone.visionTransformer)
        let directory = "dinov2/plain/native/"
        let output = try backbone.forward(try Fixtures.array(directory + "input.npy"), lastLayers: 2, context: context)
        assertClose(output.cls, try Fixtures.array(directory + "cls.npy"), tolerance: 1e-4)
        assertClose(output.patches, try Fixtures.array(directory + "patch.npy"), tolerance: 1e-4)
        assertClose(Tensor.stack(output.layers.map(\.cls)), try Fixtures.array(directory + "layers_last2_cls.npy"), tolerance: 1e-4)
        XCTAssertEqual(output.layers.map(\.index), [backbone.layerCount - 2, backbone.layerCount - 1])
        XCTAssertThrowsError(try backbone.forward(try Fixtures.array(directory + "input.npy"), lastLayers: backbone.layerCount + 1, context: context))
    }

    /// Every Vision Transformer family of the study through `Backbone`, named or inferred from the keys:
    /// the final CLS and patch tokens equal their reference library's (scripts/make_vit_family_fixtures.py).
    func testEveryVisionTransformerFamilyMatchesItsReference() throws {
        let cases: [(folder: String, file: String, named: BackboneFamily?, expected: BackboneFamily)] = [
            ("hf_vit", "model.safetensors", nil, .vit), ("timm_vit", "model.pth", nil, .vit), ("hf_clip", "model.safetensors", nil, .clip),
            ("open_clip", "model.pth", nil, .openclip), ("hf_mae", "model.safetensors", .mae, .mae), ("hf_msn", "pytorch_model.bin", .msn, .msn),
        ]
        for (folder, file, named, expected) in cases {
            let backbone = try Backbone(contentsOf: Fixtures.url("vit-families/\(folder)/\(file)"), family: named, heads: 2)
            XCTAssertEqual(backbone.family, expected, folder)
            let directory = "vit-families/\(folder)/native/"
            let output = try backbone.forward(try Fixtures.array(directory + "input.npy"), lastLayers: 1, context: context)
            assertClose(output.cls, try Fixtures.array(directory + "cls.npy"), tolerance: 1e-4, folder)
            assertClose(output.patches, try Fixtures.array(directory + "patch.npy"), tolerance: 1e-4, folder)
            assertClose(output.layers[0].cls, output.cls, tolerance: 0, folder)
        }
        XCTAssertEqual(try Backbone(contentsOf: Fixtures.url("vit-families/hf_mae/model.safetensors"), heads: 2).family, .vit,
                       "Hugging Face ViT names are read as the supervised ViT unless a family or preset says otherwise")
    }

    /// A ResNet: the pooled features as `cls`, the last stage's map as tokens `[B, h·w, C]`, one layer.
    func testResNetGivesPooledFeaturesAndTheLastStageAsTokens() throws {
        let backbone = try Backbone(contentsOf: Fixtures.url("cnn/resnet_bottleneck.pth"))
        XCTAssertEqual(backbone.family, .resnet)
        XCTAssertNil(backbone.visionTransformer)
        XCTAssertEqual(backbone.layerCount, 1)
        let input = try XCTUnwrap(SafetensorsFile.read(contentsOf: Fixtures.url("cnn/input.safetensors"))["input"])
        let reference = try SafetensorsFile.read(contentsOf: Fixtures.url("cnn/resnet_bottleneck.reference.safetensors"))
        let output = try backbone.forward(input, lastLayers: 1, context: context)
        let pooled = try XCTUnwrap(reference["pooled"]), map = try XCTUnwrap(reference["layer4"])
        assertClose(output.cls, pooled, tolerance: 1e-4 * pooled.scalars.map(abs).max()!)
        let (batch, channels, side) = (map.shape[0], map.shape[1], map.shape[2])
        XCTAssertEqual(output.patches.shape, [batch, side * side, channels])
        XCTAssertEqual(backbone.gridSide(inputSize: input.shape[2]), side)
        XCTAssertEqual([backbone.featureWidth, backbone.patchWidth], [channels, channels])
        for (b, c, p) in [(0, 0, 0), (1, channels - 1, side * side - 1), (1, 3, side * side / 2)] {
            XCTAssertEqual(output.patches[b, p, c], map[b, c, p / side, p % side], accuracy: 1e-4 * map.scalars.map(abs).max()!)
        }
        XCTAssertEqual(output.layers.count, 1)
        XCTAssertThrowsError(try backbone.forward(input, lastLayers: 2, context: context)) { error in
            XCTAssertTrue("\(error)".contains("gives 1 layer of features"), "\(error)")
        }
    }

    /// VGG's class-like vector (4096-wide classifier layer) and patch tokens (pool5, 512-wide at full size) differ in width.
    func testVGGPatchTokensHaveTheLastStagesWidth() throws {
        let backbone = try Backbone(contentsOf: Fixtures.url("cnn/vgg.pth"))
        XCTAssertEqual(backbone.family, .vgg)
        let input = try XCTUnwrap(SafetensorsFile.read(contentsOf: Fixtures.url("cnn/input.safetensors"))["input"])
        let output = try backbone.forward(input, context: context)
        XCTAssertEqual(output.cls.shape, [input.shape[0], backbone.featureWidth])
        XCTAssertEqual(output.patches.shape.last, backbone.patchWidth)
        XCTAssertNotEqual(backbone.featureWidth, backbone.patchWidth)
        XCTAssertTrue(output.layers.isEmpty)
    }

    /// SAM: the mean of the neck over the grid as `cls`, its tokens as patches; only its own size is taken.
    func testSAMGivesItsPooledNeckAndTakesOnlyItsSize() throws {
        let backbone = try Backbone(contentsOf: Fixtures.url("sam/sam_tiny.pth"))
        XCTAssertEqual(backbone.family, .sam)
        XCTAssertEqual(backbone.droppedKeys.count, 3)
        XCTAssertEqual(backbone.defaultInputSize, 112)
        let reference = try SafetensorsFile.read(contentsOf: Fixtures.url("sam/reference.safetensors"))
        let input = try XCTUnwrap(reference["input"]), neck = try XCTUnwrap(reference["neck"])
        let output = try backbone.forward(input, lastLayers: 1, context: context)
        let (batch, channels, side) = (neck.shape[0], neck.shape[1], neck.shape[2])
        let expectedCLS = Tensor(shape: [batch, channels], values: (0..<batch * channels).map { index in
            let (b, c) = (index / channels, index % channels)
            return (0..<side * side).map { neck[b, c, $0 / side, $0 % side] }.reduce(0, +) / Float(side * side)
        })
        assertClose(output.cls, expectedCLS, tolerance: 1e-4)
        XCTAssertEqual(output.patches.shape, [batch, side * side, channels])
        XCTAssertNoThrow(try backbone.checkInputSize(112))
        XCTAssertThrowsError(try backbone.checkInputSize(224)) { error in
            XCTAssertTrue("\(error)".contains("112×112 inputs only"), "\(error)")
        }
    }

    /// A checkpoint of one family named with another's preset, or of another size, is refused naming both.
    func testACheckpointThatDoesNotFitThePresetIsRefused() throws {
        let cases: [(file: String, preset: String, mentions: String)] = [
            ("sam/sam_tiny.pth", "sam-vit-l", "does not fit preset sam-vit-l"),
            ("dinov2/plain/model.pth", "dinov2-vits14", "does not fit preset dinov2-vits14"),
            ("cnn/resnet_bottleneck.pth", "resnet152", "does not fit preset resnet152"),
            ("cnn/resnet_bottleneck.pth", "dinov2-vits14", "resnet_bottleneck.pth"),
            ("sam/sam_tiny.pth", "clip-vit-l14", "sam_tiny.pth"),
            ("dinov2/plain/model.pth", "densenet201", "fit no torchvision"),
        ]
        for (file, name, mentions) in cases {
            let preset = try XCTUnwrap(BackboneCatalog.preset(named: name))
            XCTAssertThrowsError(try Backbone(contentsOf: Fixtures.url(file), preset: preset), "\(file) as \(name)") { error in
                XCTAssertTrue("\(error)".contains(mentions), "\(file) as \(name): \(error)")
            }
        }
    }

    func testKeysOfNoFamilyAreRefusedNamingTheFamiliesTried() {
        XCTAssertThrowsError(try Backbone(contentsOf: Fixtures.url("cnn/input.safetensors"))) { error in
            for text in ["input.safetensors", "holds no backbone", "Hugging Face CLIPVisionModel", "torchvision ResNet", "SAM"] {
                XCTAssertTrue("\(error)".contains(text), "\(error)")
            }
        }
    }

    func testInputSizesAreCheckedPerFamily() throws {
        let dinov2 = try Backbone(contentsOf: Fixtures.url("dinov2/plain/model.pth"))
        let patch = try XCTUnwrap(dinov2.visionTransformer).configuration.patchSize
        XCTAssertNoThrow(try dinov2.checkInputSize(16 * patch))
        XCTAssertThrowsError(try dinov2.checkInputSize(16 * patch + 1)) { error in
            XCTAssertTrue("\(error)".contains("not a multiple of the patch size \(patch)"), "\(error)")
        }
        let resnet = try Backbone(contentsOf: Fixtures.url("cnn/resnet_basic.pth"))
        XCTAssertNoThrow(try resnet.checkInputSize(100))
        XCTAssertThrowsError(try resnet.checkInputSize(16))
    }

    /// Each family's evaluation transform, as recorded with features.
    func testEachFamilyHasItsAuthorsPreprocessing() {
        let expected: [BackboneFamily: String] = [
            .dinov2: "minmax > grey3 > resize[224,square,bilinear-aa] > imagenet",
            .vit: "minmax > grey3 > resize[224,square,bilinear-aa] > inception",
            .clip: "minmax > grey3 > resize[224,short224-crop,bicubic-aa] > clip",
            .openclip: "minmax > grey3 > resize[224,short224-crop,bicubic-aa] > clip",
            .mae: "minmax > grey3 > resize[224,square,bilinear-aa] > imagenet",
            .msn: "minmax > grey3 > resize[224,square,bilinear-aa] > imagenet",
            .sam: "minmax > grey3 > resize[224,square,bilinear-aa] > imagenet",
            .resnet: "minmax > grey3 > resize[224,short256-crop,bilinear-aa] > imagenet",
            .densenet: "minmax > grey3 > resize[224,short256-crop,bilinear-aa] > imagenet",
            .vgg: "minmax > grey3 > resize[224,short256-crop,bilinear-aa] > imagenet",
        ]
        for family in BackboneFamily.allCases {
            let pipeline = family.preprocessing(size: 224, modality: .xray)
            XCTAssertEqual(pipeline.description, expected[family], "\(family)")
            XCTAssertEqual(PreprocessingPipeline(record: pipeline.description), pipeline, "\(family)")
        }
        XCTAssertEqual(BackboneFamily.resnet.preprocessing(size: 448, modality: .xray).description,
                       "minmax > grey3 > resize[448,short512-crop,bilinear-aa] > imagenet")
    }
}
