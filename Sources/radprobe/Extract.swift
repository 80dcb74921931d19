import ArgumentParser
import Backbones
import Datasets
import Evaluation
import Foundation
import MedicalImaging
import Models
import TensorCore
import TensorKernels

/// `radprobe extract`: `run` (the default, so `radprobe extract NAME …` runs it) and `merge`.
struct Extract: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Extract a dataset's backbone features into a feature store (extract run, the default) and merge shard stores (extract merge).",
        subcommands: [ExtractRun.self, ExtractMerge.self],
        defaultSubcommand: ExtractRun.self
    )
}

/// `radprobe extract [run] NAME --root DIR --checkpoint FILE --out STORE`: a dataset's features, once, into
/// a feature store that resumes after a crash; with `--shard I/N`, one shard of the catalog.
struct ExtractRun: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Extract a dataset's backbone features into a feature store (resumable; see docs/feature-store.md).",
        discussion: """
        Stored per item: cls [L, D] (normed CLS of the last L blocks), and with --patch-tokens mean \
        patch_mean [L, D] (mean of those blocks' patch tokens) or with grid patch_grid [L, N, D] (those \
        blocks' patch tokens, the grids radprobe segment --features reads). SAM and the CNNs give one level \
        (L = 1): SAM's pooled neck and its tokens, a CNN's pooled features and its last stage's map. \
        Images go through the backbone family's preprocessing (radprobe models list). A volume or a scan stored as \
        slices is embedded slice by slice (axial, in radiological orientation) and its features are the \
        mean over slices; each slice's features are \
        kept too (slices/<feature>.npy) unless --no-slice-features. Items that cannot be read are \
        skipped, recorded with their error in the store and listed at the end. Running again with the same \
        checkpoint, preprocessing, size and layers continues where an interrupted run stopped. With \
        --shard I/N the store holds the items whose catalog position modulo N is I and records the shard; \
        `radprobe extract merge` joins the N shard stores (see docs/cluster.md).
        """
    )

    @OptionGroup var dataset: DatasetOptions

    @OptionGroup var backboneOptions: BackboneOptions

    @Option(help: "Square input size (default: the model's input size; for a ViT a multiple of the patch size; 224 or 448 in the study).")
    var size: Int?

    @Option(help: "Blocks whose CLS (and patch mean or grid) are kept: the last N, normed (default: 4, or 1 for SAM and the CNNs).")
    var layers: Int?

    @Option(help: "Patch tokens kept: none, mean (per kept block) or grid (every token of each kept block, for segmentation).")
    var patchTokens: FeatureStoreKey.PatchTokens = .mean

    @Flag(inversion: .prefixedNo, help: "Keep every slice's features of a volume beside their mean (default: on for volume datasets).")
    var sliceFeatures: Bool?

    @Option(help: "Items per chunk (the unit written atomically and resumed).")
    var chunkSize: Int = 64

    @Option(help: "Images per forward pass.")
    var batchSize: Int = 16

    @Option(help: "Extract only shard I of N (items whose position modulo N is I), written as its own store; join them with extract merge.")
    var shard: String?

    @Option(help: "The feature store folder (created, or resumed when it holds the same key).")
    var out: String

    @OptionGroup var compute: ComputeOptions

    func validate() throws {
        if let layers, layers < 1 { throw ValidationError("--layers must be at least 1 (got \(layers)).") }
        if let size, size < 1 { throw ValidationError("--size must be positive (got \(size)).") }
        if chunkSize < 1 || batchSize < 1 { throw ValidationError("--chunk-size and --batch-size must be at least 1.") }
        if let shard, Self.parseShard(shard) == nil { throw ValidationError("--shard must be I/N with 0 ≤ I < N (got \(shard)).") }
    }

    /// `I/N` → (I, N).
    static func parseShard(_ text: String) -> (index: Int, count: Int)? {
        let parts = text.split(separator: "/").compactMap { Int($0) }
        guard parts.count == 2, parts[1] >= 1, (0..<parts[1]).contains(parts[0]) else { return nil }
        return (parts[0], parts[1])
    }

    func run() async throws {
        let catalog = try dataset.catalog()
        var items = catalog.items
        var storeShard: FeatureShard?
        if let shard, let (index, count) = Self.parseShard(shard) {
            items = items.enumerated().filter { $0.offset % count == index }.map(\.element)
            storeShard = FeatureShard(index: index, count: count, totalItems: catalog.items.count)
        }
        let (backbone, checkpointURL) = try backboneOptions.load()
        let extraction = FeatureExtraction(catalog: catalog, items: items, backbone: backbone, checkpoint: checkpointURL,
                                           preprocessing: backboneOptions.preprocessing,
                                           size: size ?? backbone.defaultInputSize, layers: layers ?? min(4, backbone.layerCount),
                                           patchTokens: patchTokens, keepSlices: sliceFeatures ?? catalog.holdsVolumes, chunkSize: chunkSize,
                                           batchSize: batchSize, shard: storeShard, out: URL(fileURLWithPath: out))
        let (plan, skippedTotal) = try extraction.run(context: compute.context) { done, total in
            print("resuming \(out): \(done) of \(total) chunks already written")
        }
        for item in skippedTotal { print("skipped: \(item.id): \(item.error)") }
        if !catalog.problems.isEmpty {
            print("\(catalog.problems.count) entries of the dataset's layout could not be used (the problem: lines; recorded as layout_problems in the store)")
        }
        print(storeSummary(out, plan: plan,
                           items: "\(items.count) items\(shard.map { " (shard \($0))" } ?? ""), \(skippedTotal.count) skipped in this run"))
    }
}

