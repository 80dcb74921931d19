import CPNGDecode
import Foundation

/// Reads PNG files into `Image2D`s with libpng, keeping the raw stored sample values.
///
/// Output: grey (1 channel) for grey and grey+alpha files, RGB (3 channels) for RGB, RGBA and
/// palette files; alpha (an alpha channel or a tRNS chunk) is dropped, never composited. 8-bit files
/// give 0…255, 16-bit files 0…65535 exactly as stored (`bitDepth` 8 or 16); 1/2/4-bit grey is
/// expanded to 8 bits (v × 255 / (2^bits − 1)); palette indices become their PLTE colours.
/// Colour-space chunks (gAMA, cHRM, sRGB, iCCP) are ignored: no gamma correction or linearisation.
///
/// How: after the framing check (step 1), non-interlaced grey and RGB files of 8 or 16 bits take
/// `PNGFastDecoder` (libdeflate, the same result, about 2.3× faster); every other file, and any such
/// file the fast path declines, is read by libpng in one decompression (steps 2 to 4), which also
/// gives every error message:
/// 1. A Swift walk over the chunk framing checks the signature and that every chunk up to IEND is
///    complete (clear "not a PNG" / "truncated" errors).
/// 2. libpng's classic API, driven from the small C target `CPNGDecode` (libpng reports errors by
///    `longjmp`, which Swift cannot catch, so the C side holds the `setjmp` and returns libpng's
///    message), reads the header with only `png_set_palette_to_rgb`, `png_set_expand_gray_1_2_4_to_8`,
///    `png_set_strip_alpha`, `png_set_swap` (16-bit samples in host order) and interlace handling.
/// 3. The header's promise is bounded by the file size before anything is allocated: the inflated
///    rows, `height × (1 + ⌈width × bits per pixel / 8⌉)` bytes, can be at most 1032 × the file size
///    (deflate's largest expansion) plus a small constant, and the decoded image at most 2³¹ bytes.
/// 4. libpng decompresses the image once into an interleaved buffer, checking CRCs and the zlib stream
///    as it does by default, and reads the chunks after it through IEND; a tight loop then spreads the
///    samples into planar `Float`s.
public enum PNGReader {
    /// The eight bytes every PNG file starts with.
    public static let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

    /// Reads the PNG file at `url`; throws `ImagingError` naming the file when it is missing, unreadable,
    /// not a PNG (wrong signature), truncated, rejected by libpng (CRC, zlib or format errors), or
    /// promises more pixels than its size allows.
    public static func read(contentsOf url: URL) throws -> Image2D {
        try decode(FileBytes.read(contentsOf: url), file: url.path, source: url)
    }

    /// Decodes PNG bytes held in memory; `file` names them in errors.
    public static func decode(_ data: Data, file: String = "<memory>", source: URL? = nil) throws -> Image2D {
        try data.withUnsafeBytes { (bytes: UnsafeRawBufferPointer) -> Image2D in
            try checkFraming(bytes, file: file)
            if let image = PNGFastDecoder.decode(bytes, source: source) { return image }
            return try decodePixels(bytes, file: file, source: source)
        }
    }

    // MARK: - Step 1: signature and chunk framing

    static func checkFraming(_ bytes: UnsafeRawBufferPointer, file: String) throws {
        func fail(_ problem: String) -> ImagingError { ImagingError(file: file, problem: problem) }
        guard !bytes.isEmpty else { throw fail("is empty (0 bytes), not a PNG file") }
        let head = Array(bytes.prefix(8))
        guard head == Array(signature.prefix(head.count)) else {
            let shown = head.map { String(format: "%02X", $0) }.joined(separator: " ")
            throw fail("is not a PNG file (wrong signature: starts with \(shown), a PNG starts with 89 50 4E 47 0D 0A 1A 0A)")
        }
        guard bytes.count >= 8 else { throw fail("is truncated: \(bytes.count) bytes, shorter than the PNG signature") }

        func be32(_ at: Int) -> Int { (0..<4).reduce(0) { $0 << 8 | Int(bytes[at + $1]) } }
        var offset = 8
        var chunks = 0
        while true {
            guard offset + 8 <= bytes.count else {
                throw fail("is truncated: the file ends at byte \(bytes.count), after \(chunks) chunks and before the IEND chunk")
            }
            let length = be32(offset)
            let typeBytes = (4..<8).map { bytes[offset + $0] }
            let isLetters = typeBytes.allSatisfy { (0x41...0x5A).contains($0) || (0x61...0x7A).contains($0) }
            let type = isLetters ? String(decoding: typeBytes, as: UTF8.self)
                                 : typeBytes.map { String(format: "%02X", $0) }.joined(separator: " ")
            guard isLetters, length <= 0x7FFF_FFFF else {
                throw fail("is corrupt: invalid chunk header at byte \(offset) (type \(type), length \(length))")
            }
            guard chunks > 0 || type == "IHDR" else { throw fail("is corrupt: the first chunk is \(type), not IHDR") }
            let end = offset + 12 + length
            guard end <= bytes.count else {
                throw fail("is truncated: chunk \(type) at byte \(offset) needs \(12 + length) bytes, "
                    + "but the file ends \(bytes.count - offset) bytes into it")
            }
            chunks += 1
            if type == "IEND" { return }
            offset = end
        }
    }

