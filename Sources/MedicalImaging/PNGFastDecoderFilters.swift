/// PNG's five row filters undone in place, and the unfiltered samples spread into planar `Float`s.
///
/// Each inflated row is a filter-type byte then `rowBytes` filtered bytes. With `x` the filtered byte,
/// `a` the unfiltered byte `pixelBytes` to the left (0 before the row starts), `b` the one above and
/// `c` the one above `a` (0 on the first row), the stored byte is `x + p mod 256` with `p` = 0 (None),
/// `a` (Sub), `b` (Up), `⌊(a + b) / 2⌋` (Average) or Paeth's `a`, `b` or `c`, whichever is nearest to
/// `a + b − c` (ties in that order).
enum PNGRowFilters {
    /// Unfilters every row of `rows` (`height × (1 + rowBytes)` bytes) and writes the samples to `out`
    /// (`[channels, height, width]`; 16-bit samples are big-endian in the file); false for a filter type above 4.
    static func decodeRows(_ rows: UnsafeMutableRawBufferPointer, header: PNGFastDecoder.Header,
                           into out: UnsafeMutableBufferPointer<Float>) -> Bool {
        guard let base = rows.baseAddress?.assumingMemoryBound(to: UInt8.self), let destination = out.baseAddress else {
            return false
        }
        let width = header.width, height = header.height, channels = header.channels
        let pixelBytes = header.pixelBytes, rowBytes = width * pixelBytes, stride = 1 + rowBytes
        let zeros = [UInt8](repeating: 0, count: rowBytes)
        return zeros.withUnsafeBufferPointer { zeroRow -> Bool in
            var above = UnsafePointer(zeroRow.baseAddress!)
            for y in 0..<height {
                let row = base + y * stride + 1, type = row[-1]
                let unfiltered: Bool
                switch pixelBytes {  // constant strides let the compiler specialise each loop
                case 1: unfiltered = unfilter(row, above: above, type: type, count: rowBytes, pixelBytes: 1)
                case 2: unfiltered = unfilter(row, above: above, type: type, count: rowBytes, pixelBytes: 2)
                case 3: unfiltered = unfilter(row, above: above, type: type, count: rowBytes, pixelBytes: 3)
                default: unfiltered = unfilter(row, above: above, type: type, count: rowBytes, pixelBytes: 6)
                }
                guard unfiltered else { return false }
                let planes = destination + y * width, planeStride = width * height
                switch (channels, header.depth) {
                case (1, 8): spread(row, bigEndian: false, channels: 1, width: width, into: planes, planeStride: planeStride)
                case (1, _): spread(row, bigEndian: true, channels: 1, width: width, into: planes, planeStride: planeStride)
                case (_, 8): spread(row, bigEndian: false, channels: 3, width: width, into: planes, planeStride: planeStride)
                default: spread(row, bigEndian: true, channels: 3, width: width, into: planes, planeStride: planeStride)
                }
                above = UnsafePointer(row)
            }
            return true
        }
    }

    /// One unfiltered row of interleaved samples (8-bit, or 16-bit big-endian) → `channels` planes
    /// `planeStride` floats apart.
    @inline(__always)
    static func spread(_ row: UnsafePointer<UInt8>, bigEndian: Bool, channels: Int, width: Int,
                       into planes: UnsafeMutablePointer<Float>, planeStride: Int) {
        for channel in 0..<channels {
            let plane = planes + channel * planeStride
            if bigEndian {
                for x in 0..<width {
                    let at = 2 * (x * channels + channel)
                    plane[x] = Float(UInt16(row[at]) << 8 | UInt16(row[at + 1]))
                }
            } else {
                for x in 0..<width { plane[x] = Float(row[x * channels + channel]) }
            }
        }
    }

    /// Undoes filter `type` on one row of `count` bytes in place; `above` is the unfiltered row above.
    /// Sub and Average run a pixel at a time on all its bytes at once (`BytesInWord`), carrying the
    /// left pixel in a register so that the chain from pixel to pixel does not go through memory.
    @inline(__always)
    static func unfilter(_ row: UnsafeMutablePointer<UInt8>, above: UnsafePointer<UInt8>, type: UInt8,
                         count: Int, pixelBytes: Int) -> Bool {
        switch type {
        case 0:
            break
        case 1:
            var left = BytesInWord()
            for pixel in stride(from: 0, to: count, by: pixelBytes) {
                left = BytesInWord(row + pixel, count: pixelBytes).adding(left)
                left.store(row + pixel, count: pixelBytes)
            }
        case 2:
            for i in 0..<count { row[i] &+= above[i] }
        case 3:
            var left = BytesInWord()
            for pixel in stride(from: 0, to: count, by: pixelBytes) {
                let up = BytesInWord(above + pixel, count: pixelBytes)
                left = BytesInWord(row + pixel, count: pixelBytes).adding(left.flooredAverage(up))
                left.store(row + pixel, count: pixelBytes)
            }
        case 4:
            let lead = min(pixelBytes, count)
            for i in 0..<lead { row[i] &+= above[i] }  // a = c = 0: Paeth picks b
            for i in lead..<max(lead, count) {
                let a = Int(row[i - pixelBytes]), b = Int(above[i]), c = Int(above[i - pixelBytes])
                let towardsB = b - c, towardsA = a - c
                let distanceA = abs(towardsB), distanceB = abs(towardsA), distanceC = abs(towardsB + towardsA)
                let predictor = distanceA <= distanceB && distanceA <= distanceC ? a : (distanceB <= distanceC ? b : c)
                row[i] &+= UInt8(truncatingIfNeeded: predictor)
            }
        default:
            return false
        }
        return true
    }
}

/// Up to 8 bytes held in one `UInt64` and combined byte by byte, without carries between bytes
/// (SIMD within a register); byte order does not matter since every operation is per byte.
struct BytesInWord {
    var word: UInt64 = 0

    static let lowSevenBits: UInt64 = 0x7F7F_7F7F_7F7F_7F7F, highBit: UInt64 = 0x8080_8080_8080_8080

    init() {}

    init(word: UInt64) { self.word = word }

    /// The `count` (≤ 8) bytes at `bytes`.
    @inline(__always)
    init(_ bytes: UnsafePointer<UInt8>, count: Int) {
        withUnsafeMutableBytes(of: &word) { $0.baseAddress!.copyMemory(from: bytes, byteCount: count) }
    }

    @inline(__always)
    func store(_ bytes: UnsafeMutablePointer<UInt8>, count: Int) {
        withUnsafeBytes(of: word) { UnsafeMutableRawPointer(bytes).copyMemory(from: $0.baseAddress!, byteCount: count) }
    }

    /// Each byte `x + y mod 256`.
    @inline(__always)
    func adding(_ other: BytesInWord) -> BytesInWord {
        let low = (word & Self.lowSevenBits) &+ (other.word & Self.lowSevenBits)
        return BytesInWord(word: low ^ ((word ^ other.word) & Self.highBit))
    }

    /// Each byte `⌊(x + y) / 2⌋`.
    @inline(__always)
    func flooredAverage(_ other: BytesInWord) -> BytesInWord {
        BytesInWord(word: (word & other.word) &+ (((word ^ other.word) >> 1) & Self.lowSevenBits))
    }
}
