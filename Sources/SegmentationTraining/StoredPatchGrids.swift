import Evaluation
import Foundation
import TensorCore

/// What a run needs of a feature store to take its patch grids instead of running the frozen backbone:
/// the same checkpoint (SHA-256 of the file), preprocessing record and input size, normed blocks, the
/// same dataset, `patch_grid` of at least `blocks` last blocks with grids of `(inputSize / patchSize)²`
/// tokens of `width` values, and per-slice features when the dataset holds volumes.
public struct PatchGridRequirements: Sendable, Equatable {
    public let checkpointSHA256: String
    /// `PreprocessingPipeline.description` of the run's pipeline.
    public let preprocessing: String
    public let inputSize: Int
    public let patchSize: Int
    /// `D`, the backbone's embedding width.
    public let width: Int
    /// Blocks the head reads (the last ones, oldest first).
    public let blocks: Int
    /// The dataset's name (the adapter's).
    public let dataset: String
    /// Whether items are volumes (cut into axial slices), whose grids must be kept per slice.
    public let holdsVolumes: Bool

    /// Requirements for a head reading `kind`; a head that reads images cannot take stored grids.
    public init(checkpointSHA256: String, preprocessing: String, inputSize: Int, patchSize: Int, width: Int,
                kind: SegmentationInputKind, dataset: String, holdsVolumes: Bool) throws {
        guard case .featureGrids(let blocks) = kind else {
            throw SegmentationTrainingError("the model reads \(kind); a feature store holds patch grids")
        }
        guard patchSize >= 1, inputSize % patchSize == 0 else {
            throw SegmentationTrainingError("input size \(inputSize) is not a multiple of the patch size \(patchSize)")
        }
        self.checkpointSHA256 = checkpointSHA256
        self.preprocessing = preprocessing
        self.inputSize = inputSize
        self.patchSize = patchSize
        self.width = width
        self.blocks = blocks
        self.dataset = dataset
        self.holdsVolumes = holdsVolumes
    }

    /// The side `h = w` of a patch grid.
    var side: Int { inputSize / patchSize }

    /// How `store` fails these requirements, one phrase each (store's value first, the run's second).
    func problems(with store: FeatureStore) throws -> [String] {
        let key = store.plan.key, plan = store.plan
        var problems = [
            key.checkpointSHA256 != checkpointSHA256 ? "checkpoint SHA-256 \(key.checkpointSHA256) vs \(checkpointSHA256) (another checkpoint)" : nil,
            key.inputSize != inputSize ? "input size \(key.inputSize) vs \(inputSize)" : nil,
            key.preprocessing != preprocessing ? "preprocessing '\(key.preprocessing)' vs '\(preprocessing)'" : nil,
            key.normed ? nil : "blocks not normed (the decoder reads normed blocks)",
            plan.dataset != dataset ? "dataset '\(plan.dataset)' vs '\(dataset)'" : nil,
            holdsVolumes && !plan.sliceFeatures ? "no per-slice features, which volumes need (extract with --slice-features)" : nil,
        ].compactMap { $0 }
        guard let grids = try PatchGridFeature(plan: plan, store: store.url.path) else {
            return problems + ["no patch grids (patch_tokens=\(key.patchTokens.rawValue); extract with --patch-tokens grid)"]
        }
        if grids.blocks < blocks {
            problems.append("the grids of the last \(grids.blocks) block\(grids.blocks == 1 ? "" : "s"), but the decoder reads the last \(blocks) (extract with --layers \(blocks))")
        }
        if problems.isEmpty, grids.tokens != side * side || grids.width != width {
            problems.append("patch grids of \(grids.tokens) tokens × \(grids.width) vs the backbone's \(side * side) × \(width)")
        }
        return problems
    }
}

