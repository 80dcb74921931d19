import Checkpoints
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

    func checkCase(_ model: VisionTransformer, model name: String, case caseName: String, layers: Bool = true) throws {
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

    func testRegistersSwiGLUModelFromHuggingFaceNames() throws {
        let model = try loadModel("dinov2/reg4_swiglu/model_hf.safetensors")
        try checkCase(model, model: "reg4_swiglu", case: "224")
    }
}