/// One extraction of `items` of a catalog into the feature store at `out` (created, or resumed when it
/// holds the same key): `backbone` (read from `checkpoint`) checked against `size` and `layers`, its
/// family's preprocessing, and every pending chunk written with progress on standard error.
struct FeatureExtraction {
    let catalog: DatasetCatalog
    let items: [DatasetItem]
    let backbone: Backbone
    let checkpoint: URL
    var preprocessing: BackboneOptions.Preprocessing = .family
    let size: Int
    let layers: Int
    let patchTokens: FeatureStoreKey.PatchTokens
    let keepSlices: Bool
    let chunkSize: Int
    let batchSize: Int
    let shard: FeatureShard?
    let out: URL

    /// Writes the pending chunks; `resuming` gets the chunks already written and their total when a run
    /// continues. Returns the store's plan and the items skipped in this run.
    func run(context: ComputeContext, resuming: (Int, Int) -> Void) throws -> (plan: FeatureStorePlan, skipped: [SkippedItem]) {
        do { try backbone.checkInputSize(size) } catch { throw CommandFailure("--size \(size): \(error)") }
        guard layers <= backbone.layerCount else {
            throw CommandFailure("--layers \(layers) exceeds the \(backbone.layerCount) layer\(backbone.layerCount == 1 ? "" : "s") of features \(backbone.architectureName) gives")
        }
        let pipeline = preprocessing.pipeline(for: backbone, size: size, modality: catalog.modality)
        let features = ItemFeatureExtractor.featureSpecs(backbone: backbone, size: size, layers: layers, patchTokens: patchTokens)
        let writer = try CommandFailure.wrap {
            let key = try FeatureStoreKey(checkpoint: checkpoint, preprocessing: pipeline, inputSize: size,
                                          lastBlocks: layers, normed: true, patchTokens: patchTokens)
            let plan = try FeatureStorePlan(key: key, dataset: catalog.name, labelSpace: catalog.labelSpace,
                                            items: items.map(FeatureStoreItem.init), features: features, chunkSize: chunkSize,
                                            radProbeVersion: RadProbeVersion.current, shard: shard,
                                            sliceFeatures: keepSlices,
                                            layoutProblems: catalog.problems.map { LayoutProblem(file: $0.file, problem: $0.problem) },
                                            label: out.path)
            return try FeatureStoreWriter(at: out, plan: plan)
        }
        let pending = writer.pendingChunks
        if !writer.completedChunks.isEmpty { resuming(writer.completedChunks.count, writer.completedChunks.count + pending.count) }
        let extractor = ItemFeatureExtractor(backbone: backbone, pipeline: pipeline, layers: layers, patchTokens: patchTokens,
                                             keepSlices: keepSlices, batchSize: batchSize, context: context)
        let progress = ProgressReporter(total: pending.reduce(0) { $0 + writer.plan.itemRange(ofChunk: $1).count }, unit: "items")
        let skipped = try CommandFailure.wrap { try extractor.writePendingChunks(of: items, to: writer) { progress.advance(by: $0) } }
        progress.finish()
        _ = try CommandFailure.wrap { try writer.finish() }
        return (writer.plan, skipped)
    }
}

