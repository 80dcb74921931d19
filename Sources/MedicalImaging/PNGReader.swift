import CPNG
import Foundation

/// Reads PNG files into `Image2D`s with libpng, keeping the raw stored sample values.
///
/// Output: grey (1 channel) for grey and grey+alpha files, RGB (3 channels) for RGB, RGBA and
/// palette files; alpha (an alpha channel or a tRNS chunk) is dropped, never composited. 8-bit files
/// give 0…255, 16-bit files 0…65535 exactly as stored (`bitDepth` 8 or 16); 1/2/4-bit grey is
/// expanded to 8 bits (v × 255 / (2^bits − 1)); palette indices become their PLTE colours.
/// Colour-space chunks (gAMA, cHRM, sRGB, iCCP) are ignored: no gamma correction or linearisation.
///
/// How: libpng reports errors by `longjmp`, which Swift cannot catch, so a file is read in three steps.
/// 1. A Swift walk over the chunk framing checks the signature and that every chunk up to IEND is
///    complete (clear "not a PNG" / "truncated" errors).
/// 2. libpng's simplified API (`png_image`, whose errors come back in `png_image.message` without
///    a `longjmp`) decodes the whole image once, as validation: CRCs, the zlib stream, the row data.
///    Its pixels are not used: it linearises/gamma-corrects when a file carries gAMA/sRGB chunks and
///    pre-multiplies 16-bit alpha, so it does not return raw values in general.
/// 3. The classic libpng API decodes the same bytes again with only `png_set_palette_to_rgb`,
///    `png_set_expand_gray_1_2_4_to_8` and `png_set_interlace_handling`, which give raw values. Its
///    error handler traps (`fatalError`); step 2 has already seen libpng accept these exact bytes.
public enum PNGReader {
    /// The eight bytes every PNG file starts with.
    public static let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

    /// Reads the PNG file at `url`; throws `ImagingError` naming the file when it is missing, unreadable,
    /// not a PNG (wrong signature), truncated, or rejected by libpng (CRC, zlib or format errors).
    public static func read(contentsOf url: URL) throws -> Image2D {
        try decode(FileBytes.read(contentsOf: url), file: url.path, source: url)
    }

