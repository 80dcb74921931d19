import Foundation
import TensorCore

/// The study's classification preprocessing of a 2D image into a ViT input (DESIGN.md §6), the pipeline
/// `minmax > grey3 > resize[size,square,bilinear-aa] > imagenet` (`PreprocessingPipeline.study(size:modality: .other)`):
///
/// 1. Min–max scaling over the whole image (all channels together): `x' = (x − min) / (max − min)`,
///    so values lie in [0, 1]; a constant image (max = min) becomes all zeros (never NaN).
/// 2. Grey replicated to 3 channels (RGB images are kept as they are).
/// 3. Square resize to `size` × `size` with antialiased bilinear interpolation, exactly the variant of
///    `torch.nn.functional.interpolate(mode="bilinear", align_corners=False, antialias=True)` (which
///    torchvision's `Resize(antialias=True)` uses on tensors, and PIL's `BILINEAR` resampling): per
///    axis, with `scale = inSize / outSize`, output sample `i` is centred at `c = scale · (i + 0.5)` and
///    takes the inputs `j` in `[max(0, ⌊c − s + 0.5⌋), min(inSize, ⌊c + s + 0.5⌋))`, `s = max(scale, 1)`,
///    with triangle-filter weights `max(0, 1 − |(j − c + 0.5) / max(scale, 1)|)` normalised to sum 1
///    (`⌊⌋` truncating toward zero as C++ does). Downscaling thus averages over the whole footprint
///    (e.g. ~2 × 8.9 input pixels per output when going from 2000 px to 224); upscaling reduces to
///    ordinary align_corners=False bilinear with edge clamping. Rows first (along the width), then
///    columns, as torch does.
/// 4. ImageNet normalisation per channel: `(x − mean[c]) / std[c]`, mean (0.485, 0.456, 0.406),
///    std (0.229, 0.224, 0.225).
///
/// Shapes: `callAsFunction(_:)` gives `[1, 3, size, size]`; `batch(_:)` gives `[B, 3, size, size]`.
/// Modality windowing (CT HU clipping, MRI percentile clipping) is not part of it: use
/// `PreprocessingPipeline.study(size:modality:)` for that.
public struct Preprocessing: Sendable {
    /// ImageNet channel means (R, G, B).
    public static let imageNetMean: [Float] = ImageNetNormalize.mean
    /// ImageNet channel standard deviations (R, G, B).
    public static let imageNetStd: [Float] = ImageNetNormalize.std

    /// Side of the square output (224 or 448 in the study).
    public let size: Int

    /// Preprocessing to `size` × `size`.
    public init(size: Int = 224) {
        precondition(size > 0, "output size must be positive, not \(size)")
        self.size = size
    }

    /// The steps, as recorded with results.
    public var pipeline: PreprocessingPipeline { .study(size: size, modality: .other) }

    /// The model input for one image: `[1, 3, size, size]`.
    public func callAsFunction(_ image: Image2D) -> Tensor { pipeline.tensor(image) }

    /// The model input for a PNG file: `[1, 3, size, size]`.
    public func callAsFunction(contentsOf url: URL) throws -> Tensor {
        self(try PNGReader.read(contentsOf: url))
    }

    /// The model input for several images, stacked: `[B, 3, size, size]` (B = `images.count`).
    public func batch(_ images: [Image2D]) -> Tensor {
        if images.isEmpty { return Tensor(shape: [0, 3, size, size]) }
        let pipeline = pipeline
        return Tensor.stack(images.map { pipeline($0).tensor })
    }

    /// Min–max scaled to [0, 1] over all samples (see `MinMaxScale`): `(x − min) / (max − min)`; all
    /// zeros when max = min. The result has `bitDepth` 32 (float).
    public static func minMaxScaled(_ image: Image2D) -> Image2D { MinMaxScale().apply(image) }

    /// Resized to `width` × `height` per channel with antialiased bilinear interpolation (torch's
    /// `interpolate(mode="bilinear", align_corners=False, antialias=True)`). Rows are resampled first,
    /// then columns.
    public static func resized(_ image: Image2D, width: Int, height: Int) -> Image2D {
        image.resampled(width: width, height: height, interpolation: .bilinearAntialiased)
    }
}