/// `radprobe extract merge SHARD_STORE... --out STORE`: the finished stores of the N shards of one
/// extraction joined into the store a single run would have written.
struct ExtractMerge: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge",
        abstract: "Merge the stores of the N shards of one extraction (extract --shard I/N) into one feature store.",
        discussion: """
        Every shard store must be finished and come from the same checkpoint, preprocessing, size, layers, \
        patch tokens, dataset, label names, shard count, catalog size and RadProbe version, and each shard \
        0..N-1 must be given exactly once. Items are put back in catalog order, skipped items carried over. \
        The merged store resumes like any store if the merge is interrupted.
        """
    )

    @Argument(help: ArgumentHelp("The shard stores, in any order.", valueName: "shard-store"))
    var shards: [String]

    @Option(help: "The merged feature store folder (created, or resumed when it holds the same plan).")
    var out: String

    @Option(help: "Items per chunk of the merged store (default: the shards' chunk size).")
    var chunkSize: Int?

    func validate() throws {
        if shards.isEmpty { throw ValidationError("Give the shard stores to merge.") }
        if let chunkSize, chunkSize < 1 { throw ValidationError("--chunk-size must be at least 1 (got \(chunkSize)).") }
    }

    func run() async throws {
        let store = try CommandFailure.wrap {
            try FeatureStore.merge(shards: shards.map { URL(fileURLWithPath: $0) }, into: URL(fileURLWithPath: out), chunkSize: chunkSize)
        }
        print(storeSummary(out, plan: store.plan,
                           items: "\(store.plan.items.count) items from \(shards.count) shards, \(store.manifest.skipped.count) skipped"))
    }
}

extension FeatureStoreKey.PatchTokens: ExpressibleByArgument {}

/// The lines `extract` and `extract merge` end with: the store and its key, the dataset and `items`, the features.
func storeSummary(_ path: String, plan: FeatureStorePlan, items: String) -> String {
    """
    store     \(path) (key \(plan.key.key.prefix(16))…)
    dataset   \(plan.dataset), \(items)
    features  \(plan.features.map { "\($0.name) \(describeShape($0.itemShape))" }.joined(separator: ", "))
    """
}

/// Turns dataset items into feature rows in two steps, so that `ChunkPrefetcher` can run the first on
/// the next chunk while the second runs on this one: `prepare` (every 2D image of an item — one for a
/// picture, every axial slice for a volume or a folder of slices — through the pipeline) and `rows`
/// (forward passes over batches that may span items, and per item the mean over its images of the CLS
/// of the chosen blocks and the patch features, with each image's own features when `keepSlices`).
struct ItemFeatureExtractor {
    let backbone: Backbone
    let pipeline: PreprocessingPipeline
    let layers: Int
    let patchTokens: FeatureStoreKey.PatchTokens
    let keepSlices: Bool
    let batchSize: Int
    let context: ComputeContext

    /// One chunk's items decoded and preprocessed: every model input with the item it belongs to, in
    /// item order, and the items that could not be read.
    struct PreparedChunk: Sendable {
        let items: [DatasetItem]
        let inputs: [(item: Int, input: Image2D)]
        let skipped: [SkippedItem]
    }

    /// Writes every pending chunk of `writer` (whose plan lists `items`), preparing the next chunk on a
    /// background thread while this one runs through the model; `advance` gets each chunk's item count
    /// once it is written. Returns the items skipped on the way.
    func writePendingChunks(of items: [DatasetItem], to writer: FeatureStoreWriter, advance: (Int) -> Void) throws -> [SkippedItem] {
        let pending = writer.pendingChunks
        let chunkItems = pending.map { Array(items[writer.plan.itemRange(ofChunk: $0)]) }
        let prefetcher = ChunkPrefetcher(count: pending.count) { prepare(chunkItems[$0]) }
        var skipped: [SkippedItem] = []
        for chunk in pending {
            let prepared = prefetcher.next()
            try writer.write(chunk: chunk, rows: try rows(for: prepared), skipped: prepared.skipped)
            skipped += prepared.skipped
            advance(prepared.items.count)
        }
        return skipped
    }

    /// Decodes and preprocesses `items` (see `inputs(of:pipeline:)`); an item that cannot be read is skipped
    /// with its error.
    func prepare(_ items: [DatasetItem]) -> PreparedChunk {
        var inputs: [(item: Int, input: Image2D)] = [], skipped: [SkippedItem] = []
        for (index, item) in items.enumerated() {
            do { inputs += try Self.inputs(of: item, pipeline: pipeline).map { (index, $0) } } catch {
                skipped.append(SkippedItem(id: item.id, error: String(describing: error)))
            }
        }
        return PreparedChunk(items: items, inputs: inputs, skipped: skipped)
    }

