import Backpropagation
import Checkpoints
import Layers
import Models
import TensorCore
import TensorKernels
import TestSupport
import XCTest

/// Backward passes that compute only some parameter gradients: the wanted ones are bit-identical to the full
/// computation, the others are zeros, and adapters and the input gradient are unaffected.
final class GradientSelectionTests: XCTestCase {
    let context = ComputeContext(threads: 2)

    func model(_ name: String) throws -> VisionTransformer {
        try LoadedBackbone(contentsOf: Fixtures.url("backprop/\(name)/model.safetensors")).model.withHeads(2)
    }

    /// Backward from random CLS and patch gradients on random images; parameter gradients by key, the input gradient
    /// under `input` and the adapters' gradients under their keys.
    func gradients(_ vit: VisionTransformer, selection: GradientSelection, adapters: (any LinearAdapters)? = nil,
                   inputGradient: Bool = false, recompute: Bool = false) throws -> [String: Tensor] {
        var random = TestRandom(state: 31)
        let images = random.tensor([2, 3, 28, 42])
        let (output, cache) = try vit.trainingForward(images, recomputeBlocks: recompute, adapters: adapters, context: context)
        let result = try vit.backpropagate(cls: random.tensor(output.cls.shape), patches: random.tensor(output.patches.shape),
                                           registers: output.registers.map { random.tensor($0.shape) }, cache: cache,
                                           inputGradient: inputGradient, gradients: selection, context: context)
        var named = gradientsByKey(result.parameters)
        named.merge(result.adapters) { _, adapter in adapter }
        if let input = result.input { named["input"] = input }
        return named
    }

    /// Every key of `selected` that `wanted` accepts equals `full` exactly; every other parameter is all zeros.
    func assertSelected(_ selected: [String: Tensor], equal full: [String: Tensor], wanted: (String) -> Bool, _ name: String) {
        XCTAssertEqual(Set(selected.keys), Set(full.keys), name)
        var wantedCount = 0
        for (key, value) in selected.sorted(by: { $0.key < $1.key }) where key != "mask_token" {
            if wanted(key) {
                wantedCount += 1
                XCTAssertEqual(value.scalars, full[key]?.scalars, "\(name): \(key) differs from the full computation")
                XCTAssertTrue(value.scalars.contains { $0 != 0 }, "\(name): \(key) is all zeros")
            } else {
                XCTAssertTrue(value.scalars.allSatisfy { $0 == 0 }, "\(name): \(key) was not asked for but is not zero")
            }
        }
        XCTAssertGreaterThan(wantedCount, 0, name)
    }

    func testBitFitBiasesEqualTheFullComputation() throws {
        for name in ["plain", "reg4_swiglu"] {
            let vit = try model(name)
            let full = try gradients(vit, selection: .all)
            let biases = vit.namedParameters().map(\.key).filter { $0.hasSuffix(".bias") }
            let selected = try gradients(vit, selection: GradientSelection(keys: biases))
            assertSelected(selected, equal: full, wanted: { $0.hasSuffix(".bias") }, "\(name) BitFit")
        }
    }

    func testLastBlockOnlySkipsTheBlocksBelow() throws {
        let vit = try model("reg4_swiglu")
        let last = "blocks.\(vit.blocks.count - 1)."
        let full = try gradients(vit, selection: .all, recompute: true)
        let keys = vit.namedParameters().map(\.key).filter { $0.hasPrefix(last) || $0.hasPrefix("norm.") }
        let selected = try gradients(vit, selection: GradientSelection(keys: keys), recompute: true)
        XCTAssertNil(selected["input"], "no input gradient unless asked")
        assertSelected(selected, equal: full, wanted: { $0.hasPrefix(last) || $0.hasPrefix("norm.") }, "last block")
    }

    func testNoParametersStillGivesTheInputAndAdapterGradients() throws {
        let vit = try model("plain")
        let adapters = try ShiftAdapters(vit, keys: ["blocks.0.attn.qkv", "blocks.1.mlp.fc2"])
        let full = try gradients(vit, selection: .all, adapters: adapters, inputGradient: true)
        let selected = try gradients(vit, selection: .none, adapters: adapters, inputGradient: true)
        assertSelected(selected, equal: full, wanted: { $0 == "input" || $0.hasSuffix(".shift") }, "adapters and input")
        XCTAssertEqual(Set(selected.keys.filter { $0.hasSuffix(".shift") }), ["blocks.0.attn.qkv.shift", "blocks.1.mlp.fc2.shift"])
    }
}

/// A test adapter: the Linear at each key gets `y += x·Cᵀ` with a fixed random `C` `[out, in]`; its "parameter"
/// `key.shift` has the gradient `dyᵀ·x`, and the input gradient `dy·C`.
struct ShiftAdapters: LinearAdapters {
    let matrices: [String: Tensor]

    init(_ model: VisionTransformer, keys: [String]) throws {
        let shapes = Dictionary(uniqueKeysWithValues: model.namedParameters().map { ($0.key, $0.value.shape) })
        var random = TestRandom(state: 41)
        matrices = Dictionary(uniqueKeysWithValues: keys.map { ($0, random.tensor(shapes[$0 + ".weight"]!, in: -0.2...0.2)) })
    }

    func forward(key: String, input: Tensor, context: ComputeContext) throws -> (output: Tensor, cache: any Sendable)? {
        guard let matrix = matrices[key] else { return nil }
        return (Linear(weight: matrix, bias: nil)(input, context: context), input)
    }

    func backward(key: String, outputGradient: Tensor, cache: any Sendable,
                  context: ComputeContext) throws -> (input: Tensor, parameters: [String: Tensor]) {
        let linear = Linear(weight: matrices[key]!, bias: nil)
        let result = try linear.backward(outputGradient, cache: linear.forward(cache as! Tensor, context: context).cache, context: context)
        return (result.input, [key + ".shift": result.parameters.weight])
    }
}
