import Layers
import TensorCore
import TensorKernels

/// One block of SAM's image encoder (`Block`), on tokens `[B, h, w, D]` stored as rows `[B·h·w, D]`:
/// `x += proj(attention(qkv(norm1(x))))`, the attention inside `windowSize × windowSize` windows of the
/// zero-padded grid (after `norm1`, so padding tokens carry the `qkv` bias) or over the whole grid when
/// `windowSize` is 0, then `x += lin2(GELU(lin1(norm2(x))))` with exact GELU.
public struct SAMBlock: ParameterContainer, Sendable {
    public var norm1: LayerNorm
    public var qkv: Linear // [3D, D]
    public var proj: Linear // [D, D]
    public var relativePositionHeight: Tensor // [2·s − 1, D/H], s = window or grid side
    public var relativePositionWidth: Tensor // [2·s − 1, D/H]
    public var norm2: LayerNorm
    public var lin1: Linear // [hidden, D]
    public var lin2: Linear // [D, hidden]
    public let heads: Int
    /// The window side, or 0 for global attention.
    public let windowSize: Int

    /// A block with zero-initialised parameters whose attention spans `attentionSide` tokens per side.
    init(width: Int, heads: Int, mlpHidden: Int, windowSize: Int, attentionSide: Int, eps: Float) {
        norm1 = LayerNorm(width: width, eps: eps)
        qkv = Linear(inFeatures: width, outFeatures: 3 * width)
        proj = Linear(inFeatures: width, outFeatures: width)
        relativePositionHeight = Tensor(shape: [2 * attentionSide - 1, width / heads])
        relativePositionWidth = Tensor(shape: [2 * attentionSide - 1, width / heads])
        norm2 = LayerNorm(width: width, eps: eps)
        lin1 = Linear(inFeatures: width, outFeatures: mlpHidden)
        lin2 = Linear(inFeatures: mlpHidden, outFeatures: width)
        self.heads = heads
        self.windowSize = windowSize
    }

    var width: Int { proj.outFeatures }

    /// The block on `batch` grids of `gridHeight × gridWidth` tokens at `x` `[batch·gridHeight·gridWidth, D]`, in place.
    func apply(_ x: UnsafeMutablePointer<Float>, batch: Int, gridHeight: Int, gridWidth: Int, context: ComputeContext) {
        let d = width
        let rows = batch * gridHeight * gridWidth
        let fused = UnsafeMutablePointer<Float>.allocate(capacity: rows * 3 * d) // [rows, 3D], grid order
        let mixed = UnsafeMutablePointer<Float>.allocate(capacity: rows * d) // [rows, D], grid order
        defer { fused.deallocate(); mixed.deallocate() }
        context.parallelRanges(rows, minimumChunk: 16) { range in
            let normed = UnsafeMutablePointer<Float>.allocate(capacity: range.count * d)
            defer { normed.deallocate() }
            norm1.apply(x + range.lowerBound * d, rows: range.count, into: normed)
            qkv.apply(normed, rows: range.count, into: fused + range.lowerBound * 3 * d)
        }
        if windowSize > 0 {
            windowedAttention(fused, batch: batch, gridHeight: gridHeight, gridWidth: gridWidth, into: mixed, context: context)
        } else {
            attention(fused, sequences: batch, height: gridHeight, width: gridWidth, into: mixed, context: context)
        }
        context.parallelRanges(rows, minimumChunk: 16) { range in
            let projected = UnsafeMutablePointer<Float>.allocate(capacity: range.count * d)
            defer { projected.deallocate() }
            proj.apply(mixed + range.lowerBound * d, rows: range.count, into: projected)
            RowKernels.addScaled(x + range.lowerBound * d, projected, rows: range.count, width: d, gamma: nil)
            feedForwardResidual(x, rows: range)
        }
    }

