import ArgumentParser
import Checkpoints
import ConvolutionalNetworks
import Foundation
import TensorCore
import TensorKernels

/// `radprobe bench cnn`: images/s of a torchvision convolutional backbone's forward pass to its pooled features.
struct BenchCNN: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cnn",
        abstract: "Measure the images/s of a torchvision ResNet, DenseNet or VGG backbone (random weights).",
        discussion: """
        Runs the preset's evaluation-mode forward pass to its pooled features (batch norm folded into the \
        convolutions) on random images [batch, 3, size, size] with random weights (speed does not depend on \
        them): one warm-up, then --repeats timed runs, the median reported. scripts/bench_cnn.py measures \
        torchvision in PyTorch on the same shapes.
        """
    )

    @Option(parsing: .upToNextOption, help: "torchvision presets, e.g. resnet152 densenet201 vgg19.")
    var presets: [String] = ["resnet152"]

    @Option(help: "Square input size.")
    var size: Int = 224

    @Option(help: "Images per forward pass.")
    var batch: Int = 32

    @Option(help: "Timed runs per preset (the median is reported).")
    var repeats: Int = 3

    @Flag(help: "Print JSON lines instead of a table.")
    var json = false

    @OptionGroup var compute: ComputeOptions

    func validate() throws {
        if repeats < 1 || batch < 1 { throw ValidationError("--repeats and --batch must be at least 1.") }
        if size < 32 { throw ValidationError("--size must be at least 32.") }
    }

    func run() async throws {
        let context = compute.context
        let output = BenchOutput(json: json)
        output.emit(nil, text: "preset        size  batch  threads   images/s   seconds/batch")
        for name in presets {
            let architecture = try CommandFailure.wrap { try ConvolutionalArchitecture(preset: name) }
            let backbone = try CommandFailure.wrap { try ConvolutionalBackbone(stateDict: Self.randomStateDict(architecture), preset: architecture) }
            var generator = SystemRandomNumberGenerator()
            let images = Tensor(shape: [batch, 3, size, size], values: (0..<batch * 3 * size * size).map { _ in Float.random(in: -2...2, using: &generator) })
            let seconds = try CommandFailure.wrap {
                try BenchOutput.medianSeconds(repeats: repeats) { try backbone.features(images, context: context) }.seconds
            }
            let record: [String: Any] = ["kind": "cnn_forward", "impl": "radprobe", "preset": name, "size": size, "batch": batch,
                                         "threads": context.threads, "repeats": repeats, "seconds_per_batch": seconds,
                                         "images_per_s": Double(batch) / seconds, "backend": BLAS.backend]
            output.emit(record, text: name.padding(toLength: 12, withPad: " ", startingAt: 0)
                + String(format: "  %4d  %5d  %7d  %9.2f  %14.3f", size, batch, context.threads, Double(batch) / seconds, seconds))
        }
    }

    /// The preset's tensors at torchvision's shapes: weights uniform in ±√(6 / fan-in) (He), biases 0,
    /// batch norm the identity (γ 1, β 0, mean 0, variance 1), as a freshly initialised torchvision model.
    static func randomStateDict(_ architecture: ConvolutionalArchitecture) -> StateDict {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        var tensors: [String: Tensor] = [:]
        for (key, shape) in architecture.parameterShapes {
            if shape.count >= 2 {
                let bound = (6 / Float(shape.dropFirst().reduce(1, *))).squareRoot()
                tensors[key] = Tensor(uninitializedShape: shape) { values in
                    for i in values.indices {
                        state ^= state << 13; state ^= state >> 7; state ^= state << 17
                        values[i] = (Float(state >> 40) / Float(1 << 24) * 2 - 1) * bound
                    }
                }
            } else {
                tensors[key] = Tensor(shape: shape, repeating: key.hasSuffix(".weight") || key.hasSuffix("running_var") ? 1 : 0)
            }
        }
        return StateDict(tensors, source: "random \(architecture)")
    }
}
