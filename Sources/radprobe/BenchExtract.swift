import ArgumentParser
import Backbones
import Datasets
import Evaluation
import Foundation
import MedicalImaging
import Models
import TensorCore
import TensorKernels

/// `radprobe bench extract`: end-to-end feature extraction (decoding, preprocessing, forward passes and
/// store writes, as `radprobe extract` runs them) next to the bare forward pass of the same model.
struct BenchExtract: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "extract",
        abstract: "Measure end-to-end feature extraction (decode included) against the bare forward pass, with peak memory.",
        discussion: """
        Writes --distinct synthetic 16-bit PNG radiographs (the phantom of bench decode, each with its own \
        noise) of --side² pixels, lists them --images times in all through hard links (so every item is \
        decoded from its own path), and extracts the manifest dataset as `radprobe extract` does into a \
        temporary store. The bare forward pass runs the same model on batches of --batch-size first \
        (median of 3 after a warm-up). Peak RSS is the whole process's maximum: compare dataset sizes in \
        separate runs. Without --checkpoint the model has random weights (speed does not depend on them).
        """
    )

    @Option(help: "Items in the dataset.")
    var images: Int = 256

    @Option(help: "Distinct image files behind the items.")
    var distinct: Int = 64

    @Option(help: "Side of the generated images in pixels.")
    var side: Int = 1024

    @Option(help: "Checkpoint to run (default: random weights of --model).")
    var checkpoint: String?

    @Option(help: "Model size without --checkpoint: s, b, l, g.")
    var model: VisionTransformerConfiguration.Size = .small

    @Option(help: "Square input size.")
    var size: Int = 224

    @Option(help: "Blocks whose CLS (and patch tokens) are kept.")
    var layers: Int = 1

    @Option(help: "Patch tokens kept: none, mean or grid.")
    var patchTokens: FeatureStoreKey.PatchTokens = .none

    @Option(help: "Images per forward pass.")
    var batchSize: Int = 16

    @Option(help: "Items per chunk.")
    var chunkSize: Int = 64

    @Option(help: "Write the images and the store to this folder and keep them (default: a temporary folder, removed).")
    var keepFiles: String?

    @Flag(help: "Print one JSON object instead of text.")
    var json = false

    @OptionGroup var compute: ComputeOptions

    func validate() throws {
        if images < 1 || distinct < 1 { throw ValidationError("--images and --distinct must be at least 1.") }
        if side < 16 { throw ValidationError("--side must be at least 16.") }
        if layers < 1 || batchSize < 1 || chunkSize < 1 { throw ValidationError("--layers, --batch-size and --chunk-size must be at least 1.") }
    }

    func run() async throws {
        ComputeContext.keepLargeBuffersInTheHeap()
        let context = compute.context
        let manager = FileManager.default
        let folder = keepFiles.map { URL(fileURLWithPath: $0) }
            ?? URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("radprobe-bench-extract-\(UUID().uuidString)")
        defer { if keepFiles == nil { try? manager.removeItem(at: folder) } }
        let dataset = folder.appendingPathComponent("dataset")
        try CommandFailure.wrap { try Self.writeDataset(in: dataset, items: images, distinct: distinct, side: side) }
        let catalog = try CommandFailure.wrap { try ManifestDataset(modality: .xray).catalog(root: dataset) }

        let vit = try checkpoint.map { path in
            try CommandFailure.wrap { try LoadedBackbone(contentsOf: URL(fileURLWithPath: path)).model }
        } ?? BenchModels.randomModel(.dinov2(model))
        guard size % vit.configuration.patchSize == 0, layers <= vit.configuration.depth else {
            throw CommandFailure("--size \(size) must be a multiple of \(vit.configuration.patchSize) and --layers at most \(vit.configuration.depth)")
        }
        let input = Tensor(shape: [batchSize, 3, size, size], repeating: 0.5)
        let forwardSeconds = try BenchOutput.medianSeconds(repeats: 3) {
            _ = try vit.forward(input, layers: vit.lastBlocks(layers), normedLayers: true, context: context)
        }.seconds
        let forwardRate = Double(batchSize) / forwardSeconds
        let forwardRSS = BenchModels.peakResidentMiB()

        let backbone = Backbone(vit)
        let pipeline = backbone.preprocessing(size: size, modality: catalog.modality)
        let extractor = ItemFeatureExtractor(backbone: backbone, pipeline: pipeline, layers: layers, patchTokens: patchTokens,
                                             keepSlices: false, batchSize: batchSize, context: context)
        let sample = Array(catalog.items.prefix(min(distinct, 16)))
        let prepareStart = DispatchTime.now().uptimeNanoseconds
        _ = extractor.prepare(sample)
        let prepareMilliseconds = Double(DispatchTime.now().uptimeNanoseconds - prepareStart) / 1e6 / Double(sample.count)

        let writer = try CommandFailure.wrap {
            let key = try FeatureStoreKey(checkpointSHA256: String(repeating: "0", count: 64), preprocessing: pipeline.description,
                                          inputSize: size, lastBlocks: layers, normed: true, patchTokens: patchTokens)
            let plan = try FeatureStorePlan(key: key, dataset: catalog.name, labelSpace: catalog.labelSpace,
                                            items: catalog.items.map(FeatureStoreItem.init),
                                            features: ItemFeatureExtractor.featureSpecs(backbone: backbone, size: size, layers: layers,
                                                                                        patchTokens: patchTokens),
                                            chunkSize: chunkSize, radProbeVersion: RadProbeVersion.current)
            return try FeatureStoreWriter(at: folder.appendingPathComponent("store"), plan: plan)
        }
        let start = DispatchTime.now().uptimeNanoseconds
        try CommandFailure.wrap {
            _ = try extractor.writePendingChunks(of: catalog.items, to: writer) { _ in }
            try writer.finish()
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let rate = Double(images) / seconds
        let rss = BenchModels.peakResidentMiB()
        let output = BenchOutput(json: json)
        output.emit(["kind": "extract", "model": vit.configuration.sizeName, "size": size, "batch": batchSize, "chunk": chunkSize,
                     "images": images, "distinct_files": distinct, "image_side": side, "layers": layers,
                     "patch_tokens": patchTokens.rawValue, "threads": context.threads,
                     "forward_images_per_s": forwardRate, "forward_peak_rss_mib": forwardRSS,
                     "extract_seconds": seconds, "extract_images_per_s": rate, "fraction_of_forward": rate / forwardRate,
                     "prepare_ms_per_image": prepareMilliseconds, "peak_rss_mib": rss],
                    text: String(format: """
                    %@ at %d², batch %d, %d threads, %d items (%d distinct %d² 16-bit PNGs)
                    bare forward        %8.2f images/s   (peak RSS %.0f MiB)
                    end-to-end extract  %8.2f images/s   %.0f %% of the forward pass, %.1f s, peak RSS %.0f MiB
                    preparing one image %8.1f ms on one thread (decode, clip, resize, normalise)
                    """, vit.configuration.sizeName, size, batchSize, context.threads, images, distinct, side,
                                 forwardRate, forwardRSS, rate, 100 * rate / forwardRate, seconds, rss, prepareMilliseconds))
    }

    /// A manifest dataset in `folder`: `distinct` phantom PNGs (16-bit, `side`²) and `items` entries
    /// `item_N.png`, each a hard link to phantom `N mod distinct`, one patient each.
    static func writeDataset(in folder: URL, items: Int, distinct: Int, side: Int) throws {
        let manager = FileManager.default
        try manager.createDirectory(at: folder, withIntermediateDirectories: true)
        var generator: UInt64 = 0x5EED
        let sources = try (0..<min(distinct, items)).map { n -> URL in
            let url = folder.appendingPathComponent("phantom_\(n).png")
            let pixels = BenchmarkPhantom.slice(width: side, height: side, w: 0, offset: 1100, scale: 1.5, noise: 40, generator: &generator)
            try PNGWriter.write(Image2D(width: side, height: side, channels: 1, pixels: pixels), to: url, depth: .sixteen)
            return url
        }
        var rows = ["path,label,patient"]
        for n in 0..<items {
            let name = "item_\(n).png"
            try manager.linkItem(at: sources[n % sources.count], to: folder.appendingPathComponent(name))
            rows.append("\(name),a,P\(n)")
        }
        try AtomicFile.write(Data((rows.joined(separator: "\n") + "\n").utf8), to: folder.appendingPathComponent(ManifestDataset.fileName))
    }
}
