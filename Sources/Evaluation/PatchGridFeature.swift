import FileAccess

/// The patch grids a store keeps with `patch_tokens=grid`: feature `patch_grid` of item shape
/// `[L, N, D]`, the normed patch tokens (raster order, `N = h·w`) of the last `L` blocks, oldest block
/// first, the same blocks as `cls`. Stores written before several blocks were kept hold `[N, D]`, the
/// last block's tokens: read here as `L = 1`.
public struct PatchGridFeature: Equatable, Sendable {
    /// The feature's name in a store.
    public static let name = "patch_grid"

    /// `L`: blocks whose grids are kept (the last `L` of the backbone).
    public let blocks: Int
    /// `N`: patch tokens per grid.
    public let tokens: Int
    /// `D`: the embedding width.
    public let width: Int

    /// The layout of `blocks` grids of `tokens` tokens of `width` values.
    public init(blocks: Int, tokens: Int, width: Int) {
        self.blocks = blocks
        self.tokens = tokens
        self.width = width
    }

    /// The spec a store writes: `patch_grid` `[L, N, D]`.
    public var spec: FeatureSpec { FeatureSpec(name: Self.name, itemShape: [blocks, tokens, width]) }

    /// The patch grids `plan` keeps, or `nil` when it keeps none; a `patch_grid` that is neither
    /// `[N, D]` nor `[L, N, D]` is a `FileError` naming `store`.
    public init?(plan: FeatureStorePlan, store: String) throws {
        guard let spec = plan.features.first(where: { $0.name == Self.name }) else { return nil }
        switch spec.itemShape.count {
        case 2: self.init(blocks: 1, tokens: spec.itemShape[0], width: spec.itemShape[1])
        case 3: self.init(blocks: spec.itemShape[0], tokens: spec.itemShape[1], width: spec.itemShape[2])
        default: throw FileError(file: store, problem: "has \(Self.name) of item shape \(spec.itemShape); expected [N, D] or [L, N, D]")
        }
    }
}
