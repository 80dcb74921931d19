import ArgumentParser
import Convolution
import Foundation
import MedicalImaging
import Models
import Randomness
import SegmentationDecoders
import SegmentationTraining
import TensorCore
import TensorKernels
import Training

/// `radprobe bench segment`: the speed of frozen-backbone segmentation: one U-Net decoder training step
/// on cached ViT-S/14 grids, whole-volume CT inference, and optionally one step of the U-Net trained from scratch.
struct BenchSegment: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "segment",
        abstract: "Measure segmentation speed: a U-Net decoder training step on ViT-S/14 grids and whole-volume CT inference.",
        discussion: """
        decoder step: the U-Net decoder's forward, Dice + cross-entropy loss, backward and AdamW step on five \
        random grids [batch, 384, size/14, size/14] (the cached normed patch tokens of ViT-S/14's last five \
        blocks), --repeats timed steps after one warm-up, the median reported. \
        volume inference: a synthetic 512×512 CT volume of --slices slices (a phantom in HU) through the study's \
        CT preprocessing (window [−1024, 600] HU over the volume, min–max, grey to RGB, resize to --size, \
        ImageNet normalisation), ViT-S/14's last five blocks, the decoder in evaluation mode with logits at the \
        slice's 512×512, the arg-max over the classes and the copy of each label slice into a 512×512×slices \
        label volume; --batch slices per forward pass. Seconds per volume are extrapolated to --volume-depth \
        slices (100 by default) when --slices is smaller, and labelled so. \
        --scratch adds one training step of the U-Net trained from scratch (--scratch-width, --scratch-batch) \
        on images of --size. Random weights throughout: speed does not depend on them. \
        scripts/bench_segmentation.py measures the same in PyTorch.
        """
    )

    @Option(help: "Segmentation classes (background included).")
    var classes: Int = 2

    @Option(help: "Images per training step, and slices per forward pass in volume inference.")
    var batch: Int = 8

    @Option(help: "Square model input size (a multiple of 14).")
    var size: Int = 448

    @Option(help: "Timed training steps (the median is reported).")
    var repeats: Int = 3

    @Option(help: "Slices of the CT volume to run through inference.")
    var slices: Int = 100

    @Option(help: "Slices of the volume that seconds per volume are given for (extrapolated from --slices when larger).")
    var volumeDepth: Int = 100

    @Flag(help: "Skip the decoder training step.")
    var skipDecoder = false

    @Flag(help: "Skip whole-volume inference.")
    var skipVolume = false

    @Flag(help: "Also time one training step of the U-Net trained from scratch (slow at width 64).")
    var scratch = false

    @Option(help: "Base width of the scratch U-Net (64: the classic 31 M-parameter network).")
    var scratchWidth: Int = 64

    @Option(help: "Images per scratch U-Net step (default: --batch).")
    var scratchBatch: Int?

    @Flag(help: "Print JSON lines instead of text.")
    var json = false

    @OptionGroup var compute: ComputeOptions

    func validate() throws {
        if classes < 2 { throw ValidationError("--classes must be at least 2.") }
        if batch < 1 || repeats < 1 || slices < 1 || volumeDepth < 1 { throw ValidationError("--batch, --repeats, --slices and --volume-depth must be at least 1.") }
        if size <= 0 || size % 14 != 0 { throw ValidationError("--size \(size) is not a positive multiple of 14.") }
        if size % ScratchUNetConfiguration.sideMultiple != 0 && scratch {
            throw ValidationError("--scratch needs --size to be a multiple of \(ScratchUNetConfiguration.sideMultiple).")
        }
        if scratchWidth < 1 || (scratchBatch ?? 1) < 1 { throw ValidationError("--scratch-width and --scratch-batch must be at least 1.") }
    }

    func run() async throws {
        let context = compute.context
        let output = BenchOutput(json: json)
        try CommandFailure.wrap {
            if !skipDecoder { try benchDecoderStep(output: output, context: context) }
            if !skipVolume { try benchVolumeInference(output: output, context: context) }
            if scratch { try benchScratchStep(output: output, context: context) }
        }
    }

    /// ViT-S/14's width and the side of its patch grid at `size`.
    private var grid: (width: Int, side: Int) { (VisionTransformerConfiguration.dinov2(.small).width, size / 14) }

    private func benchDecoderStep(output: BenchOutput, context: ComputeContext) throws {
        var generator = SeededGenerator(seed: 1)
        var decoder = try UNetDecoder(configuration: UNetDecoderConfiguration(embedDimension: grid.width, classes: classes), generator: &generator)
        let grids = (0..<UNetDecoderConfiguration.inputCount).map { _ in
            Self.randomTensor([batch, grid.width, grid.side, grid.side], generator: &generator)
        }
        let labels = Self.randomLabels(batch * size * size, classes: classes, generator: &generator)
        var trainer = try SegmentationStepTimer(parameters: decoder.trainableParameters().keys.count)
        let (seconds, phases) = try BenchOutput.medianSeconds(repeats: repeats) {
            try trainer.step(&decoder, labels: labels, context: context) { model in
                try model.forwardTraining(grids, imageSize: Size2D(size), context: context)
            } backward: { model, gradient, cache in
                try model.backward(gradient, cache: cache, context: context)
            }
        }
        output.emit(["kind": "decoder_step", "model": "ViT-S/14", "size": size, "batch": batch, "classes": classes, "threads": context.threads,
                     "seconds": seconds, "images_per_s": Double(batch) / seconds, "phases_seconds": phases.record,
                     "peak_rss_mib": BenchModels.peakResidentMiB()],
                    text: String(format: "U-Net decoder step (ViT-S/14 grids %d×%d, %d², batch %d, %d classes, %d threads): %.3f s (%@), peak RSS %.0f MiB",
                                 grid.side, grid.side, size, batch, classes, context.threads, seconds, phases.description, BenchModels.peakResidentMiB()))
    }

    private func benchScratchStep(output: BenchOutput, context: ComputeContext) throws {
        let images = scratchBatch ?? batch
        var generator = SeededGenerator(seed: 2)
        var network = try ScratchUNet(configuration: ScratchUNetConfiguration(inputChannels: 3, classes: classes, baseWidth: scratchWidth),
                                      generator: &generator)
        let input = Self.randomTensor([images, 3, size, size], generator: &generator)
        let labels = Self.randomLabels(images * size * size, classes: classes, generator: &generator)
        var trainer = try SegmentationStepTimer(parameters: network.trainableParameters().keys.count)
        let (seconds, phases) = try BenchOutput.medianSeconds(repeats: repeats) {
            try trainer.step(&network, labels: labels, context: context) { model in
                try model.forwardTraining(input, context: context)
            } backward: { model, gradient, cache in
                try model.backward(gradient, cache: cache, context: context)
            }
        }
        output.emit(["kind": "scratch_step", "width": scratchWidth, "parameters": network.parameterCount, "size": size, "batch": images,
                     "classes": classes, "threads": context.threads, "seconds": seconds, "images_per_s": Double(images) / seconds,
                     "phases_seconds": phases.record, "peak_rss_mib": BenchModels.peakResidentMiB()],
                    text: String(format: "Scratch U-Net step (w = %d, %.1f M parameters, %d², batch %d, %d threads): %.3f s (%@), peak RSS %.0f MiB",
                                 scratchWidth, Double(network.parameterCount) / 1e6, size, images, context.threads, seconds, phases.description,
                                 BenchModels.peakResidentMiB()))
    }

    private func benchVolumeInference(output: BenchOutput, context: ComputeContext) throws {
        let side = 512
        let volume = Self.phantomVolume(side: side, depth: slices)
        let vit = BenchModels.randomModel(.dinov2(.small))
        var generator = SeededGenerator(seed: 3)
        let decoder = try UNetDecoder(configuration: UNetDecoderConfiguration(embedDimension: grid.width, classes: classes), generator: &generator)
        let encoder = try SegmentationInputEncoder(kind: decoder.inputKind, backbone: vit, context: context)
        let pipeline = PreprocessingPipeline.study(size: size, modality: .ct)
        var phases = PhaseClock()
        var labels = [UInt8](repeating: 0, count: side * side * slices) // [slices, 512, 512]
        let start = DispatchTime.now().uptimeNanoseconds
        let images = try phases.time("preprocess") { try pipeline.slices(of: volume, axis: .axial) }
        for first in stride(from: 0, to: slices, by: batch) {
            let chunk = Array(images[first..<min(first + batch, slices)])
            let grids = try phases.time("backbone") { try encoder.encode(chunk) }
            let logits = try phases.time("decoder") { try decoder.forwardInference(grids, imageSize: Size2D(side), context: context) }
            phases.time("argmax") { Self.writeArgMax(logits, into: &labels, firstSlice: first) }
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let perSlice = seconds / Double(slices)
        let extrapolated = slices < volumeDepth
        output.emit(["kind": "volume_inference", "model": "ViT-S/14", "size": size, "batch": batch, "classes": classes, "threads": context.threads,
                     "volume": "512x512x\(slices)", "slices": slices, "seconds": seconds, "seconds_per_slice": perSlice,
                     "slices_per_s": 1 / perSlice, "volume_depth": volumeDepth, "seconds_per_volume": perSlice * Double(volumeDepth),
                     "seconds_per_volume_extrapolated": extrapolated, "phases_seconds": phases.record,
                     "labelled_voxels": labels.reduce(0) { $0 + ($1 > 0 ? 1 : 0) }, "peak_rss_mib": BenchModels.peakResidentMiB()],
                    text: String(format: """
                    Volume inference (512×512×%d CT, ViT-S/14 at %d², U-Net decoder, %d classes, %d slices per pass, %d threads): \
                    %.2f s for %d slices, %.3f s per slice, %.2f slices/s (%@)
                    %@ %.1f s per 512×512×%d volume, peak RSS %.0f MiB
                    """, slices, size, classes, batch, context.threads, seconds, slices, perSlice, 1 / perSlice, phases.description,
                                 extrapolated ? "extrapolated from \(slices) slices:" : "measured:", perSlice * Double(volumeDepth), volumeDepth,
                                 BenchModels.peakResidentMiB()))
    }

    /// Values uniform in [−1, 1) from `generator`.
    static func randomTensor(_ shape: [Int], generator: inout SeededGenerator) -> Tensor {
        Tensor(shape: shape, values: (0..<Tensor.elementCount(shape)).map { _ in Float(generator.uniform(in: -1...1)) })
    }

    /// Class indices uniform in `0..<classes`.
    static func randomLabels(_ count: Int, classes: Int, generator: inout SeededGenerator) -> [Int] {
        (0..<count).map { _ in generator.integer(below: classes) }
    }

    /// A `side × side × depth` phantom CT in HU (spacing 0.7 × 0.7 × 2.5 mm).
    static func phantomVolume(side: Int, depth: Int) -> Volume {
        var noise: UInt64 = 0x5EED
        var voxels: [Float] = []
        voxels.reserveCapacity(side * side * depth)
        for k in 0..<depth {
            voxels += BenchmarkPhantom.slice(width: side, height: side, w: 2 * (Double(k) + 0.5) / Double(depth) - 1, offset: 0, scale: 1,
                                             noise: 20, generator: &noise)
        }
        return Volume(size: [side, side, depth], voxels: voxels, spacing: [0.7, 0.7, 2.5], storedType: "int16")
    }

    /// The arg-max over the classes of `logits` `[B, K, H, W]` written as slices `firstSlice ..< firstSlice + B`
    /// of `labels` `[slices, H, W]` (the first maximum wins ties).
    static func writeArgMax(_ logits: Tensor, into labels: inout [UInt8], firstSlice: Int) {
        let (b, k, pixels) = (logits.shape[0], logits.shape[1], logits.shape[2] * logits.shape[3])
        logits.withUnsafeBufferPointer { x in
            labels.withUnsafeMutableBufferPointer { out in
                for item in 0..<b {
                    let destination = out.baseAddress! + (firstSlice + item) * pixels
                    let planes = x.baseAddress! + item * k * pixels
                    for i in 0..<pixels {
                        var best = planes[i], label = 0
                        for c in 1..<k where planes[c * pixels + i] > best { (best, label) = (planes[c * pixels + i], c) }
                        destination[i] = UInt8(label)
                    }
                }
            }
        }
    }
}

