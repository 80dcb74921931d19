import MedicalImaging
import Models
import TensorCore
import TensorKernels

/// Turns preprocessed images `[3, S, S]` into a head's inputs (`SegmentationInputKind`): the images
/// themselves `[B, 3, S, S]`, or the frozen backbone's normed patch tokens `[B, N, D]` of its last blocks
/// (as `get_intermediate_layers(n, norm=True)`) rearranged to grids `[B, D, S/p, S/p]` (row-major tokens,
/// height first). The backbone only runs forward: no gradient ever reaches it.
public struct SegmentationInputEncoder: Sendable {
    public let kind: SegmentationInputKind
    /// The frozen backbone (nil for `.images`).
    public let backbone: VisionTransformer?
    public let context: ComputeContext

    /// Throws when grids are asked for without a backbone or from more blocks than it has.
    public init(kind: SegmentationInputKind, backbone: VisionTransformer?, context: ComputeContext) throws {
        if case .featureGrids(let blocks) = kind {
            guard let backbone else { throw SegmentationTrainingError("feature grids need a backbone") }
            guard blocks >= 1, blocks <= backbone.configuration.depth else {
                throw SegmentationTrainingError("the decoder reads the last \(blocks) blocks, but the backbone has \(backbone.configuration.depth)")
            }
        }
        self.kind = kind
        self.backbone = backbone
        self.context = context
    }

    /// The inputs of `images` (all of one size): one tensor per input level, batch first.
    public func encode(_ images: [Image2D]) throws -> [Tensor] {
        let batch = Tensor.concatenate(images.map { $0.tensor.reshaped([1, $0.channels, $0.height, $0.width]) })
        guard case .featureGrids(let blocks) = kind, let backbone else { return [batch] }
        let side = (height: batch.shape[2] / backbone.configuration.patchSize, width: batch.shape[3] / backbone.configuration.patchSize)
        let layers = try backbone.forward(batch, layers: backbone.lastBlocks(blocks), normedLayers: true, context: context).layers
        return layers.map { Self.grid(tokens: $0.patches, height: side.height, width: side.width) }
    }

    /// Tokens `[B, h·w, D]` → grid `[B, D, h, w]`.
    static func grid(tokens: Tensor, height: Int, width: Int) -> Tensor {
        let (b, n, d) = (tokens.shape[0], tokens.shape[1], tokens.shape[2])
        precondition(n == height * width, "tokens \(tokens.shape) do not form a \(height)×\(width) grid")
        return tokens.withUnsafeBufferPointer { grid(tokens: $0, start: 0, batch: b, height: height, width: width, channels: d) }
    }

    /// The `batch` token arrays `[h·w, D]` stored one after another in `source` from `start` → grid `[batch, D, h, w]`.
    static func grid(tokens source: UnsafeBufferPointer<Float>, start: Int, batch: Int, height: Int, width: Int, channels: Int) -> Tensor {
        let (n, d) = (height * width, channels)
        return Tensor(uninitializedShape: [batch, d, height, width]) { out in
            for item in 0..<batch {
                let from = start + item * n * d, to = item * d * n
                for token in 0..<n {
                    for channel in 0..<d { out[to + channel * n + token] = source[from + token * d + channel] }
                }
            }
        }
    }
}

/// Encoded inputs kept per image, so that a batch of any images can be put together again.
struct EncodedInputs: Sendable {
    /// `[image][level]`, each `[1, …]`.
    private var rows: [[Tensor]] = []

    /// Encodes `images` in batches of `batchSize`; `advance` gets the number done after each batch.
    init(_ images: [Image2D], encoder: SegmentationInputEncoder, batchSize: Int, advance: (Int) -> Void) throws {
        for start in stride(from: 0, to: images.count, by: batchSize) {
            let batch = Array(images[start ..< min(start + batchSize, images.count)])
            let levels = try encoder.encode(batch)
            for row in batch.indices { rows.append(levels.map { $0.slice(outer: row ..< row + 1) }) }
            advance(batch.count)
        }
    }

    /// Inputs already computed: `[image][level]`, each `[1, …]`.
    init(rows: [[Tensor]]) { self.rows = rows }

    /// The images of `parts`, one after another.
    init(joining parts: [EncodedInputs]) { rows = parts.flatMap(\.rows) }

    var count: Int { rows.count }

    /// The inputs of `indices`, batched: one tensor per level.
    func batch(_ indices: [Int]) -> [Tensor] {
        guard let first = indices.first else { return [] }
        return rows[first].indices.map { level in Tensor.concatenate(indices.map { rows[$0][level] }) }
    }
}
