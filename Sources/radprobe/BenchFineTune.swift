import ArgumentParser
import ClassificationFineTuning
import FineTuning
import Foundation
import Models
import Randomness
import TensorCore
import TensorKernels

/// `radprobe bench finetune`: the speed and peak memory of one fine-tuning step (`FineTuner.step`: forward, linear
/// head, cross-entropy, backward, clipping, AdamW) per mode, each mode in a fresh process.
struct BenchFineTune: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "finetune",
        abstract: "Measure a fine-tuning step (full, LoRA, BitFit) of a DINOv2 classifier: median seconds and peak memory.",
        discussion: """
        Each mode runs FineTuner.step (training forward pass, linear head on the CLS token, cross-entropy over \
        --classes classes, backward pass, gradient clipping to norm 1, AdamW) on random images [batch, 3, size, \
        size] with random weights (speed does not depend on them): one warm-up step, then --repeats timed steps, \
        the median reported. Modes: full (every parameter), lora8 and lora48 (LoRA r = 8 or 48, alpha 16, dropout \
        0.1 on qkv, fc1, fc2; the backbone frozen), bitfit (biases only); the head always trains. Each mode runs in \
        a fresh process, so its peak RSS is its own (--in-process runs them here, one after the other). \
        scripts/bench_finetune.py measures the same in PyTorch.
        """
    )

    /// A fine-tuning mode of the benchmark.
    enum Mode: String, CaseIterable, ExpressibleByArgument {
        case full, lora8, lora48, bitfit

        func fineTuningMode() throws -> FineTuningMode {
            switch self {
            case .full: .full
            case .bitfit: .bitFit
            case .lora8: .lora(try LoRAConfiguration(rank: 8, alpha: 16, dropout: 0.1))
            case .lora48: .lora(.study)
            }
        }
    }

    @Option(parsing: .upToNextOption, help: "Fine-tuning modes to measure.")
    var modes: [Mode] = [.full, .lora8, .lora48]

    @Option(help: "DINOv2 model size.")
    var model: VisionTransformerConfiguration.Size = .small

    @Option(help: "Square input size (a multiple of 14).")
    var size: Int = 224

    @Option(help: "Images per step.")
    var batch: Int = 8

    @Option(help: "Classes of the head.")
    var classes: Int = 2

    @Option(help: "Timed steps per mode (the median is reported).")
    var repeats: Int = 5

    @Flag(help: "Recompute each block's activations in the backward pass (less memory, one more forward).")
    var recomputeBlocks = false

    @Flag(help: "Run every mode in this process instead of a fresh process each (peak RSS then covers all modes so far).")
    var inProcess = false

    @Flag(help: "Print JSON lines instead of a table.")
    var json = false

    @OptionGroup var compute: ComputeOptions

    func validate() throws {
        if repeats < 1 || batch < 1 { throw ValidationError("--repeats and --batch must be at least 1.") }
        if classes < 2 { throw ValidationError("--classes must be at least 2.") }
        if size <= 0 || size % 14 != 0 { throw ValidationError("--size \(size) is not a positive multiple of 14.") }
    }

    func run() async throws {
        let output = BenchOutput(json: json)
        output.emit(nil, text: "mode     model     size  batch  threads  trainable      step s  images/s  peak RSS MiB")
        for mode in modes {
            let record = try inProcess ? measure(mode) : measureInFreshProcess(mode)
            let label = mode.rawValue.padding(toLength: 8, withPad: " ", startingAt: 0)
            let modelName = (record["model"] as? String ?? "").padding(toLength: 9, withPad: " ", startingAt: 0)
            output.emit(record, text: label + " " + modelName + String(format: "%4d  %5d  %7d  %9d  %10.3f  %8.2f  %12.0f",
                                             size, batch, record["threads"] as? Int ?? 0,
                                             record["trainable_parameters"] as? Int ?? 0, record["step_s"] as? Double ?? .nan,
                                             Double(batch) / (record["step_s"] as? Double ?? .nan), record["peak_rss_mib"] as? Double ?? .nan))
        }
    }

    /// One mode's record, measured here.
    func measure(_ mode: Mode) throws -> [String: Any] {
        let context = compute.context
        let backbone = BenchModels.randomModel(.dinov2(model))
        var generator = SeededGenerator(seed: 7)
        let images = Tensor(shape: [batch, 3, size, size], values: (0..<batch * 3 * size * size).map { _ in Float(generator.uniform(in: -2...2)) })
        let targets = ClassificationTargets.classes((0..<batch).map { $0 % classes })
        var tuner = try CommandFailure.wrap {
            let configuration = try FineTuningConfiguration(mode: try mode.fineTuningMode(), headLearningRate: 1e-3, backboneLearningRate: 1e-5,
                                                            epochs: 1, batchSize: batch, clipNorm: 1, seed: 0, augmentation: false,
                                                            recomputeBlocks: recomputeBlocks)
            return try FineTuner(backbone: backbone, classes: classes, task: .multiClass, configuration: configuration, stepsPerEpoch: 1000)
        }
        let before = BenchModels.peakResidentMiB()
        let seconds = try CommandFailure.wrap {
            try BenchOutput.medianSeconds(repeats: repeats) { try tuner.step(images: images, targets: targets, context: context) }.seconds
        }
        return ["kind": "finetune_step", "impl": "radprobe", "mode": mode.rawValue, "model": backbone.configuration.sizeName, "size": size,
                "batch": batch, "classes": classes, "threads": context.threads, "recompute_blocks": recomputeBlocks, "repeats": repeats,
                "trainable_parameters": tuner.budget.trainable, "step_s": seconds, "images_per_s": Double(batch) / seconds,
                "rss_before_steps_mib": before, "peak_rss_mib": BenchModels.peakResidentMiB(), "backend": BLAS.backend]
    }

    /// One mode's record from this program run again with `--in-process --json` for that mode alone.
    func measureInFreshProcess(_ mode: Mode) throws -> [String: Any] {
        guard let executable = Bundle.main.executableURL else { throw CommandFailure("cannot find this program's path to run each mode in a fresh process; use --in-process") }
        var arguments = ["bench", "finetune", "--modes", mode.rawValue, "--model", model.rawValue, "--size", "\(size)", "--batch", "\(batch)",
                         "--classes", "\(classes)", "--repeats", "\(repeats)", "--in-process", "--json"]
        if recomputeBlocks { arguments.append("--recompute-blocks") }
        if let threads = compute.threads { arguments += ["--threads", "\(threads)"] }
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0,
              let line = String(decoding: data, as: UTF8.self).split(separator: "\n").last,
              let record = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
            throw CommandFailure("mode \(mode.rawValue) failed in its own process (exit status \(process.terminationStatus))")
        }
        return record
    }
}
