/// Rewrites the CRC-32 of every complete chunk of a PNG-like buffer, so that mutated chunk contents
/// reach the parsing behind libpng's CRC check instead of all failing it.
///
/// Layout walked: the 8-byte signature, then chunks of length (4 bytes, big-endian), type (4),
/// data (length bytes), CRC (4) over type and data: CRC-32 with polynomial 0xEDB88320 (reflected),
/// initial value and final XOR 0xFFFFFFFF. The walk stops at the first chunk that does not fit.
enum PNGChecksums {
    static func repair(_ bytes: UnsafeMutablePointer<UInt8>, count: Int) {
        var offset = 8
        while offset + 12 <= count {
            let length = (0..<4).reduce(0) { $0 << 8 | Int(bytes[offset + $1]) }
            guard length <= count - offset - 12 else { return }
            let crc = crc32(UnsafeBufferPointer(start: bytes + offset + 4, count: 4 + length))
            for i in 0..<4 { bytes[offset + 8 + length + i] = UInt8(truncatingIfNeeded: crc >> (24 - 8 * i)) }
            offset += 12 + length
        }
    }

    static let table: [UInt32] = (0..<256).map { n in
        (0..<8).reduce(UInt32(n)) { c, _ in c & 1 == 1 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
    }

    static func crc32(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt32 {
        ~bytes.reduce(UInt32.max) { c, byte in table[Int((c ^ UInt32(byte)) & 0xFF)] ^ (c >> 8) }
    }
}
