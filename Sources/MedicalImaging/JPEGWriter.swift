import CJPEG
import Foundation

/// Writes 8-bit `Image2D`s as baseline JPEG files with libjpeg-turbo's TurboJPEG API, atomically.
///
/// Samples are rounded and clamped to 0…255; grey images give one-component (grey) JPEGs, RGB images
/// YCbCr 4:2:0 JPEGs. `quality` is libjpeg's 1…100 scale. Lossy: reading the file back gives values
/// close to, not equal to, the written ones.
public enum JPEGWriter {
    /// Writes `image` to `url` at `quality`.
    public static func write(_ image: Image2D, to url: URL, quality: Int = 95) throws {
        try AtomicFile.write(encode(image, quality: quality, file: url.path), to: url)
    }

    /// The JPEG bytes of `image`; `file` names the destination in errors.
    public static func encode(_ image: Image2D, quality: Int = 95, file: String = "<memory>") throws -> Data {
        guard (1...100).contains(quality) else {
            throw ImagingError(file: file, problem: "cannot be written with JPEG quality \(quality) (1…100)")
        }
        guard let handle = tjInitCompress() else {
            throw ImagingError(file: file, problem: "cannot be encoded: libjpeg-turbo did not start a compressor")
        }
        defer { tjDestroy(handle) }
        let grey = image.channels == 1
        return try PNGWriter.withInterleavedSamples(image, maximum: 255, as: UInt8.self) { samples -> Data in
            var output: UnsafeMutablePointer<UInt8>? = nil
            var size: UInt = 0
            let status = tjCompress2(handle, samples.bindMemory(to: UInt8.self).baseAddress, Int32(image.width), 0,
                                     Int32(image.height), Int32(grey ? TJPF_GRAY.rawValue : TJPF_RGB.rawValue), &output, &size,
                                     Int32(grey ? TJSAMP_GRAY.rawValue : TJSAMP_420.rawValue), Int32(quality), TJFLAG_ACCURATEDCT)
            defer { tjFree(output) }
            guard status == 0, let output else {
                throw ImagingError(file: file, problem: "cannot be encoded as JPEG (libjpeg-turbo: \(String(cString: tjGetErrorStr2(handle))))")
            }
            return Data(bytes: output, count: Int(size))
        }
    }
}
