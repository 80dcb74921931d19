import Foundation
import TensorCore

/// The study's classification preprocessing of a 2D image into a ViT input (DESIGN.md §6):
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
/// A grey image is resized as one plane and then replicated (the same values as replicating first).
/// Modality windowing (CT HU clipping, MRI percentile clipping) happens before this, on the raw values.
public struct Preprocessing: Sendable {
    /// ImageNet channel means (R, G, B).
    public static let imageNetMean: [Float] = [0.485, 0.456, 0.406]
    /// ImageNet channel standard deviations (R, G, B).
    public static let imageNetStd: [Float] = [0.229, 0.224, 0.225]

    /// Side of the square output (224 or 448 in the study).
    public let size: Int

    /// Preprocessing to `size` × `size`.
    public init(size: Int = 224) {
        precondition(size > 0, "output size must be positive, not \(size)")
        self.size = size
    }

    /// The model input for one image: `[1, 3, size, size]`.
    public func callAsFunction(_ image: Image2D) -> Tensor {
        normalised(Self.resized(Self.minMaxScaled(image), width: size, height: size)).reshaped([1, 3, size, size])
    }

    /// The model input for a PNG file: `[1, 3, size, size]`.
    public func callAsFunction(contentsOf url: URL) throws -> Tensor {
        self(try PNGReader.read(contentsOf: url))
    }

    /// The model input for several images, stacked: `[B, 3, size, size]` (B = `images.count`).
    public func batch(_ images: [Image2D]) -> Tensor {
        if images.isEmpty { return Tensor(shape: [0, 3, size, size]) }
        return Tensor.stack(images.map { normalised(Self.resized(Self.minMaxScaled($0), width: size, height: size)) })
    }

    /// `[3, size, size]`: grey replicated, then `(x − mean[c]) / std[c]`.
    func normalised(_ image: Image2D) -> Tensor {
        precondition(image.width == size && image.height == size)
        let plane = size * size
        return Tensor(shape: [3, size, size]) { out in
            image.pixels.withUnsafeBufferPointer { src in
                for c in 0..<3 {
                    let from = image.channels == 1 ? 0 : c
                    let mean = Self.imageNetMean[c], std = Self.imageNetStd[c]
                    for i in 0..<plane { out[c * plane + i] = (src[from * plane + i] - mean) / std }
                }
            }
        }
    }

    /// Min–max scaled to [0, 1] over all samples: `(x − min) / (max − min)`; all zeros when max = min.
    /// The result has `bitDepth` 32 (float). Samples are expected to be finite.
    public static func minMaxScaled(_ image: Image2D) -> Image2D {
        var lo = Float.infinity, hi = -Float.infinity
        for v in image.pixels {
            lo = min(lo, v)
            hi = max(hi, v)
        }
        let range = hi - lo
        let scaled = range > 0 ? image.pixels.map { ($0 - lo) / range } : [Float](repeating: 0, count: image.pixels.count)
        return Image2D(width: image.width, height: image.height, channels: image.channels, pixels: scaled,
                       bitDepth: 32, source: image.source)
    }

    /// Resized to `width` × `height` per channel with antialiased bilinear interpolation (the variant
    /// described on `Preprocessing`: torch's `interpolate(mode="bilinear", align_corners=False,
    /// antialias=True)`). Rows are resampled first, then columns.
    public static func resized(_ image: Image2D, width: Int, height: Int) -> Image2D {
        precondition(width > 0 && height > 0, "output size \(width)×\(height) must be positive")
        let across = ResamplingTaps(input: image.width, output: width)
        let down = ResamplingTaps(input: image.height, output: height)
        let inPlane = image.width * image.height, midPlane = width * image.height, outPlane = width * height
        var middle = [Float](repeating: 0, count: midPlane)               // one channel, [inH, outW]
        var result = [Float](repeating: 0, count: outPlane * image.channels)
        image.pixels.withUnsafeBufferPointer { src in
            middle.withUnsafeMutableBufferPointer { mid in
                result.withUnsafeMutableBufferPointer { out in
                    for c in 0..<image.channels {
                        for y in 0..<image.height {
                            across.apply(src.baseAddress! + c * inPlane + y * image.width, stride: 1,
                                         to: mid.baseAddress! + y * width, outStride: 1)
                        }
                        for x in 0..<width {
                            down.apply(UnsafePointer(mid.baseAddress! + x), stride: width,
                                       to: out.baseAddress! + c * outPlane + x, outStride: width)
                        }
                    }
                }
            }
        }
        return Image2D(width: width, height: height, channels: image.channels, pixels: result,
                       bitDepth: image.bitDepth, source: image.source)
    }
}

/// Antialiased bilinear (triangle filter) taps of a 1-D resampling from `input` to `output` samples,
/// computed in `Float` exactly as PyTorch's `_compute_weights_aa` (align_corners=False):
/// `scale = input / output`, `support = max(scale, 1)`, centre `scale · (i + 0.5)`, weights normalised.
struct ResamplingTaps {
    /// First input index of each output sample.
    let start: [Int]
    /// Number of taps of each output sample.
    let count: [Int]
    /// Weights, `maxTaps` slots per output sample.
    let weights: [Float]
    let maxTaps: Int

    init(input: Int, output: Int) {
        let scale = Float(input) / Float(output)
        let support: Float = scale >= 1 ? scale : 1
        let invScale: Float = scale >= 1 ? 1 / scale : 1
        let slots = Int((support * 2).rounded(.up)) + 1
        var start = [Int](repeating: 0, count: output), count = [Int](repeating: 0, count: output)
        var weights = [Float](repeating: 0, count: output * slots)
        for i in 0..<output {
            let center = scale * (Float(i) + 0.5)
            let lo = max(Int(center - support + 0.5), 0)
            let n = min(Int(center + support + 0.5), input) - lo
            precondition(n >= 1 && n <= slots, "resampling \(input) → \(output): \(n) taps at \(i)")
            var total: Float = 0
            for j in 0..<n {
                let x = abs((Float(j + lo) - center + 0.5) * invScale)
                let w: Float = x < 1 ? 1 - x : 0
                weights[i * slots + j] = w
                total += w
            }
            if total != 0 { for j in 0..<n { weights[i * slots + j] /= total } }
            start[i] = lo
            count[i] = n
        }
        self.start = start
        self.count = count
        self.weights = weights
        self.maxTaps = slots
    }

    /// `out[i · outStride] = Σ_j weights[i][j] · src[(start[i] + j) · stride]` for every output sample `i`.
    func apply(_ src: UnsafePointer<Float>, stride: Int, to out: UnsafeMutablePointer<Float>, outStride: Int) {
        weights.withUnsafeBufferPointer { w in
            for i in 0..<start.count {
                var sum: Float = 0
                let base = src + start[i] * stride
                let wi = w.baseAddress! + i * maxTaps
                for j in 0..<count[i] { sum += wi[j] * base[j * stride] }
                out[i * outStride] = sum
            }
        }
    }
}
