import Layers
import TensorCore
import TensorKernels

/// The image encoder of Segment Anything (`ImageEncoderViT` of facebookresearch/segment-anything) at inference.
///
/// Images `[B, 3, S, S]` with `S = configuration.imageSize` (1024 for the released models) → patch
/// embedding (16×16 convolution) → `+ pos_embed` `[1, g, g, D]` (no class token, `g = S/16`) → the blocks
/// (`SAMBlock`: windowed attention, global in `configuration.globalBlocks`) → the neck (`SAMNeck`) →
/// `[B, 256, g, g]`.
///
/// SAM has no position interpolation: the input must be exactly `S × S`. SAM's own preprocessing
/// (`Sam.preprocess` with `ResizeLongestSide`): resize the longest side to `S` keeping the aspect ratio,
/// normalise RGB in 0–255 with mean `[123.675, 116.28, 103.53]` and std `[58.395, 57.12, 57.375]` — the
/// ImageNet mean/std on 0–1 (`SAMPreprocessing`) — then pad the bottom and right with zeros (after the
/// normalisation) to `S × S`.
public struct SAMImageEncoder: ParameterContainer, Sendable {
    public let configuration: SAMEncoderConfiguration
    public var patchEmbedding: PatchEmbedding
    public var positionEmbedding: Tensor // [1, g, g, D]
    public var blocks: [SAMBlock]
    public var neck: SAMNeck

    /// An encoder with zero-initialised parameters (bind a checkpoint to use it); throws when the
    /// configuration is inconsistent.
    public init(configuration c: SAMEncoderConfiguration) throws {
        try c.validate()
        configuration = c
        patchEmbedding = PatchEmbedding(channels: c.channels, width: c.width, patchSize: c.patchSize)
        positionEmbedding = Tensor(shape: [1, c.gridSize, c.gridSize, c.width])
        blocks = (0..<c.depth).map { block in
            SAMBlock(width: c.width, heads: c.heads, mlpHidden: c.mlpHidden, windowSize: c.isGlobal(block) ? 0 : c.windowSize,
                     attentionSide: c.attentionSide(ofBlock: block), eps: c.layerNormEps)
        }
        neck = try SAMNeck(width: c.width, channels: c.neckChannels, eps: c.layerNormEps)
    }

    /// One forward pass: the neck output and, for each index in `keepBlocks`, that block's output.
    /// Throws when the images are not `[B, channels, S, S]` or a block index is out of range.
    public func forward(_ images: Tensor, keepBlocks: [Int] = [], context: ComputeContext) throws -> SAMEncoderOutput {
        try checkInput(images)
        if let outside = keepBlocks.first(where: { $0 < 0 || $0 >= blocks.count }) {
            throw SAMError("block index \(outside) is out of range: the SAM encoder has \(blocks.count) blocks (0…\(blocks.count - 1))")
        }
        let (batch, grid) = (images.shape[0], configuration.gridSize)
        var x = embed(images, context: context) // [B, g·g, D]
        var kept: [Int: Tensor] = [:]
        for (index, block) in blocks.enumerated() {
            x.withUnsafeMutableBufferPointer { block.apply($0.baseAddress!, batch: batch, gridHeight: grid, gridWidth: grid, context: context) }
            if keepBlocks.contains(index) { kept[index] = x }
        }
        let (neckOutput, neckTokens) = try neck(x, gridHeight: grid, gridWidth: grid, context: context)
        return SAMEncoderOutput(neck: neckOutput, neckTokens: neckTokens,
                                blocks: keepBlocks.map { SAMBlockOutput(block: $0, tokens: kept[$0]!) })
    }

    /// Throws unless `images` is `[B ≥ 1, channels, imageSize, imageSize]`.
    private func checkInput(_ images: Tensor) throws {
        let c = configuration
        let expected = "[B, \(c.channels), \(c.imageSize), \(c.imageSize)]"
        guard images.rank == 4, images.shape[0] >= 1, images.shape[1] == c.channels else {
            throw SAMError("the SAM image encoder takes images \(expected), got \(describeShape(images.shape))")
        }
        guard images.shape[2] == c.imageSize, images.shape[3] == c.imageSize else {
            throw SAMError("the SAM image encoder needs \(c.imageSize)×\(c.imageSize) images, got \(images.shape[2])×\(images.shape[3]): "
                + "it has no position interpolation; SAM's preprocessing resizes the longest side to \(c.imageSize) "
                + "and pads the bottom and right with zeros")
        }
    }

    /// Patch embedding plus the absolute position embedding: `[B, g·g, D]`, tokens row-major over the grid.
    private func embed(_ images: Tensor, context: ComputeContext) -> Tensor {
        var tokens = patchEmbedding(images, context: context)
        let perImage = positionEmbedding.count
        let position = positionEmbedding.storage.pointer
        tokens.withUnsafeMutableBufferPointer { buffer in
            context.parallelFor(images.shape[0]) { item in
                let target = buffer.baseAddress! + item * perImage
                for i in 0..<perImage { target[i] += position[i] }
            }
        }
        return tokens
    }

    public mutating func visitParameters<V: ParameterVisitor>(_ visitor: inout V, scope: ParameterScope) {
        patchEmbedding.visitParameters(&visitor, scope: scope.scope("patch_embed").scope("proj"))
        visitor.visit(scope.key("pos_embed"), &positionEmbedding)
        let blockScope = scope.scope("blocks")
        for index in blocks.indices { blocks[index].visitParameters(&visitor, scope: blockScope.scope(String(index))) }
        neck.visitParameters(&visitor, scope: scope.scope("neck"))
    }
}

/// What `SAMImageEncoder.forward` returns for `B` images on a `g × g` grid.
public struct SAMEncoderOutput: Sendable {
    /// The encoder's output (the neck): `[B, N, g, g]`, `N` = 256 for the released models.
    public var neck: Tensor
    /// The neck output as tokens: `[B, g·g, N]`, row-major over the grid.
    public var neckTokens: Tensor
    /// The requested blocks' outputs, in the order asked for.
    public var blocks: [SAMBlockOutput]

    /// A CLS-like vector: the mean of the neck over the grid, `[B, N]`.
    public var pooled: Tensor {
        let (batch, pixels, channels) = (neckTokens.shape[0], neckTokens.shape[1], neckTokens.shape[2])
        return Tensor(shape: [batch, channels]) { out in
            neckTokens.withUnsafeBufferPointer { tokens in
                for item in 0..<batch {
                    for pixel in 0..<pixels {
                        let row = tokens.baseAddress! + (item * pixels + pixel) * channels
                        for channel in 0..<channels { out[item * channels + channel] += row[channel] }
                    }
                }
            }
            for i in out.indices { out[i] /= Float(pixels) }
        }
    }
}

/// One block's output: tokens `[B, g·g, D]`, row-major over the grid (the block's `[B, g, g, D]` flattened).
public struct SAMBlockOutput: Sendable {
    public var block: Int
    public var tokens: Tensor
}

/// SAM's input normalisation on images scaled to 0–1: `Sam.pixel_mean / 255` and `Sam.pixel_std / 255`
/// (`[123.675, 116.28, 103.53]` and `[58.395, 57.12, 57.375]` on 0–255), i.e. ImageNet's mean and std.
/// SAM resizes the longest side to the encoder's image size first and zero-pads the bottom and right
/// after normalising.
public enum SAMPreprocessing {
    public static let mean: [Float] = [0.485, 0.456, 0.406]
    public static let standardDeviation: [Float] = [0.229, 0.224, 0.225]
}
