import ArgumentParser
import Backbones
import Checkpoints
import ConvolutionalNetworks
import Foundation
import SegmentAnything
import TensorCore
import TensorKernels

/// `radprobe bench backbones`: images/s of catalog presets' forward passes to their features.
struct BenchBackbones: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backbones",
        abstract: "Measure the images/s of backbone presets (random weights): ViTs of every family, SAM, ResNet, DenseNet, VGG.",
        discussion: """
        Runs each preset's forward pass (radprobe models list) to the features embed and extract take — a \
        ViT's normed tokens, SAM's neck, a CNN's pooled features and last stage (batch norm folded into the \
        convolutions) — on random images [batch, 3, size, size] with random weights (speed does not depend \
        on them): one warm-up, then --repeats timed runs, the median reported. --size defaults to each \
        preset's input size. scripts/bench_backbones.py runs this and the reference libraries in PyTorch in \
        the same run.
        """
    )

    @Option(parsing: .upToNextOption, help: "Presets, e.g. vit-l16-in21k resnet152 densenet201 vgg19 sam-vit-l.")
    var presets: [String] = ["vit-l16-in21k", "resnet152"]

    @Option(help: "Square input size (default: each preset's).")
    var size: Int?

    @Option(help: "Images per forward pass.")
    var batch: Int = 32

    @Option(help: "Timed runs per preset (the median is reported).")
    var repeats: Int = 3

    @Flag(help: "Print JSON lines instead of a table.")
    var json = false

    @OptionGroup var compute: ComputeOptions

    func validate() throws {
        if repeats < 1 || batch < 1 { throw ValidationError("--repeats and --batch must be at least 1.") }
        if let size, size < 32 { throw ValidationError("--size must be at least 32.") }
        if let unknown = presets.first(where: { BackboneCatalog.preset(named: $0) == nil }) {
            throw ValidationError("Unknown preset \(unknown); known: \(BackboneCatalog.presets.map(\.name).joined(separator: ", ")).")
        }
    }

    func run() async throws {
        ComputeContext.keepLargeBuffersInTheHeap()
        let context = compute.context
        let output = BenchOutput(json: json)
        output.emit(nil, text: "preset               size  batch  threads   images/s   seconds/batch   peak RSS MiB")
        for name in presets {
            let preset = BackboneCatalog.preset(named: name)!
            let side = size ?? preset.inputSize
            let backbone = try CommandFailure.wrap { try Self.randomBackbone(preset) }
            try CommandFailure.wrap { try backbone.checkInputSize(side) }
            var generator = SystemRandomNumberGenerator()
            let images = Tensor(shape: [batch, 3, side, side], values: (0..<batch * 3 * side * side).map { _ in Float.random(in: -2...2, using: &generator) })
            let seconds = try CommandFailure.wrap {
                try BenchOutput.medianSeconds(repeats: repeats) { try backbone.forward(images, context: context) }.seconds
            }
            let rss = BenchModels.peakResidentMiB()
            let record: [String: Any] = ["kind": "backbone_forward", "impl": "radprobe", "preset": name, "family": preset.family.rawValue,
                                         "size": side, "batch": batch, "threads": context.threads, "repeats": repeats,
                                         "seconds_per_batch": seconds, "images_per_s": Double(batch) / seconds, "peak_rss_mib": rss,
                                         "backend": BLAS.backend]
            output.emit(record, text: name.padding(toLength: 19, withPad: " ", startingAt: 0)
                + String(format: "  %4d  %5d  %7d  %9.2f  %14.3f  %13.0f", side, batch, context.threads, Double(batch) / seconds, seconds, rss))
        }
    }

    /// The preset's architecture with random weights.
    static func randomBackbone(_ preset: BackbonePreset) throws -> Backbone {
        switch preset.architecture {
        case let .transformer(configuration):
            return Backbone(BenchModels.randomModel(configuration), family: preset.family)
        case let .sam(configuration):
            var encoder = try SAMImageEncoder(configuration: configuration)
            var filler = RandomFiller()
            encoder.visitParameters(&filler, scope: ParameterScope())
            return Backbone(encoder)
        case let .convolutional(architecture):
            return Backbone(try ConvolutionalBackbone(stateDict: randomStateDict(architecture), preset: architecture))
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
