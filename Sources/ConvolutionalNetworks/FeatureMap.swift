import TensorCore

/// A batch of feature maps in channels-last (NHWC) layout, the layout the convolutional backbones run
/// in: every pixel is one contiguous row of `channels` values, so a 1×1 convolution of the whole batch
/// is one matrix product `[N·H·W, C] · [C, O]` and a k×k one gathers rows of `C` values (im2col).
public struct FeatureMap: Sendable {
    public let batch: Int, height: Int, width: Int, channels: Int
    /// `[N·H·W, C]`, pixel `(n, y, x)` at row `(n·H + y)·W + x`.
    public var values: Tensor

    /// Pixels in the batch: `N·H·W`, the rows of `values`.
    public var pixels: Int { batch * height * width }

    /// A map of `values` `[N·H·W, C]`.
    init(batch: Int, height: Int, width: Int, channels: Int, values: Tensor) {
        (self.batch, self.height, self.width, self.channels) = (batch, height, width, channels)
        self.values = values
    }

    /// A map whose rows `body` fills, given the `[N·H·W, C]` buffer.
    init(batch: Int, height: Int, width: Int, channels: Int, _ body: (UnsafeMutableBufferPointer<Float>) -> Void) {
        self.init(batch: batch, height: height, width: width, channels: channels,
                  values: Tensor(uninitializedShape: [batch * height * width, channels], body))
    }

    /// The map of an NCHW batch `[N, C, H, W]`, or an error when `images` is not rank 4.
    public init(channelsFirst images: Tensor) throws {
        guard images.rank == 4 else {
            throw ConvolutionalNetworkError("the input must be a batch of images [N, C, H, W], got \(describeShape(images.shape))")
        }
        let (n, c, h, w) = (images.shape[0], images.shape[1], images.shape[2], images.shape[3])
        self.init(batch: n, height: h, width: w, channels: c) { output in
            images.withUnsafeBufferPointer { input in
                Self.transpose(input.baseAddress!, into: output.baseAddress!, items: n, rows: c, columns: h * w)
            }
        }
    }

    /// The same values as an NCHW batch `[N, C, H, W]`, as PyTorch lays them out.
    public func channelsFirst() -> Tensor {
        let (c, planeCount) = (channels, height * width)
        return Tensor(uninitializedShape: [batch, c, height, width]) { output in
            values.withUnsafeBufferPointer { input in
                Self.transpose(input.baseAddress!, into: output.baseAddress!, items: batch, rows: planeCount, columns: c)
            }
        }
    }

    /// Transposes each of `items` consecutive `[rows, columns]` matrices into `[columns, rows]`, in tiles.
    private static func transpose(_ source: UnsafePointer<Float>, into destination: UnsafeMutablePointer<Float>,
                                  items: Int, rows: Int, columns: Int) {
        let tile = 32
        for item in 0..<items {
            let (from, to) = (source + item * rows * columns, destination + item * rows * columns)
            for r0 in stride(from: 0, to: rows, by: tile) {
                for c0 in stride(from: 0, to: columns, by: tile) {
                    for r in r0..<min(r0 + tile, rows) {
                        for c in c0..<min(c0 + tile, columns) { to[c * rows + r] = from[r * columns + c] }
                    }
                }
            }
        }
    }
}
