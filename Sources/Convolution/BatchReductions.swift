import TensorCore
import TensorKernels

/// Reductions over the batch shared by the layers' backward passes.
enum BatchReductions {
    /// Spreads `0..<batch` over the workers in contiguous chunks; each chunk's `body` adds its items'
    /// contribution into its own zeroed buffer of `count` elements, and the buffers are summed into the
    /// returned tensor of `shape` (so a weight gradient needs no locks).
    static func sumOverChunks(
        batch: Int, shape: [Int], context: ComputeContext,
        _ body: (_ items: Range<Int>, _ partial: UnsafeMutablePointer<Float>) -> Void
    ) -> Tensor {
        let count = Tensor.elementCount(shape)
        let chunks = max(1, min(context.threads, batch))
        var total = Tensor(shape: shape)
        total.withUnsafeMutableBufferPointer { result in
            let partials = UnsafeMutablePointer<Float>.allocate(capacity: max(chunks - 1, 0) * count + 1)
            defer { partials.deallocate() }
            partials.initialize(repeating: 0, count: max(chunks - 1, 0) * count)
            context.parallelFor(chunks) { chunk in
                let items = batch * chunk / chunks..<batch * (chunk + 1) / chunks
                body(items, chunk == 0 ? result.baseAddress! : partials + (chunk - 1) * count)
            }
            for chunk in 1..<chunks {
                let partial = partials + (chunk - 1) * count
                for i in 0..<count { result[i] += partial[i] }
            }
        }
        return total
    }

    /// `Σ_{n, h, w} values[n, c, h, w]` for every channel `c` of an `[N, C, H, W]` tensor, accumulated in
    /// Double: the bias gradient of a convolution, the β gradient of a batch norm.
    static func channelSums(_ values: Tensor, _ shape: ImageBatchShape) -> Tensor {
        Tensor(shape: [shape.channels]) { sums in
            values.withUnsafeBufferPointer { v in
                for c in 0..<shape.channels {
                    var sum = 0.0
                    for n in 0..<shape.batch {
                        let plane = v.baseAddress! + (n * shape.channels + c) * shape.planeCount
                        for i in 0..<shape.planeCount { sum += Double(plane[i]) }
                    }
                    sums[c] = Float(sum)
                }
            }
        }
    }
}