    /// Attention inside the windows: `fused` grid-order QKV → window order (padding tokens get the `qkv`
    /// bias, the projection of a zero token) → attention per window → `mixed` in grid order.
    private func windowedAttention(_ fused: UnsafePointer<Float>, batch: Int, gridHeight: Int, gridWidth: Int,
                                   into mixed: UnsafeMutablePointer<Float>, context: ComputeContext) {
        let d = width
        let windows = WindowPartition(batch: batch, gridHeight: gridHeight, gridWidth: gridWidth, window: windowSize)
        let paddedRows = windows.windowCount * windows.tokensPerWindow
        let windowedQKV = UnsafeMutablePointer<Float>.allocate(capacity: paddedRows * 3 * d)
        let windowedMixed = UnsafeMutablePointer<Float>.allocate(capacity: paddedRows * d)
        defer { windowedQKV.deallocate(); windowedMixed.deallocate() }
        windows.partition(fused, rowWidth: 3 * d, fill: qkv.bias.map { UnsafePointer($0.storage.pointer) }, into: windowedQKV, context: context)
        attention(windowedQKV, sequences: windows.windowCount, height: windowSize, width: windowSize, into: windowedMixed, context: context)
        windows.unpartition(windowedMixed, rowWidth: d, into: mixed, context: context)
    }

    /// Attention over `sequences` grids of `height × width` tokens with this block's relative position tables.
    private func attention(_ fused: UnsafePointer<Float>, sequences: Int, height: Int, width: Int,
                           into mixed: UnsafeMutablePointer<Float>, context: ComputeContext) {
        let heightTable = RelativePositionAttention.expandedTable(relativePositionHeight, size: height)
        let widthTable = RelativePositionAttention.expandedTable(relativePositionWidth, size: width)
        RelativePositionAttention.apply(qkv: fused, sequences: sequences, height: height, width: width, heads: heads,
                                        headDimension: self.width / heads, heightTable: heightTable.storage.pointer,
                                        widthTable: widthTable.storage.pointer, into: mixed, context: context)
    }

    /// `x += lin2(GELU(lin1(norm2(x))))` for `rows`, in equal blocks of at most
    /// `TransformerBlock.feedForwardRowBlock` rows so the hidden activations stay in cache.
    private func feedForwardResidual(_ x: UnsafeMutablePointer<Float>, rows: Range<Int>) {
        let d = width, hidden = lin1.outFeatures
        let blocks = (rows.count + TransformerBlock.feedForwardRowBlock - 1) / TransformerBlock.feedForwardRowBlock
        let block = max((rows.count + blocks - 1) / max(blocks, 1), 1)
        let normed = UnsafeMutablePointer<Float>.allocate(capacity: block * d)
        let activations = UnsafeMutablePointer<Float>.allocate(capacity: block * hidden)
        let output = UnsafeMutablePointer<Float>.allocate(capacity: block * d)
        defer { normed.deallocate(); activations.deallocate(); output.deallocate() }
        for start in Swift.stride(from: rows.lowerBound, to: rows.upperBound, by: block) {
            let count = min(block, rows.upperBound - start)
            let tokens = x + start * d
            norm2.apply(tokens, rows: count, into: normed)
            lin1.apply(normed, rows: count, into: activations)
            RowKernels.geluInPlace(activations, count: count * hidden)
            lin2.apply(activations, rows: count, into: output)
            RowKernels.addScaled(tokens, output, rows: count, width: d, gamma: nil)
        }
    }

    public mutating func visitParameters<V: ParameterVisitor>(_ visitor: inout V, scope: ParameterScope) {
        norm1.visitParameters(&visitor, scope: scope.scope("norm1"))
        let attention = scope.scope("attn")
        qkv.visitParameters(&visitor, scope: attention.scope("qkv"))
        proj.visitParameters(&visitor, scope: attention.scope("proj"))
        visitor.visit(attention.key("rel_pos_h"), &relativePositionHeight)
        visitor.visit(attention.key("rel_pos_w"), &relativePositionWidth)
        norm2.visitParameters(&visitor, scope: scope.scope("norm2"))
        lin1.visitParameters(&visitor, scope: scope.scope("mlp").scope("lin1"))
        lin2.visitParameters(&visitor, scope: scope.scope("mlp").scope("lin2"))
    }
}
