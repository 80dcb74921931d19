import CDeflate
import Foundation

/// `PNGReader`'s fast path for the common PNGs: non-interlaced grey (colour type 0) or RGB (colour type
/// 2) at 8 or 16 bits, the radiograph cases. It gives the same `Image2D` as the libpng path (raw
/// stored values, planar `[channels, height, width]`, `bitDepth` 8 or 16) in three steps:
/// 1. a walk over the chunks: IHDR first, the IDAT chunks consecutive, IEND last, ancillary chunks
///    skipped, every chunk's CRC-32 checked (libdeflate);
/// 2. one libdeflate zlib decompression of the concatenated IDAT data into a buffer of exactly
///    `height × (1 + rowBytes)` bytes, `rowBytes = width × channels × depth / 8`, which must use every
///    IDAT byte and fill the buffer;
/// 3. the row filters undone (`PNGRowFilters`) and the samples converted to planar `Float`s.
///
/// It returns nil, and the libpng path then decodes the file (or gives its error), for anything else:
/// another colour type, bit depth or interlacing; a bad CRC, chunk order or zlib stream; a size the
/// libpng path would refuse; an unknown filter type; a critical chunk other than IHDR, IDAT and IEND;
/// a chunk longer than libpng's default limit; or a zlib window smaller than the image data (zlib
/// enforces the declared window, libdeflate does not). So it accepts only files libpng accepts.
enum PNGFastDecoder {
    /// The IHDR fields the fast path handles.
    struct Header {
        let width: Int, height: Int, channels: Int, depth: Int

        /// Bytes per pixel (`channels × depth / 8`), the distance the Sub, Average and Paeth filters look back.
        var pixelBytes: Int { channels * depth / 8 }
    }

    /// libpng's defaults: the largest width or height (`png_set_user_limits`) and the largest chunk it reads.
    static let largestSide = 1_000_000, largestChunk = 8_000_000

    static func decode(_ bytes: UnsafeRawBufferPointer, source: URL?) -> Image2D? {
        guard let (header, compressed) = readChunks(bytes) else { return nil }
        defer { compressed.release() }
        let rowBytes = header.width * header.pixelBytes
        guard let sizes = PNGReader.plannedSizes(width: header.width, height: header.height,
                                                 filePixelBits: header.channels * header.depth, decodedRowBytes: rowBytes),
              PNGReader.fitsFile(inflatedBytes: sizes.inflated, fileBytes: bytes.count),
              windowCovers(compressed.bytes, inflatedBytes: sizes.inflated)
        else { return nil }

        let rows = UnsafeMutableRawBufferPointer.allocate(byteCount: sizes.inflated, alignment: 16)
        defer { rows.deallocate() }
        guard inflate(compressed.bytes, into: rows) else { return nil }
        let count = header.channels * header.width * header.height
        var unfiltered = true
        let pixels = [Float](unsafeUninitializedCapacity: count) { out, initialized in
            adviseHugePages(UnsafeMutableRawBufferPointer(out))
            unfiltered = PNGRowFilters.decodeRows(rows, header: header, into: out)
            initialized = count
        }
        guard unfiltered else { return nil }
        return Image2D(width: header.width, height: header.height, channels: header.channels, pixels: pixels,
                       bitDepth: header.depth, source: source)
    }

    // MARK: - Step 1: chunks

    /// The IDAT data: the one IDAT chunk's bytes in place, or the chunks' bytes copied together.
    struct CompressedData {
        let bytes: UnsafeRawBufferPointer
        let owned: UnsafeMutableRawBufferPointer?

        func release() { owned?.deallocate() }
    }

    static let chunkIHDR: UInt32 = 0x4948_4452, chunkIDAT: UInt32 = 0x4944_4154, chunkIEND: UInt32 = 0x4945_4E44

