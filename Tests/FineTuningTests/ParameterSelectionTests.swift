import FineTuning
import Layers
import Models
import TensorCore
import XCTest

/// Key patterns, freezing, BitFit and the parameter counts of Table 9 on a tiny ViT counted by hand.
final class ParameterSelectionTests: XCTestCase {
    /// Width 8, 2 blocks, 2 heads, 2×2 patches of 3 channels, a 2×2 position grid, MLP hidden 16, LayerScale,
    /// a mask token.
    let model = VisionTransformer(configuration: VisionTransformerConfiguration(
        width: 8, depth: 2, heads: 2, patchSize: 2, channels: 3, positionGrid: 2, feedForward: .mlp(hidden: 16)))

    var keys: [String] { model.parameterShapes().map(\.key) }

    func testPatternMatchesContiguousComponentsWithWildcards() throws {
        let qkv: ParameterPattern = "qkv"
        XCTAssertTrue(qkv.matches("blocks.0.attn.qkv.weight"))
        XCTAssertTrue(qkv.matches("blocks.0.attn.qkv.bias"))
        XCTAssertFalse(qkv.matches("blocks.0.attn.proj.weight"))
        let blockQKV: ParameterPattern = "blocks.*.attn.qkv.*"
        XCTAssertTrue(blockQKV.matches("blocks.11.attn.qkv.weight"))
        XCTAssertFalse(blockQKV.matches("blocks.11.attn.qkv"), "the trailing * needs a component")
        XCTAssertFalse(blockQKV.matches("blocks.1.mlp.fc1.weight"))
        XCTAssertTrue(ParameterPattern("blocks.1").matches("blocks.1.norm1.bias"))
        XCTAssertFalse(ParameterPattern("blocks.1").matches("blocks.11.norm1.bias"), "components compare whole")
        XCTAssertFalse(ParameterPattern("fc").matches("blocks.0.mlp.fc1.weight"))
        XCTAssertTrue(ParameterPattern("mlp.fc2.weight").matches("blocks.0.mlp.fc2.weight"))
        XCTAssertFalse(ParameterPattern("fc2.weight.extra").matches("blocks.0.mlp.fc2.weight"))
        for bad in ["", ".qkv", "qkv.", "blocks..qkv"] {
            XCTAssertThrowsError(try ParameterPattern(bad), "'\(bad)'")
        }
    }

    func testSelectionInKeyOrderAndAnErrorForAPatternMatchingNothing() throws {
        let selected = try [ParameterPattern("fc2"), "blocks.0.attn.qkv.weight"].selectKeys(from: keys)
        XCTAssertEqual(selected, ["blocks.0.attn.qkv.weight", "blocks.0.mlp.fc2.weight", "blocks.0.mlp.fc2.bias",
                                  "blocks.1.mlp.fc2.weight", "blocks.1.mlp.fc2.bias"])
        XCTAssertThrowsError(try ["qkv", ParameterPattern("blocks.*.attn.qvk")].selectKeys(from: keys)) { error in
            let message = String(describing: error)
            XCTAssertTrue(message.contains("'blocks.*.attn.qvk'"), message)
            XCTAssertTrue(message.contains("cls_token"), "lists available keys: \(message)")
        }
    }

