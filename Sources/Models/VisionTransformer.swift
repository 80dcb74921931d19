import Checkpoints
import Layers
import TensorCore
import TensorKernels

/// A pre-norm Vision Transformer with a class token at inference: DINOv2 (`DinoVisionTransformer` of
/// facebookresearch/dinov2) and the families of `VisionTransformerFamily` (timm/Hugging Face ViT, CLIP, OpenCLIP,
/// MAE, MSN), under the official DINOv2/timm parameter names.
///
/// Images `[B, C, H, W]` (H, W multiples of the patch size) → tokens `[CLS, registers…, patches]`:
/// the CLS token and patches get the (resized) position embedding, registers are inserted after it
/// and carry none; `norm_pre` (CLIP's `ln_pre`), when present, normalises all tokens before the first block.
/// Blocks run in order; the final `norm` gives the normed CLS, register and patch tokens (for every family: as
/// timm and open_clip do; Hugging Face CLIP applies `post_layernorm` to the CLS only, as `pooler_output`), and
/// `intermediateLayers` applies the same norm to chosen blocks' outputs.
public struct VisionTransformer: ParameterContainer, Sendable {
    public let configuration: VisionTransformerConfiguration
    public var clsToken: Tensor // [1, 1, D]
    public var maskToken: Tensor? // [1, D]; used only in training, kept so checkpoints round-trip
    public var positionEmbedding: Tensor // [1, 1 + M², D]
    public var registerTokens: Tensor? // [1, R, D]
    public var patchEmbedding: PatchEmbedding
    public var preNorm: LayerNorm? // `norm_pre`, when the configuration has one
    public var blocks: [TransformerBlock]
    public var norm: LayerNorm

    /// A model with zero-initialised parameters (bind a checkpoint to use it).
    public init(configuration c: VisionTransformerConfiguration) {
        configuration = c
        clsToken = Tensor(shape: [1, 1, c.width])
        maskToken = c.hasMaskToken ? Tensor(shape: [1, c.width]) : nil
        positionEmbedding = Tensor(shape: [1, 1 + c.positionGrid * c.positionGrid, c.width])
        registerTokens = c.registers > 0 ? Tensor(shape: [1, c.registers, c.width]) : nil
        patchEmbedding = PatchEmbedding(channels: c.channels, width: c.width, patchSize: c.patchSize, bias: c.patchEmbeddingBias)
        preNorm = c.preNorm ? LayerNorm(width: c.width, eps: c.layerNormEps) : nil
        blocks = (0..<c.depth).map { _ in
            TransformerBlock(width: c.width, heads: c.heads, feedForward: c.feedForward, layerScale: c.layerScale, eps: c.layerNormEps)
        }
        norm = LayerNorm(width: c.width, eps: c.layerNormEps)
    }

    /// Normed outputs of the final block.
    public struct Features: Sendable {
        public var cls: Tensor // [B, D]
        public var registers: Tensor? // [B, R, D]
        public var patches: Tensor // [B, N, D]
    }

    /// One selected block's output: CLS `[B, D]` and patch tokens `[B, N, D]`.
    public struct Layer: Sendable {
        public var block: Int
        public var cls: Tensor
        public var patches: Tensor
    }

    /// Errors in the input images.
    public struct InputError: Error, CustomStringConvertible {
        public let description: String
    }

    /// One forward pass: the final features and, for `layers` (ascending block indices), those blocks'
    /// outputs with the final norm when `normedLayers` (as `get_intermediate_layers`).
    public func forward(_ images: Tensor, layers blockIndices: [Int] = [], normedLayers: Bool = true,
                        context: ComputeContext) throws -> (features: Features, layers: [Layer]) {
        for index in blockIndices where index < 0 || index >= blocks.count {
            throw InputError(description: "block index \(index) is out of range: the model has \(blocks.count) blocks (0…\(blocks.count - 1))")
        }
        let (final, captured) = try run(images, capture: Set(blockIndices), context: context)
        let layers = blockIndices.map { index in
            let output = split(normedLayers ? norm(captured[index]!, context: context) : captured[index]!)
            return Layer(block: index, cls: output.cls, patches: output.patches)
        }
        return (split(norm(final, context: context)), layers)
    }

    /// CLS `[B, D]`, registers `[B, R, D]` (nil without registers) and patches `[B, N, D]` of tokens `[B, 1 + R + N, D]`.
    func split(_ x: Tensor) -> Features {
        let r = configuration.registers
        return Features(cls: tokens(x, 0..<1).reshaped([x.shape[0], configuration.width]),
                        registers: r > 0 ? tokens(x, 1..<1 + r) : nil,
                        patches: tokens(x, 1 + r..<x.shape[1]))
    }

    /// `forward_features`: normed CLS, register and patch tokens of the last block.
    public func features(_ images: Tensor, context: ComputeContext) throws -> Features {
        try forward(images, context: context).features
    }

    /// `get_intermediate_layers`: the outputs of `blockIndices` (ascending), with the final norm when `normed`.
    public func intermediateLayers(_ images: Tensor, blockIndices: [Int], normed: Bool, context: ComputeContext) throws -> [Layer] {
        try forward(images, layers: blockIndices, normedLayers: normed, context: context).layers
    }

    /// The number of parameters (`configuration.parameterCount`).
    public var parameterCount: Int { configuration.parameterCount }

    /// The indices of the last `n` blocks.
    public func lastBlocks(_ n: Int) -> [Int] { Array(max(blocks.count - n, 0)..<blocks.count) }

