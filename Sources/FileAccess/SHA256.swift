import Foundation

/// SHA-256 (FIPS 180-4) of a byte array as 64 lowercase hex digits: the checksum of split files, the
/// identity of checkpoint files, and in tests the digest of decoded arrays compared with those reference
/// libraries (nibabel, pydicom) gave. `Incremental` hashes data that arrives in pieces (a multi-gigabyte
/// file read a block at a time); the one-shot functions are built on it. FileAccess is compiled
/// optimised, so hashing a multi-megabyte image takes milliseconds even in debug.
public enum SHA256 {
    static let k: [UInt32] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
        0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
        0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
        0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
    ]

    /// The digest of `values` as little-endian float32 bytes, the layout `np.float32` arrays hash with.
    public static func hex(float32LittleEndian values: [Float]) -> String {
        hex(values.map { $0.bitPattern.littleEndian }.withUnsafeBytes { Array($0) })
    }

    /// The digest as 64 lowercase hex digits.
    public static func hex(_ message: [UInt8]) -> String {
        var hasher = Incremental()
        message.withUnsafeBytes { hasher.update($0) }
        return hasher.finalize()
    }

    /// The digest of the file at `url`, read `blockSize` bytes at a time (memory stays bounded whatever
    /// the file's size); a missing, directory or unreadable file is a `FileError` naming it.
    public static func hex(contentsOf url: URL, blockSize: Int = 4 << 20) throws -> String {
        var hasher = Incremental()
        try hasher.update(contentsOf: url, blockSize: blockSize)
        return hasher.finalize()
    }

    /// A SHA-256 computation fed any number of byte runs: `update` each in order, then `finalize` once.
    /// The digest equals that of the runs concatenated.
    public struct Incremental: Sendable {
        var hash: [UInt32] = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]
        /// Bytes not yet compressed (fewer than 64).
        var pending: [UInt8] = []
        /// Bytes fed so far.
        var length: UInt64 = 0
        var schedule = [UInt32](repeating: 0, count: 64)

        /// A computation that has seen no bytes.
        public init() {}

        /// Feeds `bytes`.
        public mutating func update(_ bytes: UnsafeRawBufferPointer) {
            length &+= UInt64(bytes.count)
            var start = 0
            if !pending.isEmpty {
                let taken = min(64 - pending.count, bytes.count)
                pending += bytes[0..<taken]
                start = taken
                guard pending.count == 64 else { return }
                pending.withUnsafeBytes { compress($0) }
                pending.removeAll(keepingCapacity: true)
            }
            while bytes.count - start >= 64 {
                compress(UnsafeRawBufferPointer(rebasing: bytes[start..<start + 64]))
                start += 64
            }
            pending += bytes[start...]
        }

        /// Feeds the bytes of the file at `url`, read `blockSize` bytes at a time (memory stays bounded
        /// whatever the file's size); a missing, directory or unreadable file is a `FileError` naming it.
        public mutating func update(contentsOf url: URL, blockSize: Int = 4 << 20) throws {
            let file = url.path
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: file, isDirectory: &isDirectory) else {
                throw FileError(file: file, problem: "cannot be read: no such file")
            }
            guard !isDirectory.boolValue else { throw FileError(file: file, problem: "cannot be read: is a directory") }
            do {
                let handle = try FileHandle(forReadingFrom: url)
                defer { try? handle.close() }
                while let block = try handle.read(upToCount: max(blockSize, 64)), !block.isEmpty {
                    block.withUnsafeBytes { update($0) }
                }
            } catch {
                throw FileError(file: file, problem: "cannot be read (\(error.localizedDescription))")
            }
        }

        /// Feeds `bytes`.
        public mutating func update(_ bytes: [UInt8]) {
            bytes.withUnsafeBytes { update($0) }
        }

        /// The digest of everything fed, as 64 lowercase hex digits (padding per FIPS 180-4 §5.1.1).
        public mutating func finalize() -> String {
            let bitLength = length &* 8
            var tail: [UInt8] = [0x80] + [UInt8](repeating: 0, count: (119 - pending.count) % 64)
            tail += (0..<8).map { UInt8(truncatingIfNeeded: bitLength >> (56 - 8 * $0)) }
            tail.withUnsafeBytes { update($0) }
            return hash.map { String(format: "%08x", $0) }.joined()
        }

        /// One 64-byte block through the compression function (FIPS 180-4 §6.2.2).
        mutating func compress(_ block: UnsafeRawBufferPointer) {
            func rotate(_ x: UInt32, _ n: UInt32) -> UInt32 { x >> n | x << (32 - n) }
            for t in 0..<16 { schedule[t] = (0..<4).reduce(0) { $0 << 8 | UInt32(block[4 * t + $1]) } }
            for t in 16..<64 {
                let s0 = rotate(schedule[t - 15], 7) ^ rotate(schedule[t - 15], 18) ^ schedule[t - 15] >> 3
                let s1 = rotate(schedule[t - 2], 17) ^ rotate(schedule[t - 2], 19) ^ schedule[t - 2] >> 10
                schedule[t] = schedule[t - 16] &+ s0 &+ schedule[t - 7] &+ s1
            }
            var (a, b, c, d, e, f, g, h) = (hash[0], hash[1], hash[2], hash[3], hash[4], hash[5], hash[6], hash[7])
            for t in 0..<64 {
                let t1 = h &+ (rotate(e, 6) ^ rotate(e, 11) ^ rotate(e, 25)) &+ (e & f ^ ~e & g) &+ SHA256.k[t] &+ schedule[t]
                let t2 = (rotate(a, 2) ^ rotate(a, 13) ^ rotate(a, 22)) &+ (a & b ^ a & c ^ b & c)
                (h, g, f, e, d, c, b, a) = (g, f, e, d &+ t1, c, b, a, t1 &+ t2)
            }
            for (n, value) in [a, b, c, d, e, f, g, h].enumerated() { hash[n] = hash[n] &+ value }
        }
    }
}
