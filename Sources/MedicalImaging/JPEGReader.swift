import CJPEG
import Foundation

/// Reads baseline and progressive 8-bit JPEG files into `Image2D`s with libjpeg-turbo's TurboJPEG API.
///
/// Output: greyscale JPEGs give 1 channel, YCbCr and RGB JPEGs 3 channels (RGB), planar
/// `[channels, height, width]`, values 0…255, `bitDepth` 8. Decoding uses the library's defaults, the
/// same as Pillow's: the accurate integer inverse DCT (JDCT_ISLOW) and "fancy" (triangular) chroma
/// upsampling, YCbCr → RGB per JFIF (R = Y + 1.402 (Cr − 128), G = Y − 0.344136 (Cb − 128) −
/// 0.714136 (Cr − 128), B = Y + 1.772 (Cb − 128), in libjpeg's fixed point), so with the same
/// libjpeg-turbo the values equal Pillow's `np.asarray(Image.open(path))` exactly.
///
/// Refused with an `ImagingError` naming the file: empty files and files not starting with FF D8 FF
/// ("is not a JPEG file"), CMYK/YCCK JPEGs, sample precisions other than 8 bits (12-bit, lossless),
/// and any libjpeg warning or error — a truncated file ("Premature end of JPEG file"), a corrupt marker
/// or entropy-coded data — as "is truncated or corrupt: …", never a partly grey image.
public enum JPEGReader {
    /// The bytes every JPEG file starts with: a start-of-image marker (FF D8) and the next marker's FF.
    public static let signature: [UInt8] = [0xFF, 0xD8, 0xFF]

    /// The most pixels a file may declare per byte it holds: about 16 times what libjpeg's most compact
    /// output (a uniform progressive image) needs, so a tiny file cannot make the reader allocate gigabytes.
    static let maximumPixelsPerFileByte = 4096

    /// Reads the JPEG file at `url`; throws `ImagingError` naming the file when it is missing, unreadable,
    /// not a JPEG, of an unsupported kind (CMYK, 12-bit) or truncated or corrupt.
    public static func read(contentsOf url: URL) throws -> Image2D {
        try decode(FileBytes.read(contentsOf: url), file: url.path, source: url)
    }

    /// Decodes JPEG bytes held in memory; `file` names them in errors.
    public static func decode(_ data: Data, file: String = "<memory>", source: URL? = nil) throws -> Image2D {
        try data.withUnsafeBytes { (bytes: UnsafeRawBufferPointer) -> Image2D in
            try checkSignature(bytes, file: file)
            guard let decoder = tjInitDecompress() else {
                throw ImagingError(file: file, problem: "cannot be decoded (libjpeg-turbo could not create a decoder)")
            }
            defer { tjDestroy(decoder) }
            let jpeg = bytes.baseAddress!.assumingMemoryBound(to: UInt8.self)
            let header = try readHeader(decoder, jpeg, count: bytes.count, file: file)
            return try decodePixels(decoder, jpeg, count: bytes.count, header: header, file: file, source: source)
        }
    }

    // MARK: - Steps

    static func checkSignature(_ bytes: UnsafeRawBufferPointer, file: String) throws {
        guard !bytes.isEmpty else { throw ImagingError(file: file, problem: "is empty (0 bytes), not a JPEG file") }
        let head = Array(bytes.prefix(signature.count))
        guard head == signature else {
            let shown = head.map { String(format: "%02X", $0) }.joined(separator: " ")
            throw ImagingError(file: file, problem: "is not a JPEG file (starts with \(shown), a JPEG starts with FF D8 FF)")
        }
    }

    /// What the frame header says: size and the number of channels to decode to (1 or 3).
    struct Header {
        let width: Int
        let height: Int
        let channels: Int
    }

