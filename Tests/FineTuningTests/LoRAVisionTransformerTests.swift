import Backpropagation
import Checkpoints
import FineTuning
import Layers
import Models
import Randomness
import TensorCore
import TensorKernels
import TestSupport
import XCTest

/// LoRA on the whole ViT through the adapter hook: PyTorch autograd parity of the loss, every `A`/`B` gradient
/// and the input gradient (fixtures from `scripts/make_lora_vit_fixtures.py` over the backprop fixture models),
/// zero `B` = the base model, merged weights = adapters, and dropout masks identical under recomputation.
final class LoRAVisionTransformerTests: XCTestCase {
    let context = ComputeContext(threads: 2)
    /// The fixtures' rank and α, and each model's targets.
    let targets: [String: [ParameterPattern]] = ["plain": ["qkv", "fc1", "fc2"], "reg4_swiglu": ["qkv", "w12", "w3"]]

    func configuration(_ name: String, dropout: Float = 0) throws -> LoRAConfiguration {
        try LoRAConfiguration(rank: 4, alpha: 8, dropout: dropout, targets: targets[name]!)
    }

    /// Copies parameters by key.
    /// A backprop fixture model, read with the 2 heads it was made with (the loader infers width/64 = 1).
    func model(_ name: String) throws -> VisionTransformer {
        try LoadedBackbone(contentsOf: Fixtures.url("backprop/\(name)/model.safetensors")).model.withHeads(2)
    }

    /// The fixture's adapters: the targets chosen by `LoRAAdapters(model:…)` with the fixture's `A` and `B`.
    func fixtureAdapters(_ name: String, model: VisionTransformer, reference: StateDict) throws -> LoRAAdapters {
        var generator = SeededGenerator(seed: 1)
        var adapters = try LoRAAdapters(model: model, configuration: configuration(name), generator: &generator)
        let expectedKeys = reference.tensors.keys.filter { $0.hasSuffix(".lora_A.weight") && !$0.hasPrefix("grad.") }
        XCTAssertEqual(Set(adapters.adapters.keys.map(LoRAAdapters.aKey)), Set(expectedKeys), "\(name): targeted Linears")
        try adapters.update(reference.tensors.filter { !$0.key.hasPrefix("grad.") && $0.key.contains(".lora_") })
        return adapters
    }

    /// The backprop fixtures' loss, `Σ cls·c + Σ patches·P`, and its gradients `(dcls, dpatches)`.
    func lossGradients(_ name: String, batch: Int) throws -> (cls: Tensor, patches: Tensor) {
        let reference = try CheckpointFile.read(contentsOf: Fixtures.url("backprop/\(name)/reference.safetensors"))
        let direction = reference["cls_direction"]!
        return (Tensor(shape: [batch, direction.count], values: Array((0..<batch).map { _ in direction.scalars }.joined())),
                reference["patch_direction"]!)
    }

    func input(_ name: String) throws -> Tensor {
        try CheckpointFile.read(contentsOf: Fixtures.url("backprop/\(name)/reference.safetensors"))["input"]!
    }

    func dot(_ a: Tensor, _ b: Tensor) -> Double { zip(a.scalars, b.scalars).reduce(0) { $0 + Double($1.0 * $1.1) } }

    /// Per tensor `max |swift − torch| ≤ 1e-4 · max |torch|`, as the backprop tests.
    func checkParity(_ name: String, recomputeBlocks: Bool) throws {
        let vit = try model(name)
        let reference = try CheckpointFile.read(contentsOf: Fixtures.url("lora_vit/\(name).safetensors"))
        let adapters = try fixtureAdapters(name, model: vit, reference: reference)
        let images = try input(name)
        let (forward, cache) = try vit.trainingForward(images, recomputeBlocks: recomputeBlocks, adapters: adapters, context: context)
        let (clsGradient, patchGradient) = try lossGradients(name, batch: images.shape[0])
        let loss = dot(forward.cls, clsGradient) + dot(forward.patches, patchGradient)
        XCTAssertEqual(loss, Double(reference["loss"]!.scalars[0]), accuracy: 1e-4 * max(1, abs(loss)), "\(name) loss")

        let gradients = try vit.backpropagate(cls: clsGradient, patches: patchGradient, cache: cache, inputGradient: true, context: context)
        var actual = Dictionary(uniqueKeysWithValues: gradients.adapters.map { ("grad." + $0.key, $0.value) })
        actual["input_grad"] = gradients.input!
        let expected = reference.tensors.filter { $0.key.hasPrefix("grad.") || $0.key == "input_grad" }
        XCTAssertEqual(Set(actual.keys), Set(expected.keys), "\(name): gradient keys")
        for (key, torch) in expected.sorted(by: { $0.key < $1.key }) {
            guard let swift = actual[key] else { continue }
            let scale = torch.scalars.map(abs).max()!
            XCTAssertGreaterThan(scale, 0, "\(name) \(key) has a zero reference gradient")
            assertClose(swift, torch, tolerance: 1e-4 * scale, "\(name) \(key)")
        }
    }

