import Backpropagation
import Checkpoints
import Layers
import Models
import TensorCore
import TensorKernels
import TestSupport
import XCTest

/// The whole ViT: PyTorch autograd parity on the official code's tiny models (fixtures from
/// `scripts/make_backprop_fixtures.py`), forward = inference, activation checkpointing, and the position map.
final class VisionTransformerGradientTests: XCTestCase {
    let context = ComputeContext(threads: 2)

    /// A backprop fixture model, read with the 2 heads it was made with (the loader infers width/64 = 1).
    func model(_ name: String) throws -> VisionTransformer {
        try LoadedBackbone(contentsOf: Fixtures.url("backprop/\(name)/model.safetensors")).model.withHeads(2)
    }

    /// Every parameter gradient and the input gradient against `loss.backward()` of the official model. Per tensor:
    /// `max |swift − torch| ≤ 1e-4 · max |torch|` (float32 on both sides, summation orders differ).
    func checkParity(_ name: String, recomputeBlocks: Bool = false) throws {
        let vit = try model(name)
        let reference = try CheckpointFile.read(contentsOf: Fixtures.url("backprop/\(name)/reference.safetensors"))
        let images = reference["input"]!
        let (forward, cache) = try vit.trainingForward(images, recomputeBlocks: recomputeBlocks, context: context)
        let direction = reference["cls_direction"]!
        let batch = images.shape[0]
        let clsGradient = Tensor(shape: [batch, direction.count], values: Array((0..<batch).map { _ in direction.scalars }.joined()))
        let patchGradient = reference["patch_direction"]!
        let loss = zip(forward.cls.scalars, clsGradient.scalars).reduce(0) { $0 + Double($1.0 * $1.1) }
            + zip(forward.patches.scalars, patchGradient.scalars).reduce(0) { $0 + Double($1.0 * $1.1) }
        XCTAssertEqual(loss, Double(reference["loss"]!.scalars[0]), accuracy: 1e-4 * max(1, abs(loss)), "\(name) loss")

        let (gradients, inputGradient) = try vit.backward(cls: clsGradient, patches: patchGradient, cache: cache, inputGradient: true, context: context)
        var expected = reference.tensors.filter { $0.key.hasPrefix("grad.") }
        expected["input_grad"] = reference["input_grad"]!
        var actual = gradientsByKey(gradients, prefix: "grad.")
        actual["input_grad"] = inputGradient!
        XCTAssertEqual(actual["grad.mask_token"]?.scalars.allSatisfy { $0 == 0 }, true, "\(name): mask_token is unused")
        actual["grad.mask_token"] = nil
        XCTAssertEqual(Set(actual.keys), Set(expected.keys), "\(name): gradient keys")
        for (key, torch) in expected.sorted(by: { $0.key < $1.key }) {
            guard let swift = actual[key] else { continue }
            let scale = torch.scalars.map(abs).max()!
            XCTAssertGreaterThan(scale, 0, "\(name) \(key) has a zero reference gradient")
            assertClose(swift.reshaped(torch.shape), torch, tolerance: 1e-4 * scale, "\(name) \(key)")
        }
    }

    func testPlainModelMatchesPyTorchAutograd() throws { try checkParity("plain") }

    func testRegistersAndSwiGLUModelMatchesPyTorchAutograd() throws { try checkParity("reg4_swiglu") }

    /// A CLIP tower (quick GELU, a LayerNorm before the blocks) is refused before any work, naming both.
    func testModelsTrainingDoesNotSupportAreRefused() throws {
        let clip = try LoadedBackbone(contentsOf: Fixtures.url("vit-families/hf_clip/model.safetensors"), heads: 2).model
        let images = try Fixtures.array("vit-families/hf_clip/native/input.npy")
        XCTAssertThrowsError(try clip.trainingForward(images, context: .serial)) { error in
            XCTAssertTrue("\(error)".contains("norm_pre") && "\(error)".contains("quick-GELU"), "\(error)")
        }
        let timm = try LoadedBackbone(contentsOf: Fixtures.url("vit-families/timm_vit/model.pth"), heads: 2).model
        XCTAssertNoThrow(try timm.requireTrainable())
    }

    func testTrainingForwardEqualsInference() throws {
        for name in ["plain", "reg4_swiglu"] {
            let vit = try model(name)
            for shape in [[2, 3, 35, 42], [1, 3, 28, 28]] { // a resized position grid, and the stored one
                var random = TestRandom(state: 21)
                let images = random.tensor(shape)
                let training = try vit.trainingForward(images, context: context).output
                let inference = try vit.features(images, context: context)
                assertClose(training.cls, inference.cls, tolerance: 1e-5, "\(name) \(shape) CLS")
                assertClose(training.patches, inference.patches, tolerance: 1e-5, "\(name) \(shape) patches")
                if let registers = inference.registers { assertClose(training.registers!, registers, tolerance: 1e-5, "\(name) registers") }
            }
        }
    }

    func testRecomputingBlocksGivesIdenticalGradients() throws {
        let vit = try model("reg4_swiglu")
        var random = TestRandom(state: 22)
        let images = random.tensor([2, 3, 35, 42])
        let clsGradient = random.tensor([2, 64]), registerGradient = random.tensor([2, 4, 64])
        var results: [[String: Tensor]] = []
        for recompute in [false, true] {
            let (_, cache) = try vit.trainingForward(images, recomputeBlocks: recompute, context: context)
            let (gradients, input) = try vit.backward(cls: clsGradient, patches: nil, registers: registerGradient, cache: cache,
                                                      inputGradient: true, context: context)
            var named = gradientsByKey(gradients)
            named["input"] = input!
            results.append(named)
        }
        XCTAssertEqual(results[0].keys.sorted(), results[1].keys.sorted())
        for (key, value) in results[0] { XCTAssertEqual(value.scalars, results[1][key]!.scalars, key) }
    }

    /// `A · E` with the identity-probed operator equals the inference code's resized embedding, for both
    /// interpolations (plain: offset 0.1, no antialias; registers: antialiased size).
    func testPositionMapReproducesTheResizedEmbedding() throws {
        for name in ["plain", "reg4_swiglu"] {
            let vit = try model(name)
            let map = try PositionEmbeddingMap(model: vit, gridHeight: 5, gridWidth: 6, square: false)
            let matrix = try XCTUnwrap(map.matrix)
            let stored = vit.positionEmbedding.reshaped([map.storedRows, 64])
            let product = Tensor(shape: [31, 64]) { out in
                for i in 0..<31 {
                    for j in 0..<64 {
                        out[i * 64 + j] = (0..<map.storedRows).reduce(0) { $0 + matrix[i, $1] * stored[$1, j] }
                    }
                }
            }
            assertClose(product, try vit.positionEmbedding(gridHeight: 5, gridWidth: 6, square: false), tolerance: 1e-5, name)
        }
    }

    func testBadInputsThrow() throws {
        let vit = try model("plain")
        XCTAssertThrowsError(try vit.trainingForward(Tensor(shape: [1, 3, 30, 28]), context: context))
        let (_, cache) = try vit.trainingForward(Tensor(shape: [1, 3, 28, 28]), context: context)
        XCTAssertThrowsError(try vit.backward(cls: Tensor(shape: [2, 64]), patches: nil, cache: cache, context: context))
    }
}