/// A feature store's patch grids standing in for the frozen backbone: every slice's normed patch tokens
/// of the last `blocks` blocks as the head's inputs, grids `[1, D, h, w]` oldest block first, exactly as
/// `SegmentationInputEncoder` makes them. A 2D item's row is its grid; a volume's slices are the store's
/// per-slice grids, in the order extraction saw them — the order `SegmentationCaseReader` cuts them,
/// both going through `PreprocessingPipeline.images(of:)`. The store's grids are read into memory once.
public struct StoredPatchGrids: Sendable {
    /// The store folder.
    public let store: URL
    /// The blocks handed to the head (the last `blocks` of those stored).
    public let blocks: Int
    /// The stored layout.
    let layout: PatchGridFeature
    /// `h = w`.
    let side: Int
    /// Tokens of every stored slice: `[slices, L, N, D]` (or `[slices, N, D]` when `L = 1` in an older store).
    let tokens: Tensor
    /// Each stored item's slices (rows of `tokens`).
    let slices: [String: Range<Int>]
    /// Items skipped at extraction, with their errors.
    let skipped: [String: String]

    /// The grids of `store`, checked against `requirements`: every difference is listed in one error naming the store.
    public init(store: FeatureStore, requirements: PatchGridRequirements) throws {
        let problems = try requirements.problems(with: store)
        guard problems.isEmpty, let layout = try PatchGridFeature(plan: store.plan, store: store.url.path) else {
            throw SegmentationTrainingError("\(store.url.path): this feature store cannot stand in for the backbone; "
                + "it differs from the run (store vs run) in: \(problems.joined(separator: "; "))")
        }
        let stored: (ids: [String], sliceCounts: [Int], values: Tensor)
        if store.plan.sliceFeatures {
            stored = try store.readSlices(feature: PatchGridFeature.name)
        } else {
            let items = try store.read(feature: PatchGridFeature.name)
            stored = (items.ids, Array(repeating: 1, count: items.ids.count), items.values)
        }
        var slices: [String: Range<Int>] = [:], next = 0
        for (id, count) in zip(stored.ids, stored.sliceCounts) {
            slices[id] = next ..< next + count
            next += count
        }
        self.store = store.url
        self.blocks = requirements.blocks
        self.layout = layout
        self.side = requirements.side
        tokens = stored.values
        self.slices = slices
        self.skipped = Dictionary(store.manifest.skipped.map { ($0.id, $0.error) }, uniquingKeysWith: { first, _ in first })
    }

    /// What the head reads from these grids.
    public var inputKind: SegmentationInputKind { .featureGrids(lastBlocks: blocks) }

    /// Throws, naming every one of `ids` without grids in the store (skipped at extraction, with the error, or absent).
    public func checkHolds(_ ids: [String]) throws {
        let missing = ids.filter { slices[$0] == nil }
        guard missing.isEmpty else { throw missingItems(missing) }
    }

    /// The error naming `missing`, items the store has no grids of.
    private func missingItems(_ missing: [String]) -> SegmentationTrainingError {
        let described = missing.map { id in skipped[id].map { "\(id) (skipped at extraction: \($0))" } ?? "\(id) (not in the store)" }
        return SegmentationTrainingError("\(store.path): the feature store has no grids of \(missing.count) item\(missing.count == 1 ? "" : "s") of the split: "
            + described.joined(separator: ", "))
    }

    /// The head's inputs of every slice of `item`, one `[1, D, h, w]` grid per block; the store must hold
    /// as many slices of the item as the case has.
    func inputs(of item: SegmentationCase) throws -> EncodedInputs {
        guard let rows = slices[item.id] else { throw missingItems([item.id]) }
        guard rows.count == item.inputs.count else {
            throw SegmentationTrainingError("\(store.path): item \(item.id) has \(rows.count) slice\(rows.count == 1 ? "" : "s") in the feature store, "
                + "but its case has \(item.inputs.count) axial slices")
        }
        let grid = layout.tokens * layout.width
        return tokens.withUnsafeBufferPointer { values in
            EncodedInputs(rows: rows.map { slice in
                (layout.blocks - blocks ..< layout.blocks).map { block in
                    SegmentationInputEncoder.grid(tokens: values, start: (slice * layout.blocks + block) * grid, batch: 1,
                                                  height: side, width: side, channels: layout.width)
                }
            })
        }
    }
}