    /// Checks the input and runs the blocks, keeping the outputs of the blocks in `capture`.
    func run(_ images: Tensor, capture: Set<Int>, context: ComputeContext) throws -> (Tensor, [Int: Tensor]) {
        let c = configuration
        guard images.rank == 4, images.shape[1] == c.channels else {
            throw InputError(description: "input has shape \(describeShape(images.shape)); expected [B, \(c.channels), H, W]")
        }
        let (height, width) = (images.shape[2], images.shape[3])
        guard height % c.patchSize == 0, width % c.patchSize == 0, height > 0, width > 0 else {
            throw InputError(description: "input size \(height)×\(width) is not a multiple of the patch size \(c.patchSize); resize to e.g. \(max(height / c.patchSize, 1) * c.patchSize)×\(max(width / c.patchSize, 1) * c.patchSize)")
        }
        var x = try embed(images, context: context)
        if let preNorm { x = preNorm(x, context: context) }
        var captured: [Int: Tensor] = [:]
        for (index, block) in blocks.enumerated() {
            x = block(consume x, context: context)
            if capture.contains(index) { captured[index] = x }
        }
        return (x, captured)
    }

    /// Patch embedding, position embedding and the CLS/register tokens: `[B, 1 + R + N, D]`.
    func embed(_ images: Tensor, context: ComputeContext) throws -> Tensor {
        let c = configuration
        let (batch, height, width) = (images.shape[0], images.shape[2], images.shape[3])
        let patches = patchEmbedding(images, context: context) // [B, N, D]
        let count = patches.shape[1]
        let position = try positionEmbedding(gridHeight: height / c.patchSize, gridWidth: width / c.patchSize, square: height == width)
        let d = c.width, r = c.registers, tokens = 1 + r + count
        return Tensor(uninitializedShape: [batch, tokens, d]) { out in
            let o = out.baseAddress!
            for b in 0..<batch {
                let item = o + b * tokens * d
                for j in 0..<d { item[j] = clsToken.storage.pointer[j] + position.storage.pointer[j] }
                if let registerTokens { (item + d).update(from: registerTokens.storage.pointer, count: r * d) }
                let patchSource = patches.storage.pointer + b * count * d
                let positionSource = position.storage.pointer + d
                let target = item + (1 + r) * d
                for i in 0..<count * d { target[i] = patchSource[i] + positionSource[i] }
            }
        }
    }

    /// `interpolate_pos_encoding`: the position embedding `[1 + gh·gw, D]` for a `gh × gw` patch grid.
    /// Returned as stored when the grid has as many patches as the model's and the image is square.
    public func positionEmbedding(gridHeight: Int, gridWidth: Int, square: Bool) throws -> Tensor {
        let c = configuration
        let m = c.positionGrid, d = c.width
        if gridHeight * gridWidth == m * m && square { return positionEmbedding.reshaped([1 + m * m, d]) }
        let grid = Tensor(shape: [m, m, d]) { $0.baseAddress!.update(from: positionEmbedding.storage.pointer + d, count: m * m * d) }
        let mode: BicubicResize.Mode
        switch c.interpolation {
        case let .scaleFactor(offset):
            mode = .scaleFactor(height: (Double(gridHeight) + offset) / Double(m), width: (Double(gridWidth) + offset) / Double(m))
        case .size:
            mode = .size(height: gridHeight, width: gridWidth)
        case .antialiasedSize:
            mode = .antialiased(height: gridHeight, width: gridWidth)
        }
        let resized = BicubicResize.resize(grid, mode: mode)
        guard resized.shape[0] == gridHeight, resized.shape[1] == gridWidth else {
            throw InputError(description: "position grid resized to \(resized.shape[0])×\(resized.shape[1]) instead of \(gridHeight)×\(gridWidth)")
        }
        return Tensor(shape: [1 + gridHeight * gridWidth, d]) { out in
            out.baseAddress!.update(from: positionEmbedding.storage.pointer, count: d)
            (out.baseAddress! + d).update(from: resized.storage.pointer, count: resized.count)
        }
    }

    /// Tokens `range` of every item: `[B, T, D]` → `[B, range.count, D]`.
    func tokens(_ x: Tensor, _ range: Range<Int>) -> Tensor {
        let (batch, count, d) = (x.shape[0], x.shape[1], x.shape[2])
        return Tensor(uninitializedShape: [batch, range.count, d]) { out in
            for b in 0..<batch {
                (out.baseAddress! + b * range.count * d).update(from: x.storage.pointer + (b * count + range.lowerBound) * d, count: range.count * d)
            }
        }
    }

    public mutating func visitParameters<V: ParameterVisitor>(_ visitor: inout V, scope: ParameterScope) {
        visitor.visit(scope.key("cls_token"), &clsToken)
        if maskToken != nil { visitor.visit(scope.key("mask_token"), &maskToken!) }
        visitor.visit(scope.key("pos_embed"), &positionEmbedding)
        if registerTokens != nil { visitor.visit(scope.key("register_tokens"), &registerTokens!) }
        patchEmbedding.visitParameters(&visitor, scope: scope.scope("patch_embed").scope("proj"))
        if preNorm != nil { preNorm!.visitParameters(&visitor, scope: scope.scope("norm_pre")) }
        let blockScope = scope.scope("blocks")
        for index in blocks.indices { blocks[index].visitParameters(&visitor, scope: blockScope.scope(String(index))) }
        norm.visitParameters(&visitor, scope: scope.scope("norm"))
    }
}
