import Checkpoints
import Foundation
import Models
import Randomness
import TensorCore

/// The demo's baseline: a checkpoint's exact architecture with seeded random weights drawn as the official
/// DINOv2 code initialises a new ViT (`init_weights` with timm's `init_weights_vit_timm`, LayerScale
/// `init_values` 1 as in the hub models), so the gap to the real weights is what pretraining buys:
///
/// - linear weights (every 2D `*.weight`): normal, σ = 0.02 (timm's truncation at ±2 never applies at this σ);
/// - `pos_embed`: normal, σ = 0.02; `cls_token` and `register_tokens`: normal, σ = 10⁻⁶; `mask_token`: 0;
/// - `patch_embed.proj.weight` and `.bias`: uniform on ±1/√fan_in, fan_in = channels · patch² (PyTorch's
///   Conv2d default);
/// - LayerScale `*.gamma` and LayerNorm weights: 1; every other bias: 0.
///
/// Normals come from `SeededGenerator` by Box–Muller (`√(−2 ln(1 − u₁)) · cos 2πu₂`), one pair of uniforms
/// per value, the keys taken in sorted order, so a seed gives the same file everywhere.
enum DemoRandomModel {
    /// The random model of `checkpoint`'s architecture, written as safetensors to `url` with the
    /// checkpoint's architecture settings (family, heads, eps, activation, interpolation) in its metadata.
    static func write(architectureOf checkpoint: URL, seed: UInt64, to url: URL) throws {
        let loaded = try LoadedBackbone(contentsOf: checkpoint)
        let model = loaded.model
        let reference = Binder.stateDict(of: model, source: checkpoint.path)
        let patchFanIn = model.configuration.channels * model.configuration.patchSize * model.configuration.patchSize
        var generator = SeededGenerator(seed: seed)
        var tensors: [String: Tensor] = [:]
        for key in reference.sortedKeys {
            tensors[key] = try initialised(key, shape: reference.tensors[key]!.shape, patchFanIn: patchFanIn, generator: &generator)
        }
        let metadata = model.configuration.metadata(family: loaded.family).merging([
            "radprobe.random_seed": String(seed),
            "radprobe.architecture_of": checkpoint.lastPathComponent,
        ]) { $1 }
        try SafetensorsFile.write(StateDict(tensors, source: url.path), to: url, metadata: metadata)
    }

    /// The initial value of parameter `key` (rules in the type's documentation); `patchFanIn` is
    /// channels · patch².
    static func initialised(_ key: String, shape: [Int], patchFanIn: Int, generator: inout SeededGenerator) throws -> Tensor {
        let count = shape.reduce(1, *)
        func normal(_ deviation: Double) -> Tensor {
            Tensor(shape: shape, values: (0..<count).map { _ in Float(deviation * standardNormal(&generator)) })
        }
        switch key {
        case "pos_embed": return normal(0.02)
        case "cls_token", "register_tokens": return normal(1e-6)
        case "mask_token": return Tensor(shape: shape, repeating: 0)
        case "patch_embed.proj.weight", "patch_embed.proj.bias":
            let bound = 1 / Double(patchFanIn).squareRoot()
            return Tensor(shape: shape, values: (0..<count).map { _ in Float(generator.uniform(in: -bound...bound)) })
        default: break
        }
        if key.hasSuffix(".gamma") { return Tensor(shape: shape, repeating: 1) }
        if key.hasSuffix(".weight"), shape.count == 2 { return normal(0.02) }
        if key.hasSuffix(".weight"), shape.count == 1 { return Tensor(shape: shape, repeating: 1) }
        if key.hasSuffix(".bias") { return Tensor(shape: shape, repeating: 0) }
        throw CommandFailure("no random initialisation is defined for the parameter \(key) \(shape)")
    }

    /// A standard normal draw by Box–Muller from two uniforms.
    static func standardNormal(_ generator: inout SeededGenerator) -> Double {
        let radius = (-2 * Foundation.log(1 - generator.uniform())).squareRoot()
        return radius * Foundation.cos(2 * Double.pi * generator.uniform())
    }
}
