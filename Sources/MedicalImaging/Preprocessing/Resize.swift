import Foundation
import TensorCore
import TensorKernels

/// Resizing to the model's input size, a preprocessing step.
///
/// - `.square`: each channel resampled to `size` × `size` (the study's resize; aspect ratio not kept).
/// - `.shorterSideThenCenterCrop(shorterSide: s)`: torchvision's `Resize(s)` then `CenterCrop(size)`
///   (DINOv2's evaluation transform uses s = 256, size = 224; s = size crops the longer side only). For an
///   `h` × `w` image with `short = min(h, w)`, `long = max(h, w)`, the shorter side becomes `s` and the
///   longer `int(s · long / short)` (Python's true division, truncated); the crop's top row is
///   `int(round((h' − size) / 2.0))` and its left column `int(round((w' − size) / 2.0))` with Python's
///   `round` (halves to even), `h'` × `w'` the resized size.
///
/// Interpolations (all `align_corners=False`, float, as torch 1.13 on CPU; see `Interpolation`).
/// `pixelSpacing` is rescaled by `in / out` per axis. Masks go through `resizedMask`, which uses the
/// same geometry with `.nearest`.
public struct Resize: Hashable, Sendable, CustomStringConvertible {
    /// How the image is brought to `size` × `size`.
    public enum Fit: Hashable, Sendable {
        /// Both sides resampled to `size` (aspect ratio not kept).
        case square
        /// Shorter side resampled to `shorterSide` (aspect ratio kept), then the central `size` × `size`.
        case shorterSideThenCenterCrop(shorterSide: Int)
    }

    /// Resampling filter, named as in the pipeline record.
    public enum Interpolation: String, CaseIterable, Hashable, Sendable {
        /// `F.interpolate(mode="nearest")`: source `min(⌊i · (in / out)⌋, in − 1)` in float (exact copies
        /// for equal sizes and `i / 2` for doubling). For label masks.
        case nearest
        /// `F.interpolate(mode="nearest-exact")`: source `min(⌊(i + 0.5) · (in / out)⌋, in − 1)`.
        case nearestExact = "nearest-exact"
        /// `F.interpolate(mode="bilinear", antialias=False)`: two taps, source `(i + 0.5) · in / out − 0.5`
        /// clamped at 0.
        case bilinear
        /// `F.interpolate(mode="bilinear", antialias=True)`: triangle filter widened to the
        /// downscaling factor (PIL's BILINEAR); the study's resize.
        case bilinearAntialiased = "bilinear-aa"
        /// `F.interpolate(mode="bicubic", antialias=False)`: Keys cubic, A = −0.75, clamped borders.
        case bicubic
        /// `F.interpolate(mode="bicubic", antialias=True)`: PIL-style cubic (A = −0.5) widened to the
        /// downscaling factor.
        case bicubicAntialiased = "bicubic-aa"
    }

    /// Side of the square output.
    public var size: Int
    /// Square resize or shorter side + centre crop.
    public var fit: Fit
    /// Filter used for images.
    public var interpolation: Interpolation

    /// A resize to `size` × `size`.
    public init(size: Int, fit: Fit = .square, interpolation: Interpolation = .bilinearAntialiased) {
        precondition(size > 0, "output size must be positive, not \(size)")
        if case let .shorterSideThenCenterCrop(shorter) = fit {
            precondition(shorter >= size, "the shorter side (\(shorter)) must be at least the crop (\(size))")
        }
        self.size = size
        self.fit = fit
        self.interpolation = interpolation
    }

    /// `resize[224,square,bilinear-aa]` or `resize[224,short256-crop,bicubic]`.
    public var description: String {
        let fitText = switch fit {
        case .square: "square"
        case let .shorterSideThenCenterCrop(shorter): "short\(shorter)-crop"
        }
        return "resize[\(size),\(fitText),\(interpolation.rawValue)]"
    }

    /// The image resampled with `interpolation` to `size` × `size`.
    public func apply(_ image: Image2D) -> Image2D { resize(image, with: interpolation) }

    /// A label mask brought to `size` × `size` by the same geometry with `.nearest` (labels never mix).
    public func resizedMask(_ mask: Image2D) -> Image2D { resize(mask, with: .nearest) }

    /// Size after the shorter-side resize, as torchvision's `_compute_resized_output_size`.
    public static func shorterSideSize(height: Int, width: Int, shorterSide: Int) -> (height: Int, width: Int) {
        let short = min(height, width), long = max(height, width)
        let newLong = Int(Double(shorterSide * long) / Double(short))
        return width <= height ? (newLong, shorterSide) : (shorterSide, newLong)
    }

