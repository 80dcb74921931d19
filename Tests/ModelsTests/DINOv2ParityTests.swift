import Checkpoints
import Layers
import Models
import TensorCore
import TensorKernels
import TestSupport
import XCTest

/// Parity with the official DINOv2 code on tiny random-initialised models
/// (`scripts/make_dinov2_fixtures.py`; see `Tests/Fixtures/dinov2/manifest.json`).
final class DINOv2ParityTests: XCTestCase {
    let context = ComputeContext(threads: 2)

    func loadModel(_ relative: String) throws -> VisionTransformer {
        try LoadedBackbone(contentsOf: Fixtures.url(relative)).model
    }

    /// 1e-5 at 224 (the bound), 1e-4 elsewhere.
    func tolerance(_ caseName: String) -> Float { caseName == "224" ? 1e-5 : 1e-4 }

    func checkCase(_ model: VisionTransformer, model name: String, case caseName: String, layers: Bool = true,
                   context: ComputeContext? = nil) throws {
        let context = context ?? self.context
        let directory = "dinov2/\(name)/\(caseName)/"
        let input = try Fixtures.array(directory + "input.npy")
        let features = try model.features(input, context: context)
        let tol = tolerance(caseName)
        assertClose(features.cls, try Fixtures.array(directory + "cls.npy"), tolerance: tol, "\(name) \(caseName) cls")
        assertClose(features.patches, try Fixtures.array(directory + "patch.npy"), tolerance: tol, "\(name) \(caseName) patch")
        if model.configuration.registers > 0 {
            assertClose(try XCTUnwrap(features.registers), try Fixtures.array(directory + "registers.npy"), tolerance: tol, "\(name) \(caseName) registers")
        }
        guard layers else { return }
        let last2 = try model.intermediateLayers(input, blockIndices: model.lastBlocks(2), normed: true, context: context)
        assertClose(Tensor.stack(last2.map(\.patches)), try Fixtures.array(directory + "layers_last2_patch.npy"), tolerance: tol, "\(name) \(caseName) last-2 patch")
        assertClose(Tensor.stack(last2.map(\.cls)), try Fixtures.array(directory + "layers_last2_cls.npy"), tolerance: tol, "\(name) \(caseName) last-2 cls")
        let raw = try model.intermediateLayers(input, blockIndices: [0, 2], normed: false, context: context)
        assertClose(Tensor.stack(raw.map(\.patches)), try Fixtures.array(directory + "layers_0_2_nonorm_patch.npy"), tolerance: tol, "\(name) \(caseName) blocks 0,2 patch")
        assertClose(Tensor.stack(raw.map(\.cls)), try Fixtures.array(directory + "layers_0_2_nonorm_cls.npy"), tolerance: tol, "\(name) \(caseName) blocks 0,2 cls")
    }

    func checkAllCases(_ model: VisionTransformer, model name: String) throws {
        for caseName in ["native", "224", "nonsquare"] { try checkCase(model, model: name, case: caseName) }
        try checkCase(model, model: name, case: "448", layers: false)
    }

    func testPlainModelFromPyTorchZip() throws {
        let model = try loadModel("dinov2/plain/model.pth")
        XCTAssertEqual(model.configuration.interpolation, .scaleFactor(offset: 0.1))
        XCTAssertEqual(model.configuration.feedForward, .mlp(hidden: 512))
        XCTAssertEqual(model.configuration.heads, 2)
        XCTAssertEqual(model.configuration.depth, 3)
        try checkAllCases(model, model: "plain")
    }

    func testPlainModelFromEveryFileLayout() throws {
        for file in ["model.safetensors", "model_legacy.pth", "model_teacher_chunked.pth"] {
            let model = try loadModel("dinov2/plain/\(file)")
            try checkCase(model, model: "plain", case: "nonsquare")
        }
    }

