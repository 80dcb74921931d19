import CZlib
import Foundation

/// gzip (RFC 1952) streams over zlib: whole-buffer deflate, and an inflating reader that fills
/// caller-sized buffers so a decoder can inflate straight into memory sized from a file's header.
///
/// Reading follows Python's `gzip` module, which nibabel uses: members may be concatenated (their
/// contents join), zero bytes after a member are padding, and anything else after a member, a stream
/// that ends early, or a bad CRC/length trailer is an error naming the file.
public enum Gzip {
    /// The first two bytes of every gzip member.
    public static let magic: [UInt8] = [0x1F, 0x8B]

    /// The most a deflate stream can expand: 1032 output bytes per input byte (zlib's limit), so a
    /// compressed file of `n` bytes never holds more than `1032 · n` bytes.
    public static let maximumExpansion = 1032

    /// Whether `bytes` start with the gzip magic `1F 8B`.
    public static func isCompressed(_ bytes: UnsafeRawBufferPointer) -> Bool {
        bytes.count >= 2 && bytes[0] == magic[0] && bytes[1] == magic[1]
    }

    /// Runs `body` with a reader over the gzip stream `compressed` (which must stay valid meanwhile);
    /// `file` names the data in errors.
    static func withReader<Result>(over compressed: UnsafeRawBufferPointer, file: String,
                                          _ body: (GzipReader) throws -> Result) throws -> Result {
        let reader = try GzipReader(compressed, file: file)
        return try body(reader)
    }

    /// `bytes` as one gzip member (zlib `deflateInit2` with `16 + MAX_WBITS`), at compression `level`
    /// 1 (fastest) … 9 (smallest); `file` names the destination in errors.
    public static func deflate(_ bytes: UnsafeRawBufferPointer, level: Int32 = 6, file: String) throws -> Data {
        var stream = z_stream()
        let initStatus = deflateInit2_(&stream, level, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY,
                                       ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        guard initStatus == Z_OK else {
            throw ImagingError(file: file, problem: "cannot be compressed (zlib deflateInit2 failed with status \(initStatus))")
        }
        defer { deflateEnd(&stream) }
        var output = Data()
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self)
        var consumed = 0
        while true {
            let feed = min(bytes.count - consumed, Int(UInt32.max))
            stream.next_in = base.map { UnsafeMutablePointer(mutating: $0 + consumed) }
            stream.avail_in = UInt32(feed)
            let isLast = consumed + feed == bytes.count
            var status: Int32 = Z_OK
            repeat {
                let produced = chunk.withUnsafeMutableBytes { out -> Int in
                    stream.next_out = out.baseAddress!.assumingMemoryBound(to: UInt8.self)
                    stream.avail_out = UInt32(out.count)
                    status = CZlib.deflate(&stream, isLast ? Z_FINISH : Z_NO_FLUSH)
                    return out.count - Int(stream.avail_out)
                }
                guard status != Z_STREAM_ERROR else {
                    throw ImagingError(file: file, problem: "cannot be compressed (zlib deflate failed)")
                }
                output.append(contentsOf: chunk[0..<produced])
            } while stream.avail_out == 0 || (isLast && status != Z_STREAM_END)
            consumed += feed - Int(stream.avail_in)
            if isLast { return output }
        }
    }
}

/// Inflates a gzip stream held in memory into buffers the caller provides (see `Gzip`).
final class GzipReader {
    private let input: UnsafeRawBufferPointer
    private let file: String
    private let stream: UnsafeMutablePointer<z_stream>
    /// Input bytes already handed to zlib.
    private var fed = 0
    /// Whether the last member and any zero padding after it have been read.
    private var finished = false
    /// Decompressed bytes delivered so far.
    private(set) var produced = 0

    fileprivate init(_ compressed: UnsafeRawBufferPointer, file: String) throws {
        self.input = compressed
        self.file = file
        guard Gzip.isCompressed(compressed) else {
            throw ImagingError(file: file, problem: "is not a gzip stream (it does not start with 1F 8B)")
        }
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        let status = inflateInit2_(stream, 16 + MAX_WBITS, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        guard status == Z_OK else {
            stream.deallocate()
            throw ImagingError(file: file, problem: "cannot be decompressed (zlib inflateInit2 failed with status \(status))")
        }
    }

    deinit {
        inflateEnd(stream)
        stream.deallocate()
    }

    /// Fills `buffer` with the next decompressed bytes and returns how many were written: all of
    /// `buffer.count` unless the stream ended first. Throws for a corrupt or truncated stream, a bad
    /// trailer, or bytes after the last member that are neither zero padding nor another member.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        guard let out = buffer.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return 0 }
        var written = 0
        while written < buffer.count && !finished {
            if stream.pointee.avail_in == 0 {
                let feed = min(input.count - fed, Int(UInt32.max))
                stream.pointee.next_in = UnsafeMutablePointer(mutating: input.baseAddress!.assumingMemoryBound(to: UInt8.self) + fed)
                stream.pointee.avail_in = UInt32(feed)
                fed += feed
            }
            let room = min(buffer.count - written, Int(UInt32.max))
            stream.pointee.next_out = out + written
            stream.pointee.avail_out = UInt32(room)
            let status = CZlib.inflate(stream, Z_NO_FLUSH)
            let delivered = room - Int(stream.pointee.avail_out)
            written += delivered
            produced += delivered
            switch status {
            case Z_OK:
                continue
            case Z_STREAM_END:
                try startNextMember()
            case Z_BUF_ERROR where stream.pointee.avail_in == 0 && fed == input.count:
                throw ImagingError(file: file, problem: "is truncated: its gzip stream ends early, "
                    + "after \(input.count) compressed bytes that inflate to \(produced) bytes")
            case Z_BUF_ERROR:
                continue
            default:
                let message = stream.pointee.msg.map { String(cString: $0) } ?? "status \(status)"
                throw ImagingError(file: file, problem: "is not a valid gzip stream (zlib: \(message), "
                    + "after \(produced) decompressed bytes)")
            }
        }
        return written
    }

    /// Reads and discards up to `count` decompressed bytes; returns how many there were.
    func skip(_ count: Int) throws -> Int {
        var scratch = [UInt8](repeating: 0, count: min(max(count, 0), 1 << 16))
        var skipped = 0
        while skipped < count {
            let want = min(count - skipped, scratch.count)
            let got = try scratch.withUnsafeMutableBytes { try read(into: UnsafeMutableRawBufferPointer(rebasing: $0[0..<want])) }
            skipped += got
            if got < want { break }
        }
        return skipped
    }

    /// Reads and discards the rest of the stream, so its trailers and any later members are checked.
    func finish() throws {
        while try skip(1 << 16) == 1 << 16 {}
    }

    /// After a member's trailer: skips zero padding, then stops at the end of input or resets zlib for
    /// the next member; anything else is trailing garbage.
    private func startNextMember() throws {
        var position = fed - Int(stream.pointee.avail_in)
        while position < input.count && input[position] == 0 { position += 1 }
        if position == input.count {
            finished = true
            return
        }
        let rest = UnsafeRawBufferPointer(rebasing: input[position...])
        guard Gzip.isCompressed(rest) else {
            throw ImagingError(file: file, problem: "has \(rest.count) bytes of trailing data after its gzip stream "
                + "(at byte \(position), neither zero padding nor another gzip member)")
        }
        inflateReset(stream)
        stream.pointee.avail_in = 0
        fed = position
    }
}