    // MARK: - Steps 2 to 4: one libpng pass

    /// The largest factor by which deflate can expand data (a 258-byte match coded in 2 bits), and the
    /// slack for the zlib and block headers of a tiny file.
    static let deflateExpansion = 1032, deflateSlack = 4096

    /// The inflated row data, `height × (1 + ⌈width × filePixelBits / 8⌉)` bytes, and the decoded
    /// samples, `height × decodedRowBytes` bytes; nil when either overflows or the samples exceed 2³¹ bytes.
    static func plannedSizes(width: Int, height: Int, filePixelBits: Int, decodedRowBytes: Int) -> (inflated: Int, decoded: Int)? {
        let (fileRowBits, rowOverflow) = width.multipliedReportingOverflow(by: filePixelBits)
        let (inflated, inflatedOverflow) = height.multipliedReportingOverflow(by: 1 + (fileRowBits + 7) / 8)
        let (decoded, decodedOverflow) = height.multipliedReportingOverflow(by: decodedRowBytes)
        guard !rowOverflow, !inflatedOverflow, !decodedOverflow, decoded <= 1 << 31 else { return nil }
        return (inflated, decoded)
    }

    /// Whether a file of `fileBytes` bytes can inflate to `inflatedBytes` bytes of row data.
    static func fitsFile(inflatedBytes: Int, fileBytes: Int) -> Bool {
        inflatedBytes <= deflateExpansion * fileBytes + deflateSlack
    }

    static func decodePixels(_ bytes: UnsafeRawBufferPointer, file: String, source url: URL?) throws -> Image2D {
        func libpngError(_ message: [CChar]) -> ImagingError {
            let text = String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            return ImagingError(file: file, problem: "is not a valid PNG (libpng: \(text.isEmpty ? "unknown error" : text))")
        }
        var message = [CChar](repeating: 0, count: Int(PNG_DECODE_MESSAGE_SIZE))
        var header = png_decode_header()
        guard let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self),
              let decoder = png_decode_open(base, bytes.count, &header, &message) else { throw libpngError(message) }
        defer { png_decode_close(decoder) }

        let width = Int(header.width), height = Int(header.height), channels = Int(header.channels)
        let depth = Int(header.bit_depth)
        guard let (inflated, decoded) = plannedSizes(width: width, height: height, filePixelBits: Int(header.file_pixel_bits),
                                                     decodedRowBytes: header.row_bytes) else {
            throw ImagingError(file: file, problem: "is too large to decode (\(width)×\(height))")
        }
        guard fitsFile(inflatedBytes: inflated, fileBytes: bytes.count) else {
            throw ImagingError(file: file, problem: "is corrupt: its header promises \(width)×\(height) pixels of "
                + "\(header.file_pixel_bits) bits (\(inflated) bytes of row data), "
                + "more than its \(bytes.count) bytes can hold")
        }

        let buffer = UnsafeMutableRawPointer.allocate(byteCount: max(decoded, 1), alignment: 16)
        defer { buffer.deallocate() }
        guard png_decode_read(decoder, buffer.assumingMemoryBound(to: UInt8.self), &message) != 0 else {
            throw libpngError(message)
        }
        let count = channels * width * height
        let pixels = [Float](unsafeUninitializedCapacity: count) { out, initialized in
            adviseHugePages(UnsafeMutableRawBufferPointer(out))
            if depth == 16 {
                planar(buffer.assumingMemoryBound(to: UInt16.self), channels: channels, pixels: width * height, into: out)
            } else {
                planar(buffer.assumingMemoryBound(to: UInt8.self), channels: channels, pixels: width * height, into: out)
            }
            initialized = count
        }
        return Image2D(width: width, height: height, channels: channels, pixels: pixels, bitDepth: depth, source: url)
    }

    /// Interleaved samples (`c0 c1 c2 c0 c1 c2 …` for 3 channels) → planes of `Float`
    /// (`c0 c0 … c1 c1 … c2 c2 …`); one channel is a plain conversion.
    @inline(__always)
    static func planar<Sample: FixedWidthInteger & UnsignedInteger>(
        _ samples: UnsafePointer<Sample>, channels: Int, pixels: Int, into out: UnsafeMutableBufferPointer<Float>
    ) {
        guard let destination = out.baseAddress else { return }
        if channels == 1 {
            for n in 0..<pixels { destination[n] = Float(samples[n]) }
            return
        }
        let green = destination + pixels, blue = destination + 2 * pixels
        for n in 0..<pixels {
            destination[n] = Float(samples[3 * n])
            green[n] = Float(samples[3 * n + 1])
            blue[n] = Float(samples[3 * n + 2])
        }
    }
}