    func testFreezingTrainingAndBitFit() throws {
        let frozen = try FrozenParameters(freezing: ["patch_embed", "blocks.0"], among: keys)
        XCTAssertTrue(frozen.isFrozen("patch_embed.proj.bias"))
        XCTAssertTrue(frozen.isFrozen("blocks.0.ls2.gamma"))
        XCTAssertFalse(frozen.isFrozen("blocks.1.ls2.gamma"))
        XCTAssertEqual(frozen.frozenKeys.count, 2 + 14)

        let headOnly = try FrozenParameters(training: ["norm.*"], among: keys)
        XCTAssertEqual(headOnly.trainableIndices(of: keys).map { keys[$0] }, ["norm.weight", "norm.bias"], "norm1/norm2 are other components")

        let bitFit = try FrozenParameters.bitFit(among: keys)
        let trained = bitFit.trainableIndices(of: keys).map { keys[$0] }
        XCTAssertEqual(trained.count, 1 + 2 * 6 + 1)
        XCTAssertTrue(trained.allSatisfy { $0.hasSuffix(".bias") })
        XCTAssertEqual(FrozenParameters.none.trainableIndices(of: keys), Array(keys.indices))
        XCTAssertThrowsError(try FrozenParameters.bitFit(among: ["cls_token", "blocks.0.ls1.gamma"]))
        XCTAssertThrowsError(try FrozenParameters(freezing: ["head"], among: keys))
    }

    /// By hand: cls 8, mask 8, pos_embed 5·8, patch_embed 8·3·2·2 + 8, per block norm1 16, qkv 24·8 + 24,
    /// proj 8·8 + 8, ls1 8, norm2 16, fc1 16·8 + 16, fc2 8·16 + 8, ls2 8 (= 616), final norm 16: 1408.
    /// Biases: 8 + 2·(8 + 24 + 8 + 8 + 16 + 8) + 8 = 160. LoRA r = 4 on qkv, fc1, fc2: 2·4·((8 + 24) + (8 + 16) + (16 + 8)) = 640.
    func testParameterBudgets() throws {
        XCTAssertEqual(ParameterBudget.full(model), ParameterBudget(trainable: 1408, total: 1408))
        XCTAssertEqual(try ParameterBudget.bitFit(model), ParameterBudget(trainable: 160, total: 1408))
        let lora = try LoRAConfiguration(rank: 4, alpha: 16)
        XCTAssertEqual(try ParameterBudget.lora(model, configuration: lora), ParameterBudget(trainable: 640, total: 2048))
        XCTAssertEqual(try ParameterBudget.lora(model, configuration: lora).trainableFraction, 640.0 / 2048, accuracy: 1e-12)

        let qkvOnly = try LoRAConfiguration(rank: 2, alpha: 1, targets: ["blocks.1.attn.qkv"])
        XCTAssertEqual(try LoRATarget.select(qkvOnly.targets, among: model.parameterShapes()),
                       [LoRATarget(module: "blocks.1.attn.qkv", inFeatures: 8, outFeatures: 24)])
        XCTAssertEqual(try ParameterBudget.lora(model, configuration: qkvOnly).trainable, 2 * (8 + 24))
        let notALinear = try LoRAConfiguration(rank: 2, alpha: 1, targets: ["patch_embed"])
        XCTAssertThrowsError(try ParameterBudget.lora(model, configuration: notALinear), "a 4-D conv weight is no LoRA target")
    }

    func testStudyConfigurationAndBadSettings() {
        XCTAssertEqual(LoRAConfiguration.study.rank, 48)
        XCTAssertEqual(LoRAConfiguration.study.alpha, 16)
        XCTAssertEqual(LoRAConfiguration.study.dropout, 0.1)
        XCTAssertEqual(LoRAConfiguration.study.targets, ["qkv", "fc1", "fc2"])
        XCTAssertEqual(LoRAConfiguration.study.scale, 16.0 / 48, accuracy: 1e-7)
        XCTAssertThrowsError(try LoRAConfiguration(rank: 0, alpha: 16))
        XCTAssertThrowsError(try LoRAConfiguration(rank: 4, alpha: 0))
        XCTAssertThrowsError(try LoRAConfiguration(rank: 4, alpha: .nan))
        XCTAssertThrowsError(try LoRAConfiguration(rank: 4, alpha: 1, dropout: 1))
        XCTAssertThrowsError(try LoRAConfiguration(rank: 4, alpha: 1, dropout: -0.1))
        XCTAssertThrowsError(try LoRAConfiguration(rank: 4, alpha: 1, targets: []))
    }
}