    /// Top-left corner of torchvision's `CenterCrop(size)` on an `height` × `width` image.
    public static func centerCropOrigin(height: Int, width: Int, size: Int) -> (top: Int, left: Int) {
        (Int((Double(height - size) / 2).rounded(.toNearestOrEven)), Int((Double(width - size) / 2).rounded(.toNearestOrEven)))
    }

    private func resize(_ image: Image2D, with filter: Interpolation) -> Image2D {
        switch fit {
        case .square:
            return image.resampled(width: size, height: size, interpolation: filter)
        case let .shorterSideThenCenterCrop(shorter):
            let scaled = Self.shorterSideSize(height: image.height, width: image.width, shorterSide: shorter)
            let resized = image.resampled(width: scaled.width, height: scaled.height, interpolation: filter)
            let origin = Self.centerCropOrigin(height: scaled.height, width: scaled.width, size: size)
            return resized.cropped(top: origin.top, left: origin.left, height: size, width: size)
        }
    }
}

extension Image2D {
    /// Each channel resampled to `width` × `height` with `interpolation` (see `Resize.Interpolation`);
    /// `pixelSpacing` scaled by `in / out` per axis. Separable filters run along the width first, then
    /// along the height, as torch does; the bicubic ones use `BicubicResize`.
    public func resampled(width newWidth: Int, height newHeight: Int, interpolation: Resize.Interpolation) -> Image2D {
        precondition(newWidth > 0 && newHeight > 0, "output size \(newWidth)×\(newHeight) must be positive")
        let spacing = pixelSpacing.map { ps in
            ps.count == 2 ? [ps[0] * Double(height) / Double(newHeight), ps[1] * Double(width) / Double(newWidth)] : ps
        }
        let out: [Float]
        switch interpolation {
        case .nearest:
            out = separable(.nearest(input: width, output: newWidth), .nearest(input: height, output: newHeight))
        case .nearestExact:
            out = separable(.nearestExact(input: width, output: newWidth), .nearestExact(input: height, output: newHeight))
        case .bilinear:
            out = separable(.bilinear(input: width, output: newWidth), .bilinear(input: height, output: newHeight))
        case .bilinearAntialiased:
            out = separable(.bilinearAntialiased(input: width, output: newWidth),
                            .bilinearAntialiased(input: height, output: newHeight))
        case .bicubic:
            out = bicubic(.size(height: newHeight, width: newWidth))
        case .bicubicAntialiased:
            out = bicubic(.antialiased(height: newHeight, width: newWidth))
        }
        return derived(width: newWidth, height: newHeight, channels: channels, pixels: out, bitDepth: bitDepth,
                       pixelSpacing: spacing)
    }

    /// Planar samples resampled by `across` (along each row) and then `down` (along each column).
    private func separable(_ across: ResamplingTaps, _ down: ResamplingTaps) -> [Float] {
        let outWidth = across.count.count, outHeight = down.count.count
        let inPlane = width * height, outPlane = outWidth * outHeight
        var middle = [Float](repeating: 0, count: outWidth * height)    // one channel, [inH, outW]
        var result = [Float](repeating: 0, count: outPlane * channels)
        pixels.withUnsafeBufferPointer { src in
            middle.withUnsafeMutableBufferPointer { mid in
                result.withUnsafeMutableBufferPointer { out in
                    for c in 0..<channels {
                        for y in 0..<height {
                            across.apply(src.baseAddress! + c * inPlane + y * width, stride: 1,
                                         to: mid.baseAddress! + y * outWidth, outStride: 1)
                        }
                        for x in 0..<outWidth {
                            down.apply(UnsafePointer(mid.baseAddress! + x), stride: outWidth,
                                       to: out.baseAddress! + c * outPlane + x, outStride: outWidth)
                        }
                    }
                }
            }
        }
        return result
    }

    /// Planar samples resampled by `BicubicResize` (which works on channels-last grids).
    private func bicubic(_ mode: BicubicResize.Mode) -> [Float] {
        let plane = width * height
        let channelsLast = Tensor(shape: [height, width, channels]) { out in
            for c in 0..<channels { for i in 0..<plane { out[i * channels + c] = pixels[c * plane + i] } }
        }
        let resized = BicubicResize.resize(channelsLast, mode: mode)
        let outPlane = resized.shape[0] * resized.shape[1]
        return resized.withUnsafeBufferPointer { grid in
            var planar = [Float](repeating: 0, count: grid.count)
            for c in 0..<channels { for i in 0..<outPlane { planar[c * outPlane + i] = grid[i * channels + c] } }
            return planar
        }
    }
}