/// Wall time per named phase, summed over calls.
struct PhaseClock {
    private(set) var seconds: [(name: String, seconds: Double)] = []

    mutating func time<Result>(_ name: String, _ body: () throws -> Result) rethrows -> Result {
        let start = DispatchTime.now().uptimeNanoseconds
        let result = try body()
        let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        if let index = seconds.firstIndex(where: { $0.name == name }) { seconds[index].seconds += elapsed } else { seconds.append((name, elapsed)) }
        return result
    }

    /// The phases by name, for JSON.
    var record: [String: Double] { Dictionary(uniqueKeysWithValues: seconds.map { ($0.name, $0.seconds) }) }

    /// `name 1.23 s, …` in order.
    var description: String { seconds.map { String(format: "%@ %.3f s", $0.name, $0.seconds) }.joined(separator: ", ") }
}

/// One timed training step: forward, Dice + cross-entropy loss, backward, AdamW (lr 1e-3, weight decay 0.01).
struct SegmentationStepTimer {
    private var optimizer: AdamW
    private let loss: DiceCrossEntropyLoss

    init(parameters: Int) throws {
        loss = try DiceCrossEntropyLoss(dice: try DiceLoss())
        optimizer = try AdamW(parameterCount: parameters, groups: [ParameterGroup(parameters: Array(0..<parameters), learningRate: 1e-3)])
    }

    /// Runs one step on `model`; the phases' wall times.
    mutating func step<Model: ParameterContainer, Cache>(
        _ model: inout Model, labels: [Int], context: ComputeContext,
        forward: (inout Model) throws -> (output: Tensor, cache: Cache),
        backward: (Model, Tensor, Cache) throws -> DecoderGradients
    ) throws -> PhaseClock {
        var clock = PhaseClock()
        let (logits, cache) = try clock.time("forward") { try forward(&model) }
        let result = try clock.time("loss") { try loss.loss(logits: logits, labels: labels) }
        let gradients = try clock.time("backward") { try backward(model, result.gradient, cache) }
        try clock.time("adamw") {
            var (keys, parameters) = model.trainableParameters()
            try optimizer.step(parameters: &parameters, gradients: try keys.map { key in
                guard let gradient = gradients.parameters[key] else { throw CommandFailure("no gradient for \(key)") }
                return gradient
            })
            try model.setTrainableParameters(parameters)
        }
        return clock
    }
}
