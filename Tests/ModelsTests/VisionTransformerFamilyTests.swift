import Checkpoints
import Foundation
import Layers
import Models
import TensorCore
import TensorKernels
import TestSupport
import XCTest

/// Parity of the non-DINOv2 Vision Transformer families with their reference libraries on tiny random models
/// (`scripts/make_vit_family_fixtures.py`: width 24, 2 heads, 2 blocks, patch 4, image 16), family inference
/// and refusals.
final class VisionTransformerFamilyTests: XCTestCase {
    let context = ComputeContext(threads: 2)

    func load(_ file: String, family: VisionTransformerFamily? = nil) throws -> LoadedBackbone {
        try LoadedBackbone(contentsOf: Fixtures.url("vit-families/" + file), family: family, heads: 2)
    }

    /// Final-norm CLS and patch tokens, and block 0's raw output, against the reference to 1e-4.
    func checkCases(_ model: VisionTransformer, _ folder: String, cases: [String] = ["native"],
                    file: StaticString = #filePath, line: UInt = #line) throws {
        for name in cases {
            let directory = "vit-families/\(folder)/\(name)/"
            let input = try Fixtures.array(directory + "input.npy")
            let (features, layers) = try model.forward(input, layers: [0], normedLayers: false, context: context)
            for (actual, expected) in [(features.cls, "cls"), (features.patches, "patch"), (layers[0].cls, "block0_cls"),
                                       (layers[0].patches, "block0_patch")] {
                assertClose(actual, try Fixtures.array(directory + expected + ".npy"), tolerance: 1e-4, "\(folder) \(name) \(expected)",
                            file: file, line: line)
            }
        }
    }

    func testSupervisedViTFromHuggingFaceNames() throws {
        let loaded = try load("hf_vit/model.safetensors")
        XCTAssertEqual(loaded.family, .supervised)
        XCTAssertEqual(loaded.keyLayout, .huggingFaceViT)
        let c = loaded.model.configuration
        XCTAssertEqual(c.layerNormEps, 1e-12)
        XCTAssertEqual(c.interpolation, .scaleFactor(offset: 0.1))
        XCTAssertEqual(c.feedForward, .mlp(hidden: 48, activation: .gelu))
        XCTAssertFalse(c.preNorm || c.layerScale || c.hasMaskToken)
        XCTAssertEqual(loaded.droppedKeys, ["pooler.dense.bias", "pooler.dense.weight"])
        try checkCases(loaded.model, "hf_vit", cases: ["native", "24", "nonsquare"])
    }

    func testSupervisedViTFromTimmNames() throws {
        let loaded = try load("timm_vit/model.pth")
        XCTAssertEqual(loaded.family, .supervised, "official names without DINOv2's tokens or LayerScale")
        XCTAssertEqual(loaded.keyLayout, .official)
        XCTAssertEqual(loaded.model.configuration.layerNormEps, 1e-6)
        XCTAssertEqual(loaded.model.configuration.interpolation, .antialiasedSize)
        XCTAssertEqual(loaded.droppedKeys, ["head.bias", "head.weight"])
        try checkCases(loaded.model, "timm_vit", cases: ["native", "24"])
    }

    func testMAEEncoderWithoutMasking() throws {
        XCTAssertEqual(try load("hf_mae/model.safetensors").family, .supervised, "Hugging Face ViT names are supervised unless told")
        let loaded = try load("hf_mae/model.safetensors", family: .mae)
        XCTAssertEqual(loaded.family, .mae)
        XCTAssertEqual(loaded.model.configuration.layerNormEps, 1e-12)
        XCTAssertEqual(loaded.model.configuration.interpolation, .size)
        XCTAssertFalse(loaded.droppedKeys.isEmpty)
        XCTAssertTrue(loaded.droppedKeys.allSatisfy { $0.hasPrefix("decoder.") }, "\(loaded.droppedKeys)")
        try checkCases(loaded.model, "hf_mae")
    }

    func testMSNFromPyTorchBin() throws {
        let loaded = try load("hf_msn/pytorch_model.bin", family: .msn)
        XCTAssertEqual(loaded.format, .pytorch)
        XCTAssertEqual(loaded.model.configuration.layerNormEps, 1e-6)
        XCTAssertEqual(loaded.droppedKeys, ["classifier.bias", "classifier.weight"])
        try checkCases(loaded.model, "hf_msn")
    }

