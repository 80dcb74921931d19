/// The shape of a Segment Anything image encoder (`ImageEncoderViT` as `build_sam` makes it): a ViT
/// with absolute position embeddings, decomposed relative positions in every block, windowed attention
/// except in `globalBlocks`, and a convolutional neck to `neckChannels`.
///
/// Inputs are `[B, channels, imageSize, imageSize]`; the token grid is `gridSize × gridSize` with
/// `gridSize = imageSize / patchSize`. A windowed block's relative position tables are `[2·windowSize − 1, headDim]`,
/// a global block's `[2·gridSize − 1, headDim]`. `windowSize` 0 makes every block global.
public struct SAMEncoderConfiguration: Equatable, Sendable, CustomStringConvertible {
    public var imageSize: Int
    public var patchSize: Int
    public var channels: Int
    public var width: Int
    public var depth: Int
    public var heads: Int
    /// The MLP's hidden width (`mlp_ratio` 4 in every official model: `4·width`).
    public var mlpHidden: Int
    public var windowSize: Int
    /// Blocks with global attention, ascending.
    public var globalBlocks: [Int]
    public var neckChannels: Int
    /// Every LayerNorm's (and LayerNorm2d's) epsilon.
    public var layerNormEps: Float

    public init(imageSize: Int = 1024, patchSize: Int = 16, channels: Int = 3, width: Int, depth: Int, heads: Int,
                mlpHidden: Int? = nil, windowSize: Int = 14, globalBlocks: [Int], neckChannels: Int = 256, layerNormEps: Float = 1e-6) {
        self.imageSize = imageSize
        self.patchSize = patchSize
        self.channels = channels
        self.width = width
        self.depth = depth
        self.heads = heads
        self.mlpHidden = mlpHidden ?? 4 * width
        self.windowSize = windowSize
        self.globalBlocks = globalBlocks.sorted()
        self.neckChannels = neckChannels
        self.layerNormEps = layerNormEps
    }

    /// SAM ViT-B (`sam_vit_b_01ec64.pth`): width 768, 12 blocks, 12 heads.
    public static let vitB = SAMEncoderConfiguration(width: 768, depth: 12, heads: 12, globalBlocks: [2, 5, 8, 11])
    /// SAM ViT-L (`sam_vit_l_0b3195.pth`): width 1024, 24 blocks, 16 heads.
    public static let vitL = SAMEncoderConfiguration(width: 1024, depth: 24, heads: 16, globalBlocks: [5, 11, 17, 23])
    /// SAM ViT-H (`sam_vit_h_4b8939.pth`): width 1280, 32 blocks, 16 heads.
    public static let vitH = SAMEncoderConfiguration(width: 1280, depth: 32, heads: 16, globalBlocks: [7, 15, 23, 31])

    /// The presets by name, for descriptions and command lines.
    public static let presets: [(name: String, configuration: SAMEncoderConfiguration)] = [
        ("SAM ViT-B", .vitB), ("SAM ViT-L", .vitL), ("SAM ViT-H", .vitH),
    ]

    /// Patches per side: `imageSize / patchSize`.
    public var gridSize: Int { imageSize / patchSize }

    /// Channels per head: `width / heads`.
    public var headDimension: Int { width / heads }

    /// Whether `block` attends over the whole grid rather than inside windows.
    public func isGlobal(_ block: Int) -> Bool { windowSize == 0 || globalBlocks.contains(block) }

    /// The side of the square that `block` attends over: the grid for a global block, the window otherwise.
    public func attentionSide(ofBlock block: Int) -> Int { isGlobal(block) ? gridSize : windowSize }

    /// Parameter elements of the encoder, from the shapes alone:
    /// patch embedding `D·C·p² + D`, `pos_embed` `g²·D`; per block two norms `4D`, `qkv` `3D² + 3D`,
    /// `proj` `D² + D`, relative tables `2·(2s − 1)·D/H`, MLP `2·D·hidden + hidden + D`; neck `N·D + 2N + 9N² + 2N`.
    public var parameterCount: Int {
        let d = width, n = neckChannels
        let embedding = d * channels * patchSize * patchSize + d + gridSize * gridSize * d
        let blocks = (0..<depth).reduce(0) { total, block in
            let relative = 2 * (2 * attentionSide(ofBlock: block) - 1) * headDimension
            return total + 4 * d + 3 * d * d + 3 * d + d * d + d + relative + 2 * d * mlpHidden + mlpHidden + d
        }
        let neck = n * d + 2 * n + 9 * n * n + 2 * n
        return embedding + blocks + neck
    }

    /// Throws unless the sizes are positive and consistent.
    public func validate() throws {
        for (name, value) in [("image size", imageSize), ("patch size", patchSize), ("channels", channels), ("width", width),
                              ("depth", depth), ("heads", heads), ("MLP width", mlpHidden), ("neck channels", neckChannels)] where value < 1 {
            throw SAMError("SAM encoder configuration: \(name) must be at least 1, got \(value)")
        }
        guard imageSize % patchSize == 0 else {
            throw SAMError("SAM encoder configuration: image size \(imageSize) is not a multiple of the patch size \(patchSize)")
        }
        guard width % heads == 0 else {
            throw SAMError("SAM encoder configuration: width \(width) is not divisible by \(heads) heads")
        }
        guard windowSize >= 0 else { throw SAMError("SAM encoder configuration: window size \(windowSize) is negative") }
        if let outside = globalBlocks.first(where: { $0 < 0 || $0 >= depth }) {
            throw SAMError("SAM encoder configuration: global block \(outside) is outside 0…\(depth - 1)")
        }
    }

    /// The preset this configuration equals, if any.
    public var presetName: String? { Self.presets.first { $0.configuration == self }?.name }

    public var description: String {
        let attention = windowSize == 0
            ? "global attention"
            : "window \(windowSize), global blocks \(globalBlocks.map(String.init).joined(separator: ", "))"
        let millions = Double(parameterCount) / 1e6
        let count = millions >= 1 ? "\((millions * 10).rounded() / 10)M" : "\(parameterCount)"
        return "\(presetName ?? "SAM") image encoder: width \(width), \(depth) blocks, \(heads) heads, \(attention), "
            + "\(imageSize)×\(imageSize) input (patch \(patchSize)), neck \(neckChannels); \(count) parameters"
    }
}