    func testTorchParityPlain() throws { try checkParity("plain", recomputeBlocks: false) }
    func testTorchParitySwiGLUWithRecomputation() throws { try checkParity("reg4_swiglu", recomputeBlocks: true) }

    /// Fresh adapters (`B = 0`) leave the forward pass exactly as without adapters.
    func testZeroUpdateIsTheBaseModel() throws {
        let vit = try model("plain")
        var generator = SeededGenerator(seed: 3)
        let adapters = try LoRAAdapters(model: vit, configuration: configuration("plain"), generator: &generator)
        XCTAssertEqual(adapters.adapters.count, 6)
        let images = try input("plain")
        let adapted = try vit.trainingForward(images, adapters: adapters, context: context).output
        let plain = try vit.trainingForward(images, context: context).output
        XCTAssertEqual(adapted.cls.scalars, plain.cls.scalars)
        XCTAssertEqual(adapted.patches.scalars, plain.patches.scalars)
    }

    /// The model with merged weights gives the adapters' evaluation forward pass.
    func testMergedWeightsGiveTheAdaptedForward() throws {
        for name in ["plain", "reg4_swiglu"] {
            let vit = try model(name)
            let reference = try CheckpointFile.read(contentsOf: Fixtures.url("lora_vit/\(name).safetensors"))
            let adapters = try fixtureAdapters(name, model: vit, reference: reference)
            let images = try input(name)
            let adapted = try vit.trainingForward(images, adapters: adapters, context: context).output
            let merged = try adapters.merged(into: vit).trainingForward(images, context: context).output
            let base = try vit.trainingForward(images, context: context).output
            let scale = adapted.patches.scalars.map(abs).max()!
            assertClose(merged.patches, adapted.patches, tolerance: 1e-5 * scale, "\(name) merged patches")
            assertClose(merged.cls, adapted.cls, tolerance: 1e-5 * scale, "\(name) merged CLS")
            XCTAssertGreaterThan(zip(base.patches.scalars, adapted.patches.scalars).map { abs($0 - $1) }.max()!, 1e-2 * scale,
                                 "\(name): the fixture's adapters change the output")
        }
    }

    /// With dropout, recomputed blocks draw the same masks (seeded per step and key): the gradients equal those of
    /// stored activations exactly; another step seed gives other masks.
    func testDropoutIsIdenticalUnderRecomputation() throws {
        let vit = try model("plain")
        let reference = try CheckpointFile.read(contentsOf: Fixtures.url("lora_vit/plain.safetensors"))
        var generator = SeededGenerator(seed: 1)
        var adapters = try LoRAAdapters(model: vit, configuration: configuration("plain", dropout: 0.3), generator: &generator)
        try adapters.update(reference.tensors.filter { !$0.key.hasPrefix("grad.") && $0.key.contains(".lora_") })
        let images = try input("plain")
        let (clsGradient, patchGradient) = try lossGradients("plain", batch: images.shape[0])
        func gradients(seed: UInt64, recompute: Bool) throws -> [String: Tensor] {
            adapters.dropoutSeed = seed
            let cache = try vit.trainingForward(images, recomputeBlocks: recompute, adapters: adapters, context: context).cache
            return try vit.backpropagate(cls: clsGradient, patches: patchGradient, cache: cache, context: context).adapters
        }
        let stored = try gradients(seed: 9, recompute: false)
        let recomputed = try gradients(seed: 9, recompute: true)
        let otherStep = try gradients(seed: 10, recompute: false)
        XCTAssertEqual(stored.count, 12)
        for (key, value) in stored {
            XCTAssertEqual(recomputed[key]?.scalars, value.scalars, key)
            XCTAssertNotEqual(otherStep[key]?.scalars, value.scalars, key)
        }
    }

    func testBadParameterKeysAreRejected() throws {
        let vit = try model("plain")
        var generator = SeededGenerator(seed: 1)
        var adapters = try LoRAAdapters(model: vit, configuration: configuration("plain"), generator: &generator)
        XCTAssertThrowsError(try adapters.update(["blocks.0.attn.proj.lora_A.weight": Tensor(shape: [4, 64])]))
        XCTAssertThrowsError(try adapters.update(["blocks.0.attn.qkv.lora_B.weight": Tensor(shape: [4, 64])]))
        XCTAssertThrowsError(try LoRAAdapters(model: vit, configuration: configuration("reg4_swiglu"), generator: &generator))
        XCTAssertEqual(adapters.parameters.first?.key, "blocks.0.attn.qkv.lora_A.weight")
    }
}
