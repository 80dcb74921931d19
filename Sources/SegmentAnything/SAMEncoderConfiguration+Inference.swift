import Checkpoints
import TensorCore

extension SAMEncoderConfiguration {
    /// The configuration of an encoder state dict with `ImageEncoderViT`'s keys (no `image_encoder.` prefix):
    /// width, channels and patch size from `patch_embed.proj.weight` `[D, C, p, p]`; the grid (so the image
    /// size) from `pos_embed` `[1, g, g, D]`; depth from the `blocks.N.` keys; heads from `rel_pos_h`'s second
    /// dimension, the head width (`D / heads`); the MLP width from `lin1`; the neck from `neck.0.weight`;
    /// and each block's attention from its `rel_pos_h` length: `2·g − 1` global, `2·window − 1` windowed.
    /// The encoder runs only at its own image size, so every table has exactly the length its attention
    /// needs; a table longer than a global block's (which `get_rel_pos` would interpolate) is refused.
    public init(inferringFrom stateDict: StateDict) throws {
        let tensors = stateDict.tensors
        func shape(_ key: String, rank: Int) throws -> [Int] {
            guard let tensor = tensors[key] else { throw SAMError("\(stateDict.source): SAM encoder key \(key) is missing") }
            guard tensor.rank == rank else {
                throw SAMError("\(stateDict.source): \(key) has shape \(describeShape(tensor.shape)); expected rank \(rank)")
            }
            return tensor.shape
        }
        let patch = try shape("patch_embed.proj.weight", rank: 4)
        let width = patch[0]
        guard patch[2] == patch[3] else {
            throw SAMError("\(stateDict.source): patch_embed.proj.weight \(describeShape(patch)) has a non-square kernel")
        }
        let position = try shape("pos_embed", rank: 4)
        guard position[0] == 1, position[1] == position[2], position[3] == width else {
            throw SAMError("\(stateDict.source): pos_embed has shape \(describeShape(position)); expected [1, g, g, \(width)]")
        }
        let grid = position[1]
        let depth = try Self.blockCount(stateDict)
        let headDimension = try shape("blocks.0.attn.rel_pos_h", rank: 2)[1]
        guard headDimension > 0, width % headDimension == 0 else {
            throw SAMError("\(stateDict.source): blocks.0.attn.rel_pos_h has head width \(headDimension), which does not divide the width \(width)")
        }
        var globalBlocks: [Int] = []
        var windowSizes: Set<Int> = []
        for block in 0..<depth {
            let length = try shape("blocks.\(block).attn.rel_pos_h", rank: 2)[0]
            if length == 2 * grid - 1 {
                globalBlocks.append(block)
            } else if length > 2 * grid - 1 {
                throw SAMError("\(stateDict.source): blocks.\(block).attn.rel_pos_h has \(length) rows, more than the \(2 * grid - 1) of a global block on the \(grid)×\(grid) grid of pos_embed; segment-anything would interpolate it (get_rel_pos), which RadProbe does not support")
            } else if length % 2 == 1 {
                windowSizes.insert((length + 1) / 2)
            } else {
                throw SAMError("\(stateDict.source): blocks.\(block).attn.rel_pos_h has \(length) rows; expected 2·window − 1 or 2·\(grid) − 1 = \(2 * grid - 1)")
            }
        }
        guard windowSizes.count <= 1 else {
            throw SAMError("\(stateDict.source): the windowed blocks have different window sizes \(windowSizes.sorted()); SAM uses one")
        }
        let neck = try shape("neck.0.weight", rank: 4)
        self.init(imageSize: grid * patch[2], patchSize: patch[2], channels: patch[1], width: width, depth: depth,
                  heads: width / headDimension, mlpHidden: try shape("blocks.0.mlp.lin1.weight", rank: 2)[0],
                  windowSize: windowSizes.first ?? 0, globalBlocks: windowSizes.isEmpty ? [] : globalBlocks, neckChannels: neck[0])
        try validate()
    }

    /// The number of blocks: the `blocks.N.` indices, which must run from 0 without gaps.
    private static func blockCount(_ stateDict: StateDict) throws -> Int {
        var indices: Set<Int> = []
        for key in stateDict.tensors.keys where key.hasPrefix("blocks.") {
            if let index = key.split(separator: ".").dropFirst().first.flatMap({ Int($0) }) { indices.insert(index) }
        }
        guard let last = indices.max() else { throw SAMError("\(stateDict.source): the SAM encoder has no blocks.N. keys") }
        guard indices.count == last + 1 else {
            throw SAMError("\(stateDict.source): blocks \(Set(0...last).subtracting(indices).sorted()) are missing between 0 and \(last)")
        }
        return last + 1
    }
}