    /// A whole `CLIPModel`: quick GELU, `pre_layrnorm`, a patch embedding without bias; the text tower is dropped.
    func testCLIPVisionTowerOfHuggingFaceCLIPModel() throws {
        let loaded = try load("hf_clip/model.safetensors")
        XCTAssertEqual(loaded.family, .clip)
        let c = loaded.model.configuration
        XCTAssertEqual(c.feedForward, .mlp(hidden: 48, activation: .quickGELU))
        XCTAssertTrue(c.preNorm)
        XCTAssertFalse(c.patchEmbeddingBias)
        XCTAssertNil(loaded.model.patchEmbedding.bias)
        XCTAssertEqual(c.layerNormEps, 1e-5)
        let tower = Set(loaded.droppedKeys.filter { $0.hasPrefix("text_model.") })
        XCTAssertTrue(tower.contains("text_model.embeddings.token_embedding.weight"))
        XCTAssertEqual(Set(loaded.droppedKeys).subtracting(tower), ["logit_scale", "text_projection.weight", "visual_projection.weight"])
        try checkCases(loaded.model, "hf_clip")
    }

    /// The same weights with exact GELU (the `openCLIP` family accepts CLIP names) miss the reference: the test of the
    /// activation can fail.
    func testQuickGELUDecidesCLIPOutputs() throws {
        let gelu = try load("hf_clip/model.safetensors", family: .openCLIP).model
        XCTAssertEqual(gelu.configuration.feedForward, .mlp(hidden: 48, activation: .gelu))
        let input = try Fixtures.array("vit-families/hf_clip/native/input.npy")
        let comparison = TensorComparison(try gelu.features(input, context: context).patches,
                                          try Fixtures.array("vit-families/hf_clip/native/patch.npy"), tolerance: 1e-4)
        XCTAssertGreaterThan(comparison.maxAbsoluteDifference, 1e-3)
    }

    func testQuickGELUKernel() {
        let values = (0..<37).map { Float($0 - 18) * 0.37 }
        var output = values
        output.withUnsafeMutableBufferPointer { FeedForward.Activation.quickGELU.applyInPlace($0.baseAddress!, count: $0.count) }
        for (x, y) in zip(values, output) { XCTAssertEqual(y, x / (1 + Foundation.exp(-1.702 * x)), accuracy: 1e-6) }
    }

    func testOpenCLIPVisionTowerWithTextKeys() throws {
        let loaded = try load("open_clip/model.pth")
        XCTAssertEqual(loaded.family, .openCLIP)
        XCTAssertEqual(loaded.keyLayout, .openCLIP)
        XCTAssertEqual(loaded.model.configuration.feedForward, .mlp(hidden: 48, activation: .gelu))
        XCTAssertTrue(loaded.model.configuration.preNorm)
        XCTAssertEqual(loaded.droppedKeys, ["ln_final.weight", "logit_scale", "positional_embedding", "text_projection", "token_embedding.weight",
                                            "transformer.resblocks.0.ln_1.weight", "visual.proj"])
        try checkCases(loaded.model, "open_clip")
    }

    func testDINOv2FamilyInference() throws {
        for file in ["dinov2/plain/model.pth", "dinov2/reg4_swiglu/model_hf.safetensors", "backprop/plain/model.safetensors"] {
            let loaded = try LoadedBackbone(contentsOf: Fixtures.url(file))
            XCTAssertEqual(loaded.family, .dinov2, file)
            XCTAssertEqual(loaded.model.configuration.layerNormEps, 1e-6, file)
        }
        XCTAssertEqual(try LoadedBackbone(contentsOf: Fixtures.url("dinov2/plain/model.pth"), family: .dinov2).family, .dinov2)
    }

    func testWrongFamilyRefusedNamingBoth() throws {
        let cases: [(String, VisionTransformerFamily, [String])] = [
            ("vit-families/open_clip/model.pth", .mae, ["OpenCLIP visual.*", "Hugging Face ViTModel/ViTMAEModel/ViTMSNModel", "family mae"]),
            ("vit-families/hf_vit/model.safetensors", .clip, ["Hugging Face ViTModel", "Hugging Face CLIPVisionModel", "family clip"]),
            ("dinov2/plain/model.pth", .openCLIP, ["official DINOv2 / timm", "family openclip"]),
            ("vit-families/hf_clip/model.safetensors", .dinov2, ["Hugging Face CLIPVisionModel", "family dinov2"]),
        ]
        for (file, family, phrases) in cases {
            XCTAssertThrowsError(try LoadedBackbone(contentsOf: Fixtures.url(file), family: family, heads: 2)) { error in
                let message = String(describing: error)
                for phrase in phrases + [file] { XCTAssertTrue(message.contains(phrase), "'\(phrase)' missing from: \(message)") }
            }
        }
    }

    func testKeysOfNoLayoutRefused() {
        let stateDict = StateDict(["encoder.conv.weight": Tensor(shape: [2, 2])], source: "other.safetensors")
        XCTAssertThrowsError(try LoadedBackbone(stateDict: stateDict, format: .safetensors)) { error in
            let message = String(describing: error)
            for phrase in ["other.safetensors", "encoder.conv.weight", "OpenCLIP visual.*", "Hugging Face CLIPVisionModel", "patch_embed.proj.weight"] {
                XCTAssertTrue(message.contains(phrase), "'\(phrase)' missing from: \(message)")
            }
        }
    }