    static func readHeader(_ decoder: tjhandle, _ jpeg: UnsafePointer<UInt8>, count: Int, file: String) throws -> Header {
        var width: Int32 = 0, height: Int32 = 0, subsampling: Int32 = 0, colourSpace: Int32 = 0
        // A file cut inside its headers can return success with the outputs untouched (a warning,
        // "Premature end of JPEG file"), hence the size check.
        guard tjDecompressHeader3(decoder, jpeg, UInt(count), &width, &height, &subsampling, &colourSpace) == 0,
              width > 0, height > 0 else {
            throw libraryError(decoder, file: file)
        }
        let channels: Int
        switch UInt32(bitPattern: colourSpace) {
        case TJCS_GRAY.rawValue: channels = 1
        case TJCS_YCbCr.rawValue, TJCS_RGB.rawValue: channels = 3
        case TJCS_CMYK.rawValue, TJCS_YCCK.rawValue:
            throw ImagingError(file: file, problem: "is a CMYK JPEG; only greyscale and colour (YCbCr or RGB) JPEGs are supported")
        default:
            throw ImagingError(file: file, problem: "has an unsupported JPEG colour space (TurboJPEG code \(colourSpace))")
        }
        let (pixels, overflow) = Int(width).multipliedReportingOverflow(by: Int(height))
        guard !overflow, pixels / count <= maximumPixelsPerFileByte else {
            throw ImagingError(file: file, problem: "is corrupt: it declares \(width)×\(height) pixels, "
                + "more than its \(count) bytes can encode")
        }
        return Header(width: Int(width), height: Int(height), channels: channels)
    }

    /// Decodes into a pixel-interleaved buffer (grey or RGB), then splits it into planes.
    static func decodePixels(_ decoder: tjhandle, _ jpeg: UnsafePointer<UInt8>, count: Int, header: Header,
                             file: String, source: URL?) throws -> Image2D {
        let (width, height, channels) = (header.width, header.height, header.channels)
        let plane = width * height
        let interleaved = UnsafeMutablePointer<UInt8>.allocate(capacity: plane * channels)
        defer { interleaved.deallocate() }
        let format = channels == 1 ? TJPF_GRAY : TJPF_RGB
        let flags = TJFLAG_ACCURATEDCT | TJFLAG_STOPONWARNING
        guard tjDecompress2(decoder, jpeg, UInt(count), interleaved, Int32(width), Int32(width * channels),
                            Int32(height), Int32(format.rawValue), flags) == 0 else {
            throw libraryError(decoder, file: file)
        }
        let pixels = [Float](unsafeUninitializedCapacity: plane * channels) { buffer, initialised in
            let out = buffer.baseAddress!
            if channels == 1 {
                for i in 0..<plane { out[i] = Float(interleaved[i]) }
            } else {
                for i in 0..<plane {
                    out[i] = Float(interleaved[3 * i])
                    out[plane + i] = Float(interleaved[3 * i + 1])
                    out[2 * plane + i] = Float(interleaved[3 * i + 2])
                }
            }
            initialised = plane * channels
        }
        return Image2D(width: width, height: height, channels: channels, pixels: pixels, bitDepth: 8, source: source)
    }

    /// The decoder's last message as an error. Warnings (TJERR_WARNING, e.g. "Premature end of JPEG file",
    /// after which libjpeg fills the rest with grey) are errors here too: decoding runs with
    /// TJFLAG_STOPONWARNING, and any failure TurboJPEG reports is refused.
    static func libraryError(_ decoder: tjhandle, file: String) -> ImagingError {
        let message = tjGetErrorStr2(decoder).map { String(cString: $0) } ?? "unknown error"
        if message.contains("Unsupported JPEG data precision") {
            return ImagingError(file: file, problem: "is not an 8-bit JPEG (libjpeg-turbo: \(message)); only 8-bit samples are supported")
        }
        if message.contains("Could not determine subsampling type") {
            return ImagingError(file: file, problem: "uses a chroma subsampling libjpeg-turbo's TurboJPEG API does not decode "
                + "(\(message)); re-encode it, e.g. as 4:2:0 or 4:4:4")
        }
        return ImagingError(file: file, problem: "is truncated or corrupt (libjpeg-turbo: \(message))")
    }
}