    func testRegistersSwiGLUModel() throws {
        let model = try loadModel("dinov2/reg4_swiglu/model.safetensors")
        XCTAssertEqual(model.configuration.registers, 4)
        XCTAssertEqual(model.configuration.interpolation, .antialiasedSize)
        XCTAssertEqual(model.configuration.feedForward, .swiGLU(hidden: 344))
        try checkAllCases(model, model: "reg4_swiglu")
    }

    /// One worker: the whole-image path, with the 1025 tokens of a 448² image in two feed-forward row blocks.
    func testSingleWorkerWholeImagePath() throws {
        XCTAssertGreaterThan(1025, TransformerBlock.feedForwardRowBlock)
        try checkCase(try loadModel("dinov2/plain/model.pth"), model: "plain", case: "448", layers: false, context: ComputeContext(threads: 1))
        try checkCase(try loadModel("dinov2/reg4_swiglu/model.safetensors"), model: "reg4_swiglu", case: "448", layers: false,
                      context: ComputeContext(threads: 1))
    }

    func testRegistersSwiGLUModelFromHuggingFaceNames() throws {
        let model = try loadModel("dinov2/reg4_swiglu/model_hf.safetensors")
        XCTAssertEqual(model.configuration.interpolation, .antialiasedSize)
        try checkCase(model, model: "reg4_swiglu", case: "224")
    }

    /// Hugging Face names without registers default to the explicit-size interpolation; an explicit
    /// choice overrides it and reproduces the official outputs.
    func testInterpolationPrecedence() throws {
        let url = Fixtures.url("dinov2/plain/model.pth")
        let renamed = try Fixtures.temporaryDirectory(removedAfter: self).appendingPathComponent("plain_hf.safetensors")
        var official = try LoadedBackbone(contentsOf: url).model
        var hf = StateDict(source: renamed.path)
        for (key, tensor) in Binder.stateDict(of: official, source: "").tensors {
            hf[Self.huggingFaceName(key)] = tensor
        }
        try SafetensorsFile.write(hf.splittingQKV(), to: renamed)
        XCTAssertEqual(try LoadedBackbone(contentsOf: renamed).model.configuration.interpolation, .size)
        official = try LoadedBackbone(contentsOf: renamed, interpolation: .scaleFactor(offset: 0.1)).model
        try checkCase(official, model: "plain", case: "nonsquare", layers: false)
    }

    /// Official → Hugging Face names for the keys of the plain fixture (q/k/v split separately).
    static func huggingFaceName(_ key: String) -> String {
        let renames = [("cls_token", "embeddings.cls_token"), ("mask_token", "embeddings.mask_token"),
                       ("pos_embed", "embeddings.position_embeddings"), ("patch_embed.proj.", "embeddings.patch_embeddings.projection."),
                       ("norm.", "layernorm.")]
        if key.hasPrefix("blocks.") {
            let parts = key.split(separator: ".", maxSplits: 2)
            let rest = String(parts[2])
                .replacingOccurrences(of: "attn.proj.", with: "attention.output.dense.")
                .replacingOccurrences(of: "ls1.gamma", with: "layer_scale1.lambda1")
                .replacingOccurrences(of: "ls2.gamma", with: "layer_scale2.lambda1")
            return "encoder.layer.\(parts[1]).\(rest)"
        }
        for (from, to) in renames where key.hasPrefix(from) { return to + key.dropFirst(from.count) }
        return key
    }
}

extension StateDict {
    /// Splits every `….attn.qkv.{weight,bias}` into Hugging Face `attention.attention.{query,key,value}`.
    func splittingQKV() -> StateDict {
        var result = StateDict(source: source)
        for (key, tensor) in tensors {
            guard let range = key.range(of: "attn.qkv.") else { result[key] = tensor; continue }
            let prefix = key[..<range.lowerBound], kind = key[range.upperBound...]
            let rows = tensor.shape[0] / 3
            for (i, role) in ["query", "key", "value"].enumerated() {
                result["\(prefix)attention.attention.\(role).\(kind)"] = tensor.slice(outer: i * rows..<(i + 1) * rows)
            }
        }
        return result
    }
}
