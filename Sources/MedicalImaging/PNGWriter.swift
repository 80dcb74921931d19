import CPNG
import Foundation

/// Writes `Image2D`s as PNG files with libpng's simplified write API (errors come back as messages,
/// never as a `longjmp`), atomically: a temporary file beside the target, then a rename.
///
/// Samples are rounded to the nearest integer and clamped to 0…255 (8-bit) or 0…65535 (16-bit);
/// grey images give grey PNGs, RGB images RGB PNGs (8-bit only). libpng marks 16-bit files as
/// linear (a gAMA chunk of 1.0); `PNGReader` and Pillow ignore it and read the stored values.
public enum PNGWriter {
    /// Sample depth of the written file.
    public enum Depth: Int, Sendable {
        case eight = 8, sixteen = 16
    }

    /// Writes `image` to `url` with samples of `depth` bits.
    public static func write(_ image: Image2D, to url: URL, depth: Depth = .eight) throws {
        try AtomicFile.write(encode(image, depth: depth, file: url.path), to: url)
    }

    /// The PNG bytes of `image`; `file` names the destination in errors.
    public static func encode(_ image: Image2D, depth: Depth = .eight, file: String = "<memory>") throws -> Data {
        guard depth == .eight || image.channels == 1 else {
            throw ImagingError(file: file, problem: "cannot be written as a 16-bit RGB PNG; only grey images are written with 16 bits")
        }
        var png = png_image()
        png.version = png_uint_32(PNG_IMAGE_VERSION)
        png.width = png_uint_32(image.width)
        png.height = png_uint_32(image.height)
        let format = image.channels == 3 ? Int(PNG_FORMAT_RGB) : (depth == .sixteen ? Int(PNG_FORMAT_LINEAR_Y) : Int(PNG_FORMAT_GRAY))
        png.format = png_uint_32(format)
        let encoded: Data? = depth == .sixteen
            ? withInterleavedSamples(image, maximum: 65535, as: UInt16.self) { encodeSamples(&png, $0) }
            : withInterleavedSamples(image, maximum: 255, as: UInt8.self) { encodeSamples(&png, $0) }
        defer { png_image_free(&png) }
        guard let encoded else {
            let message = withUnsafeBytes(of: png.message) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            throw ImagingError(file: file, problem: "cannot be encoded as PNG (libpng: \(message))")
        }
        return encoded
    }

    /// Calls `body` with the image's samples rounded, clamped to `0…maximum` and interleaved
    /// (`[height, width, channels]`, the order PNG rows store).
    static func withInterleavedSamples<Sample: FixedWidthInteger & UnsignedInteger, Result>(
        _ image: Image2D, maximum: Float, as _: Sample.Type, _ body: (UnsafeRawBufferPointer) throws -> Result
    ) rethrows -> Result {
        let plane = image.width * image.height, channels = image.channels
        var samples = [Sample](repeating: 0, count: plane * channels)
        image.pixels.withUnsafeBufferPointer { source in
            for c in 0..<channels {
                for i in 0..<plane {
                    let v = source[c * plane + i]
                    let clamped = v.isNaN ? 0 : min(max(v.rounded(), 0), maximum)
                    samples[i * channels + c] = Sample(clamped)
                }
            }
        }
        return try samples.withUnsafeBytes(body)
    }

    /// Encodes `samples` with `png`'s geometry into memory: nil when libpng reports an error.
    static func encodeSamples(_ png: inout png_image, _ samples: UnsafeRawBufferPointer) -> Data? {
        var size = 0
        guard png_image_write_to_memory(&png, nil, &size, 0, samples.baseAddress, 0, nil) != 0, size > 0 else { return nil }
        var data = Data(count: size)
        let written = data.withUnsafeMutableBytes { out in
            png_image_write_to_memory(&png, out.baseAddress, &size, 0, samples.baseAddress, 0, nil)
        }
        guard written != 0 else { return nil }
        data.count = size
        return data
    }
}
