import Checkpoints
import ClassificationFineTuning
import FineTuning
import Models
import TensorCore
import TensorKernels
import TestSupport
import XCTest

/// Two whole fine-tuning steps (forward, head, loss, backward, clipping, AdamW with two groups, warm-up and
/// cosine) equal PyTorch's on the official code's tiny `plain` model, for full fine-tuning, LoRA and BitFit
/// (fixtures from `scripts/make_finetune_fixtures.py`).
final class FineTunerParityTests: XCTestCase {
    let context = ComputeContext(threads: 2)

    func backbone() throws -> VisionTransformer {
        try LoadedBackbone(contentsOf: Fixtures.url("backprop/plain/model.safetensors")).model.withHeads(2)
    }

    /// The fine-tuner of the fixture's settings, started from its head (and LoRA) values.
    func fineTuner(_ mode: String, reference: StateDict) throws -> FineTuner {
        let meta = reference.metadata
        let fineTuningMode: FineTuningMode = switch mode {
        case "full": .full
        case "bitfit": .bitFit
        default: .lora(try LoRAConfiguration(rank: Int(meta["lora_rank"]!)!, alpha: Float(meta["lora_alpha"]!)!, dropout: 0))
        }
        let configuration = try FineTuningConfiguration(
            mode: fineTuningMode, headLearningRate: Double(meta["head_lr"]!)!, backboneLearningRate: Double(meta["backbone_lr"]!)!,
            weightDecay: Double(meta["weight_decay"]!)!, warmupEpochs: Int(meta["warmup_epochs"]!)!, epochs: Int(meta["epochs"]!)!,
            batchSize: 3, clipNorm: Float(meta["clip_norm"]!)!, seed: 5)
        var tuner = try FineTuner(backbone: try backbone(), classes: 3,
                                  task: meta["task"] == "multi_class" ? .multiClass : .multiLabel, configuration: configuration,
                                  stepsPerEpoch: Int(meta["steps_per_epoch"]!)!)
        var start = Dictionary(uniqueKeysWithValues: tuner.trainableParameters.map { ($0.key, $0.value) })
        for (key, value) in reference.tensors where key.hasPrefix("initial.") { start[String(key.dropFirst("initial.".count))] = value }
        try tuner.restore(parameters: start)
        return tuner
    }

    func checkParity(_ mode: String) throws {
        let reference = try CheckpointFile.read(contentsOf: Fixtures.url("finetune/\(mode).safetensors"))
        var tuner = try fineTuner(mode, reference: reference)
        var losses: [Float] = []
        for step in 0..<2 {
            let targets: ClassificationTargets = if let classes = reference["classes.\(step)"] {
                .classes(classes.scalars.map { Int($0) })
            } else {
                .findings(reference["findings.\(step)"]!)
            }
            losses.append(try tuner.step(images: reference["images.\(step)"]!, targets: targets, context: context))
        }
        XCTAssertEqual(tuner.steps, 2)
        for (swift, torch) in zip(losses, reference["loss"]!.scalars) { XCTAssertEqual(swift, torch, accuracy: 1e-5 * abs(torch), "\(mode) loss") }
        let after = reference.tensors.filter { $0.key.hasPrefix("after.") }
        XCTAssertEqual(Set(after.keys.map { String($0.dropFirst("after.".count)) }), Set(tuner.trainableKeys), "\(mode): trainable keys")
        let backboneRate = Float(reference.metadata["backbone_lr"]!)!
        for (key, value) in tuner.trainableParameters {
            var (swift, torch) = (value, reference["after." + key]!)
            if key.hasSuffix("attn.qkv.bias") {
                // The key bias's gradient is 0 in exact arithmetic (softmax is shift-invariant), so AdamW turns float
                // noise of either sign into steps of ±lr: within 2 steps of 2·lr of torch, and compared apart.
                let d = torch.count / 3
                let keys = (swift.scalars[d..<2 * d], torch.scalars[d..<2 * d])
                XCTAssertLessThanOrEqual(zip(keys.0, keys.1).map { abs($0 - $1) }.max()!, 4 * backboneRate, "\(mode) \(key) key part")
                swift = Tensor(shape: [2 * d], values: Array(swift.scalars[..<d] + swift.scalars[(2 * d)...]))
                torch = Tensor(shape: [2 * d], values: Array(torch.scalars[..<d] + torch.scalars[(2 * d)...]))
            }
            assertClose(swift, torch, tolerance: 1e-4 * torch.scalars.map(abs).max()!, "\(mode) \(key)")
        }
    }

    func testFullFineTuningStepsMatchTorch() throws { try checkParity("full") }
    func testLoRAStepsMatchTorch() throws { try checkParity("lora") }
    func testBitFitStepsMatchTorch() throws { try checkParity("bitfit") }
}