    func testImageSizeNotAMultipleOfPatch16Refused() throws {
        var configuration = VisionTransformerConfiguration.supervisedViTLarge16
        (configuration.width, configuration.depth, configuration.heads, configuration.feedForward) = (32, 1, 2, .mlp(hidden: 32))
        let model = VisionTransformer(configuration: configuration)
        XCTAssertNoThrow(try model.features(Tensor(shape: [1, 3, 32, 48]), context: context))
        XCTAssertThrowsError(try model.features(Tensor(shape: [1, 3, 40, 32]), context: context)) { error in
            XCTAssertTrue(String(describing: error).contains("not a multiple of the patch size 16"), "\(error)")
        }
    }

    /// A model written under official names with `metadata(family:)` reads back as the same model; without the
    /// metadata the CLIP-specific settings are lost (official names alone read as supervised).
    func testOfficialNamesWithRecordedArchitectureRoundTrip() throws {
        let clip = try load("hf_clip/model.safetensors").model
        let directory = try Fixtures.temporaryDirectory(removedAfter: self)
        let recorded = directory.appendingPathComponent("clip.safetensors"), bare = directory.appendingPathComponent("bare.safetensors")
        let tensors = Binder.stateDict(of: clip, source: "").tensors
        try SafetensorsFile.write(StateDict(tensors, source: recorded.path), to: recorded, metadata: clip.configuration.metadata(family: .clip))
        try SafetensorsFile.write(StateDict(tensors, source: bare.path), to: bare)
        let reread = try LoadedBackbone(contentsOf: recorded)
        XCTAssertEqual(reread.family, .clip)
        XCTAssertEqual(reread.model.configuration, clip.configuration)
        try checkCases(reread.model, "hf_clip")
        XCTAssertThrowsError(try LoadedBackbone(contentsOf: recorded, family: .openCLIP))
        let plain = try LoadedBackbone(contentsOf: bare, heads: 2)
        XCTAssertEqual(plain.family, .supervised)
        XCTAssertEqual(plain.model.configuration.feedForward, .mlp(hidden: 48, activation: .gelu))
    }

    func testFamilyRulesAndPresets() throws {
        XCTAssertEqual(VisionTransformerFamily.openCLIP.heads(width: 1280), 16)
        XCTAssertEqual(VisionTransformerFamily.openCLIP.headWidth(width: 1280), 80)
        XCTAssertEqual(VisionTransformerFamily.clip.heads(width: 1024), 16)
        XCTAssertNil(VisionTransformerFamily.supervised.heads(width: 24))
        let huge = VisionTransformerConfiguration.preset(for: .openCLIP)
        XCTAssertEqual([huge.width, huge.depth, huge.heads, huge.patchSize, huge.positionGrid], [1280, 32, 16, 14, 16])
        XCTAssertEqual(huge.sizeName, "ViT-H/14")
        XCTAssertEqual(VisionTransformerConfiguration.preset(for: .clip).feedForward, .mlp(hidden: 4096, activation: .quickGELU))
        XCTAssertEqual(VisionTransformerConfiguration.preset(for: .mae).layerNormEps, 1e-12)
        XCTAssertEqual(VisionTransformerConfiguration.preset(for: .msn).layerNormEps, 1e-6)
        XCTAssertEqual(VisionTransformerConfiguration.preset(for: .dinov2), .dinov2(.large))
        let manifest = try JSONSerialization.jsonObject(with: Data(contentsOf: Fixtures.url("vit-families/manifest.json"))) as! [String: Any]
        let counts = manifest["study_parameter_counts"] as! [String: Int]
        for family in VisionTransformerFamily.allCases where family != .dinov2 {
            XCTAssertEqual(VisionTransformerConfiguration.preset(for: family).parameterCount, counts[family.rawValue], "\(family)")
        }
    }

    /// `parameterCount` equals the count of the parameters a model allocates, for every optional part.
    func testParameterCountMatchesAllocatedModel() {
        let configurations = [
            VisionTransformerConfiguration(width: 32, depth: 2, heads: 2, patchSize: 4, positionGrid: 3, feedForward: .mlp(hidden: 48)),
            VisionTransformerConfiguration(width: 32, depth: 3, heads: 2, patchSize: 4, positionGrid: 3, registers: 4, feedForward: .swiGLU(hidden: 40)),
            VisionTransformerConfiguration(width: 32, depth: 1, heads: 4, patchSize: 7, positionGrid: 2, feedForward: .mlp(hidden: 64, activation: .quickGELU),
                                           layerScale: false, hasMaskToken: false, patchEmbeddingBias: false, preNorm: true),
        ]
        for configuration in configurations {
            let allocated = Binder.stateDict(of: VisionTransformer(configuration: configuration), source: "").parameterCount
            XCTAssertEqual(configuration.parameterCount, allocated, "\(configuration)")
        }
    }
}
