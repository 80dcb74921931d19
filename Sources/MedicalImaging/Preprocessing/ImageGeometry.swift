import Foundation

/// Geometric edits of an `Image2D` that move samples without interpolating them, and the helper that
/// builds a derived image keeping `source` and `pixelSpacing`.
extension Image2D {
    /// An image of other samples with this image's `source`; `pixelSpacing` as given.
    func derived(width: Int, height: Int, channels: Int, pixels: [Float], bitDepth: Int,
                 pixelSpacing: [Double]?) -> Image2D {
        var image = Image2D(width: width, height: height, channels: channels, pixels: pixels, bitDepth: bitDepth,
                            source: source)
        image.pixelSpacing = pixelSpacing
        return image
    }

    /// The same size and metadata with other samples (`[channels, height, width]`).
    func replacingPixels(_ newPixels: [Float], bitDepth newBitDepth: Int? = nil) -> Image2D {
        derived(width: width, height: height, channels: channels, pixels: newPixels, bitDepth: newBitDepth ?? bitDepth,
                pixelSpacing: pixelSpacing)
    }

    /// The `height` × `width` window whose top-left sample is (`top`, `left`): output (y, x) is input
    /// (top + y, left + x). The window must lie inside the image.
    public func cropped(top: Int, left: Int, height newHeight: Int, width newWidth: Int) -> Image2D {
        precondition(top >= 0 && left >= 0 && newHeight > 0 && newWidth > 0 && top + newHeight <= height
                     && left + newWidth <= width,
                     "crop \(newHeight)×\(newWidth) at (\(top), \(left)) outside \(height)×\(width)")
        var out = [Float]()
        out.reserveCapacity(channels * newHeight * newWidth)
        for c in 0..<channels {
            for y in top..<top + newHeight {
                let row = (c * height + y) * width
                out.append(contentsOf: pixels[row + left ..< row + left + newWidth])
            }
        }
        return derived(width: newWidth, height: newHeight, channels: channels, pixels: out, bitDepth: bitDepth,
                       pixelSpacing: pixelSpacing)
    }

    /// Mirrored left ↔ right: output (y, x) is input (y, width − 1 − x).
    public func flippedHorizontally() -> Image2D {
        var out = pixels
        for row in 0..<channels * height {
            out[row * width ..< (row + 1) * width].reverse()
        }
        return replacingPixels(out)
    }

    /// Mirrored top ↔ bottom: output (y, x) is input (height − 1 − y, x).
    public func flippedVertically() -> Image2D {
        var out = [Float]()
        out.reserveCapacity(pixels.count)
        for c in 0..<channels {
            for y in (0..<height).reversed() {
                let row = (c * height + y) * width
                out.append(contentsOf: pixels[row ..< row + width])
            }
        }
        return replacingPixels(out)
    }

    /// How `rotated` reads the input at a non-integer position.
    public enum RotationSampling: Sendable {
        /// Four neighbours weighted (images).
        case bilinear
        /// The sample at the rounded position (label masks).
        case nearest
    }

    /// Rotated counter-clockwise on screen by `degrees` about the image centre `((W − 1)/2, (H − 1)/2)`,
    /// keeping the size, as torchvision's `rotate` (positive = counter-clockwise). Output (y, x) reads
    /// the input at `x_s = cx + (x − cx)·cos θ − (y − cy)·sin θ`, `y_s = cy + (x − cx)·sin θ + (y − cy)·cos θ`:
    /// `.nearest` takes the sample at the rounded position (0 outside), `.bilinear` weighs the four
    /// neighbours, a neighbour outside the image counting as 0 (so the fill is 0).
    public func rotated(degrees: Double, sampling: RotationSampling) -> Image2D {
        let theta = degrees * .pi / 180
        let cosine = cos(theta), sine = sin(theta)
        let cx = Double(width - 1) / 2, cy = Double(height - 1) / 2
        var out = [Float](repeating: 0, count: pixels.count)
        let plane = width * height
        func sample(_ c: Int, _ y: Int, _ x: Int) -> Float {
            y >= 0 && y < height && x >= 0 && x < width ? pixels[c * plane + y * width + x] : 0
        }
        for y in 0..<height {
            for x in 0..<width {
                let dx = Double(x) - cx, dy = Double(y) - cy
                let xs = cx + dx * cosine - dy * sine, ys = cy + dx * sine + dy * cosine
                for c in 0..<channels {
                    let value: Float
                    switch sampling {
                    case .nearest:
                        value = sample(c, Int(ys.rounded(.toNearestOrAwayFromZero)), Int(xs.rounded(.toNearestOrAwayFromZero)))
                    case .bilinear:
                        let x0 = xs.rounded(.down), y0 = ys.rounded(.down)
                        let fx = Float(xs - x0), fy = Float(ys - y0)
                        let ix = Int(x0), iy = Int(y0)
                        let top = sample(c, iy, ix) * (1 - fx) + sample(c, iy, ix + 1) * fx
                        let bottom = sample(c, iy + 1, ix) * (1 - fx) + sample(c, iy + 1, ix + 1) * fx
                        value = top * (1 - fy) + bottom * fy
                    }
                    out[c * plane + y * width + x] = value
                }
            }
        }
        return replacingPixels(out)
    }
}
