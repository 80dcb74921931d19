import Foundation
import TensorCore

/// A 2D image of `channels` (1 = grey, 3 = RGB) planes of `height` × `width` samples.
///
/// `pixels` is planar and row-major, `[channels, height, width]`: the sample of channel `c` at row `y`,
/// column `x` is `pixels[(c * height + y) * width + x]`, the layout of `tensor`. Values are the raw
/// stored sample values as `Float` (exact: every 16-bit integer is a `Float`), e.g. 0…65535 for a
/// 16-bit PNG, with no gamma decoding and no alpha compositing.
public struct Image2D: Equatable, Sendable {
    /// Columns.
    public let width: Int
    /// Rows.
    public let height: Int
    /// Planes: 1 (grey) or 3 (RGB). Alpha is never kept.
    public let channels: Int
    /// Samples, planar `[channels, height, width]`, row-major.
    public var pixels: [Float]
    /// Bits per sample of the values in `pixels`: 8 (0…255) or 16 (0…65535) for a decoded PNG; PNGs
    /// stored with 1, 2 or 4 bits per grey sample are expanded to 8 (v × 255 / (2^bits − 1)).
    /// Images made in code default to 32 (float samples); preprocessing ignores it and uses the actual
    /// minimum and maximum.
    public let bitDepth: Int
    /// The file the image was read from, if any.
    public let source: URL?
    /// Pixel size in mm as (between rows, between columns) when the file records it (DICOM Pixel Spacing).
    public var pixelSpacing: [Double]?

    /// An image holding `pixels` in `[channels, height, width]` order.
    public init(width: Int, height: Int, channels: Int, pixels: [Float], bitDepth: Int = 32, source: URL? = nil) {
        precondition(width > 0 && height > 0, "image size \(width)×\(height) must be positive")
        precondition(channels == 1 || channels == 3, "an Image2D has 1 or 3 channels, not \(channels)")
        precondition(pixels.count == width * height * channels,
                     "\(channels)×\(height)×\(width) image needs \(width * height * channels) samples, got \(pixels.count)")
        self.width = width
        self.height = height
        self.channels = channels
        self.pixels = pixels
        self.bitDepth = bitDepth
        self.source = source
    }

    /// An image from a tensor of shape `[channels, height, width]` (or `[height, width]` for grey).
    public init(_ tensor: Tensor, bitDepth: Int = 32, source: URL? = nil) {
        precondition(tensor.rank == 2 || tensor.rank == 3, "Image2D needs [C, H, W] or [H, W], not \(tensor.shape)")
        let shape = tensor.rank == 2 ? [1] + tensor.shape : tensor.shape
        self.init(width: shape[2], height: shape[1], channels: shape[0], pixels: tensor.scalars,
                  bitDepth: bitDepth, source: source)
    }

    /// The largest value a sample of `bitDepth` bits can hold (2^bitDepth − 1; 1 for float images, bitDepth 32).
    public var maximumValue: Float { bitDepth >= 1 && bitDepth <= 24 ? Float((1 << bitDepth) - 1) : 1 }

    /// Sample of channel `channel` at row `y`, column `x`.
    public subscript(channel channel: Int, y y: Int, x x: Int) -> Float {
        precondition(channel >= 0 && channel < channels && y >= 0 && y < height && x >= 0 && x < width,
                     "(\(channel), \(y), \(x)) outside \(channels)×\(height)×\(width)")
        return pixels[(channel * height + y) * width + x]
    }

    /// The samples as a tensor of shape `[channels, height, width]`.
    public var tensor: Tensor { Tensor(shape: [channels, height, width], values: pixels) }
}