    static func readChunks(_ bytes: UnsafeRawBufferPointer) -> (Header, CompressedData)? {
        guard let base = bytes.baseAddress, bytes.count >= 8, bytes.prefix(8).elementsEqual(PNGReader.signature) else {
            return nil
        }
        func be32(_ at: Int) -> UInt32 { UInt32(bigEndian: bytes.loadUnaligned(fromByteOffset: at, as: UInt32.self)) }
        var header: Header?
        var idat: [Range<Int>] = []
        var idatEnded = false
        var offset = 8
        while true {
            guard offset + 12 <= bytes.count else { return nil }
            let length = Int(be32(offset)), type = be32(offset + 4)
            guard length <= largestChunk, offset + 12 + length <= bytes.count else { return nil }
            let crc = libdeflate_crc32(0, base + offset + 4, 4 + length)
            guard crc == be32(offset + 8 + length) else { return nil }
            let data = offset + 8 ..< offset + 8 + length
            switch type {
            case chunkIHDR:
                guard header == nil, offset == 8, let parsed = parseHeader(bytes, data) else { return nil }
                header = parsed
            case chunkIDAT:
                guard header != nil, !idatEnded else { return nil }
                idat.append(data)
            case chunkIEND:
                guard let header, length == 0, !idat.isEmpty else { return nil }
                return (header, gather(bytes, idat))
            default:
                let isAncillary = type & 0x2000_0000 != 0  // lower-case first letter
                guard header != nil, isAncillary else { return nil }
                idatEnded = !idat.isEmpty
            }
            offset = data.upperBound + 4
        }
    }

    /// IHDR: width, height (4 bytes each), bit depth, colour type, compression, filter and interlace methods.
    static func parseHeader(_ bytes: UnsafeRawBufferPointer, _ data: Range<Int>) -> Header? {
        guard data.count == 13 else { return nil }
        let field = data.lowerBound
        func be32(_ at: Int) -> Int { Int(UInt32(bigEndian: bytes.loadUnaligned(fromByteOffset: at, as: UInt32.self))) }
        let width = be32(field), height = be32(field + 4)
        let depth = Int(bytes[field + 8]), colourType = bytes[field + 9]
        guard (1...largestSide).contains(width), (1...largestSide).contains(height), depth == 8 || depth == 16,
              colourType == 0 || colourType == 2, bytes[field + 10] == 0, bytes[field + 11] == 0, bytes[field + 12] == 0
        else { return nil }
        return Header(width: width, height: height, channels: colourType == 2 ? 3 : 1, depth: depth)
    }

    static func gather(_ bytes: UnsafeRawBufferPointer, _ ranges: [Range<Int>]) -> CompressedData {
        if ranges.count == 1 { return CompressedData(bytes: UnsafeRawBufferPointer(rebasing: bytes[ranges[0]]), owned: nil) }
        let total = ranges.reduce(0) { $0 + $1.count }
        let joined = UnsafeMutableRawBufferPointer.allocate(byteCount: max(total, 1), alignment: 16)
        var at = 0
        for range in ranges {
            UnsafeMutableRawBufferPointer(rebasing: joined[at..<at + range.count]).copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[range]))
            at += range.count
        }
        return CompressedData(bytes: UnsafeRawBufferPointer(rebasing: joined[0..<total]), owned: joined)
    }

    // MARK: - Step 2: inflate

    /// Whether the zlib header's window (`2^(8 + CINFO)` bytes) reaches back over all the data: always
    /// for the usual 32 KiB window, else only when the image data is no longer than the window.
    static func windowCovers(_ stream: UnsafeRawBufferPointer, inflatedBytes: Int) -> Bool {
        guard let first = stream.first else { return false }
        let windowBits = 8 + Int(first >> 4)
        return windowBits == 15 || (windowBits < 15 && inflatedBytes <= 1 << windowBits)
    }

    /// One zlib decompression that must use every input byte and fill `output` exactly.
    static func inflate(_ stream: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) -> Bool {
        guard let decompressor = libdeflate_alloc_decompressor() else { return false }
        defer { libdeflate_free_decompressor(decompressor) }
        var consumed = 0
        let result = libdeflate_zlib_decompress_ex(decompressor, stream.baseAddress, stream.count,
                                                   output.baseAddress, output.count, &consumed, nil)
        return result == LIBDEFLATE_SUCCESS && consumed == stream.count
    }
}