    /// The rows of a prepared chunk: forward passes over batches of `batchSize` inputs (which may span
    /// items), then per item the mean over its inputs (and the inputs' own features, in order).
    func rows(for chunk: PreparedChunk) throws -> [FeatureRow] {
        var sums: [[String: [Float]]] = Array(repeating: [:], count: chunk.items.count)
        var slices: [[String: [Float]]] = Array(repeating: [:], count: chunk.items.count)
        var imageCounts = [Int](repeating: 0, count: chunk.items.count)
        for start in stride(from: 0, to: chunk.inputs.count, by: batchSize) {
            let batch = chunk.inputs[start ..< min(start + batchSize, chunk.inputs.count)]
            let tensor = Tensor.concatenate(batch.map { $0.input.tensor.reshaped([1, $0.input.channels, $0.input.height, $0.input.width]) })
            let outputs = try backbone.forward(tensor, lastLayers: layers, context: context).layers
            for (row, entry) in batch.enumerated() {
                for (name, values) in features(of: outputs, row: row) {
                    let sum = sums[entry.item][name] ?? [Float](repeating: 0, count: values.count)
                    sums[entry.item][name] = zip(sum, values).map(+)
                    if keepSlices { slices[entry.item][name, default: []] += values }
                }
                imageCounts[entry.item] += 1
            }
        }
        return chunk.items.indices.compactMap { index -> FeatureRow? in
            guard imageCounts[index] > 0 else { return nil }
            let scale = 1 / Float(imageCounts[index])
            return FeatureRow(id: chunk.items[index].id, features: sums[index].mapValues { $0.map { $0 * scale } },
                              slices: slices[index], sliceCount: keepSlices ? imageCounts[index] : 0)
        }
    }

    /// The arrays stored per item for a backbone at square input `size`: `cls` [L, D], and `patch_mean`
    /// [L, C] or `patch_grid` [L, N, C] as `patchTokens` asks (C = D but for VGG).
    static func featureSpecs(backbone: Backbone, size: Int, layers: Int, patchTokens: FeatureStoreKey.PatchTokens) -> [FeatureSpec] {
        let cls = FeatureSpec(name: "cls", itemShape: [layers, backbone.featureWidth])
        let width = backbone.patchWidth, side = backbone.gridSide(inputSize: size)
        switch patchTokens {
        case .none: return [cls]
        case .mean: return [cls, FeatureSpec(name: "patch_mean", itemShape: [layers, width])]
        case .grid: return [cls, PatchGridFeature(blocks: layers, tokens: side * side, width: width).spec]
        }
    }

    /// The features of batch row `row`: `cls` [L, D], and `patch_mean` [L, D] or `patch_grid` [L, N, D].
    func features(of outputs: [BackboneOutput.Layer], row: Int) -> [String: [Float]] {
        var result = ["cls": outputs.flatMap { $0.cls.slice(outer: row..<row + 1).scalars }]
        switch patchTokens {
        case .none: break
        case .mean:
            result["patch_mean"] = outputs.flatMap { layer -> [Float] in
                let tokens = layer.patches.slice(outer: row..<row + 1), n = tokens.shape[1], d = tokens.shape[2]
                var mean = [Float](repeating: 0, count: d)
                tokens.withUnsafeBufferPointer { values in
                    for t in 0..<n { for c in 0..<d { mean[c] += values[t * d + c] } }
                }
                return mean.map { $0 / Float(n) }
            }
        case .grid:
            result[PatchGridFeature.name] = outputs.flatMap { $0.patches.slice(outer: row..<row + 1).scalars }
        }
        return result
    }

    /// The model inputs of an item, preprocessed: a picture through the pipeline; every axial slice of a
    /// volume (clipping computed over the whole volume, as `PreprocessingPipeline.slices`); every slice
    /// file of a folder of pictures through the pipeline.
    static func inputs(of item: DatasetItem, pipeline: PreprocessingPipeline) throws -> [Image2D] {
        let files = item.imageFiles
        if files != [item.url] { return try files.map { pipeline(try picture($0)) } }
        return try pipeline.images(of: MedicalImageFile.read(contentsOf: item.url).content)
    }

    /// The 2D image in `url`; a volume there is an error (a slice file must hold one picture).
    static func picture(_ url: URL) throws -> Image2D {
        guard case .image(let image) = try MedicalImageFile.read(contentsOf: url).content else {
            throw ImagingError(file: url.path, problem: "is a volume, not one slice of a scan stored as pictures")
        }
        return image
    }
}