    /// Decodes PNG bytes held in memory; `file` names them in errors.
    public static func decode(_ data: Data, file: String = "<memory>", source: URL? = nil) throws -> Image2D {
        try data.withUnsafeBytes { (bytes: UnsafeRawBufferPointer) -> Image2D in
            try checkFraming(bytes, file: file)
            try validateWithSimplifiedAPI(bytes, file: file)
            return try decodeRaw(bytes, file: file, source: source)
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

    // MARK: - Step 2: validation by the simplified API (no longjmp)

    static func validateWithSimplifiedAPI(_ bytes: UnsafeRawBufferPointer, file: String) throws {
        var image = png_image()
        image.version = UInt32(PNG_IMAGE_VERSION)
        defer { png_image_free(&image) }
        guard png_image_begin_read_from_memory(&image, bytes.baseAddress, bytes.count) != 0 else {
            throw ImagingError(file: file, problem: "is not a valid PNG (libpng: \(message(of: &image)))")
        }
        // Decode into the file's own layout (palette expanded); the pixels are discarded.
        image.format &= ~UInt32(PNG_FORMAT_FLAG_COLORMAP)
        let channels = (image.format & UInt32(PNG_FORMAT_FLAG_COLOR) != 0 ? 3 : 1)
            + (image.format & UInt32(PNG_FORMAT_FLAG_ALPHA) != 0 ? 1 : 0)
        let sampleBytes = image.format & UInt32(PNG_FORMAT_FLAG_LINEAR) != 0 ? 2 : 1
        let (size, overflow) = (Int(image.width) * Int(image.height)).multipliedReportingOverflow(by: channels * sampleBytes)
        guard !overflow, size < Int(Int32.max) else {
            throw ImagingError(file: file, problem: "is too large to decode (\(image.width)×\(image.height))")
        }
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: max(size, 1), alignment: 16)
        defer { buffer.deallocate() }
        guard png_image_finish_read(&image, nil, buffer, 0, nil) != 0 else {
            throw ImagingError(file: file, problem: "is not a valid PNG (libpng: \(message(of: &image)))")
        }
    }

    static func message(of image: inout png_image) -> String {
        withUnsafeBytes(of: &image.message) { raw in
            let text = raw.prefix { $0 != 0 }
            return text.isEmpty ? "unknown error" : String(decoding: text, as: UTF8.self)
        }
    }

    // MARK: - Step 3: raw decoding by the classic API

    /// Bytes handed to libpng's read callback.
    struct MemorySource {
        let base: UnsafePointer<UInt8>
        let count: Int
        var offset: Int
    }

    static func decodeRaw(_ bytes: UnsafeRawBufferPointer, file: String, source url: URL?) throws -> Image2D {
        let onError: png_error_ptr = { _, message in
            let text = message.map { String(cString: $0) } ?? "unknown error"
            fatalError("libpng: \(text), on data its simplified API had accepted")
        }
        let onWarning: png_error_ptr = { _, _ in }
        let onRead: png_rw_ptr = { png, destination, length in
            guard let io = png_get_io_ptr(png)?.assumingMemoryBound(to: MemorySource.self), let destination else { return }
            guard length <= io.pointee.count - io.pointee.offset else { png_error(png, "read beyond end of data") }
            destination.update(from: io.pointee.base + io.pointee.offset, count: length)
            io.pointee.offset += length
        }
        guard let png = png_create_read_struct(PNG_LIBPNG_VER_STRING, nil, onError, onWarning) else {
            throw ImagingError(file: file, problem: "cannot be decoded (libpng could not allocate its reader)")
        }
        var info = png_create_info_struct(png)
        defer {
            var owned: OpaquePointer? = png
            png_destroy_read_struct(&owned, &info, nil)
        }
        guard info != nil else { throw ImagingError(file: file, problem: "cannot be decoded (libpng could not allocate)") }

        var source = MemorySource(base: bytes.baseAddress!.assumingMemoryBound(to: UInt8.self), count: bytes.count, offset: 0)
        return withUnsafeMutablePointer(to: &source) { io -> Image2D in
            png_set_read_fn(png, io, onRead)
            png_read_info(png, info)
            let colorType = Int(png_get_color_type(png, info))
            let fileDepth = Int(png_get_bit_depth(png, info))
            if colorType == 3 { png_set_palette_to_rgb(png) }               // PNG_COLOR_TYPE_PALETTE
            if colorType == 0 && fileDepth < 8 { png_set_expand_gray_1_2_4_to_8(png) }
            _ = png_set_interlace_handling(png)
            png_read_update_info(png, info)

            let width = Int(png_get_image_width(png, info)), height = Int(png_get_image_height(png, info))
            let stored = Int(png_get_channels(png, info))                   // 1, 2 (grey+alpha), 3 or 4 (RGBA)
            let depth = Int(png_get_bit_depth(png, info))                   // 8 or 16 after the transforms
            let rowBytes = Int(png_get_rowbytes(png, info))
            precondition((1...4).contains(stored) && (depth == 8 || depth == 16) && rowBytes == width * stored * depth / 8,
                         "libpng gave \(stored) channels of \(depth) bits, \(rowBytes) bytes a row")
            let rows = UnsafeMutablePointer<UInt8>.allocate(capacity: max(rowBytes * height, 1))
            defer { rows.deallocate() }
            var rowPointers: [UnsafeMutablePointer<UInt8>?] = (0..<height).map { rows + $0 * rowBytes }
            rowPointers.withUnsafeMutableBufferPointer { png_read_image(png, $0.baseAddress) }

            let channels = stored >= 3 ? 3 : 1                              // drop alpha (2nd or 4th sample)
            let plane = width * height
            var pixels = [Float](repeating: 0, count: channels * plane)
            pixels.withUnsafeMutableBufferPointer { out in
                for y in 0..<height {
                    let row = rows + y * rowBytes
                    for x in 0..<width {
                        for c in 0..<channels {
                            let sample = x * stored + c
                            let value = depth == 16 ? Int(row[2 * sample]) << 8 | Int(row[2 * sample + 1]) : Int(row[sample])
                            out[c * plane + y * width + x] = Float(value)
                        }
                    }
                }
            }
            return Image2D(width: width, height: height, channels: channels, pixels: pixels, bitDepth: depth, source: url)
        }
    }
}
