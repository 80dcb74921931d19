/// The shape of a `UNetDecoder`: the backbone's embedding dimension `D`, the classes `K` and the
/// channels `c₁ … c₄` of the four up-blocks.
///
/// Channel plan (the study's `D → D/2 → D/4 → D/8 → …`, one halving per up-block): by default
/// `cᵢ = D / 2ⁱ`, so `D → D/2 → D/4 → D/8 → D/16 → K` (ViT-S, D = 384: 192, 96, 48, 24; D must then be
/// a multiple of 16). Up-block `i` upsamples `cᵢ₋₁ → cᵢ` (`c₀ = D`); its skip is reduced from `D` to
/// `cᵢ` by its conv3×3-BN-ReLU, so the concatenation has `2cᵢ` channels and the fusing conv3×3-BN-ReLU
/// brings it back to `cᵢ`; the head maps `c₄ → K`.
public struct UNetDecoderConfiguration: Sendable, Equatable {
    /// Feature grids the decoder takes: the last `inputCount` blocks of the backbone.
    public static let inputCount = 5
    /// Up-blocks (each doubles the grid).
    public static let depth = 4

    /// `D`.
    public let embedDimension: Int
    /// `K`.
    public let classes: Int
    /// `c₁ … c₄`.
    public let stageChannels: [Int]

    /// Throws unless `D` and `K` are positive and `stageChannels` (default `D/2, D/4, D/8, D/16`, which
    /// needs `D` divisible by 16) holds four positive counts.
    public init(embedDimension: Int, classes: Int, stageChannels: [Int]? = nil) throws {
        guard embedDimension > 0, classes > 0 else {
            throw SegmentationDecoderError("UNetDecoder: embedding dimension \(embedDimension) and classes \(classes) must be positive")
        }
        let depth = Self.depth
        let channels: [Int]
        if let stageChannels {
            channels = stageChannels
        } else {
            guard embedDimension % (1 << depth) == 0 else {
                throw SegmentationDecoderError("UNetDecoder: the default channel plan halves D = \(embedDimension) \(depth) times; give stageChannels for a D not divisible by \(1 << depth)")
            }
            channels = (1...depth).map { embedDimension >> $0 }
        }
        guard channels.count == depth, channels.allSatisfy({ $0 > 0 }) else {
            throw SegmentationDecoderError("UNetDecoder: stageChannels must be \(depth) positive counts, got \(channels)")
        }
        self.embedDimension = embedDimension
        self.classes = classes
        self.stageChannels = channels
    }
}
