/// Read-only index of a zip archive held in memory, enough for `torch.save` files.
///
/// PyTorch writes every entry STORED (uncompressed), with local headers whose sizes and CRC are zero
/// (general-purpose flag bit 3, a data descriptor follows the data) and with 64-byte aligned data
/// (padding in the local header's extra field). torch 1.13 always writes a ZIP64 end-of-central-
/// directory record and locator, even for small files. So this reader takes names, sizes and offsets
/// from the central directory (ZIP64 fields included), uses a local header only to find where the
/// data starts, and refuses compressed or encrypted entries.
///
/// CRC-32 values are not checked: torch.load does not check them either, and `torch.save` can be
/// told not to compute them (`torch.serialization.set_crc32_options(False)` in torch >= 2.5).
///
/// The archive borrows `bytes`: use it only while the buffer it was made from is alive.
struct ZipArchive {
    struct Entry {
        /// Name as stored, e.g. `archive/data/0`.
        let name: String
        /// Compression method: 0 = stored, 8 = deflate, ...
        let method: UInt16
        /// General-purpose bit flags (bit 0: encrypted).
        let flags: UInt16
        let compressedSize: Int
        let uncompressedSize: Int
        let localHeaderOffset: Int
    }

    /// File name for error messages.
    let file: String
    let bytes: UnsafeRawBufferPointer
    /// Entries in central-directory order.
    let entries: [Entry]
    private let index: [String: Int]

    /// Whether `bytes` starts like a zip archive (a local file header or an empty archive's end record).
    static func looksLikeZip(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard bytes.count >= 4 else { return false }
        return bytes[0] == 0x50 && bytes[1] == 0x4B
            && ((bytes[2] == 0x03 && bytes[3] == 0x04) || (bytes[2] == 0x05 && bytes[3] == 0x06))
    }

    init(file: String, bytes: UnsafeRawBufferPointer) throws {
        self.file = file
        self.bytes = bytes
        var reader = CheckpointByteReader(file: file, bytes: bytes, what: "zip archive")

        // End of central directory: 22 bytes plus a comment of up to 65535 bytes, at the very end.
        let eocdSignature: UInt32 = 0x0605_4B50
        var eocd: Int?
        if bytes.count >= 22 {
            var position = bytes.count - 22
            let lowest = max(0, bytes.count - 22 - 65535)
            while position >= lowest {
                if reader.peekUInt32(at: position) == eocdSignature {
                    let commentLength = Int(reader.peekUInt16(at: position + 20))
                    if position + 22 + commentLength <= bytes.count { eocd = position; break }
                }
                position -= 1
            }
        }
        guard let eocd else {
            throw CheckpointError(file: file, "zip archive has no end-of-central-directory record "
                + "(the file is truncated or damaged; \(bytes.count) bytes)")
        }
        try reader.seek(eocd + 4)
        let diskNumber = Int(try reader.uint16())
        let centralDisk = Int(try reader.uint16())
        _ = try reader.uint16()
        var entryCount = Int(try reader.uint16())
        var centralSize = Int(try reader.uint32())
        var centralOffset = Int(try reader.uint32())
        var centralEnd = eocd  // the central directory must end before this

        // ZIP64 locator immediately before the end record, pointing at the ZIP64 end record.
        if eocd >= 20, reader.peekUInt32(at: eocd - 20) == 0x0706_4B50 {
            try reader.seek(eocd - 20 + 8)
            let zip64Offset = try reader.int64(what: "ZIP64 end-of-central-directory offset")
            guard zip64Offset >= 0, zip64Offset <= eocd - 20 - 56,
                  reader.peekUInt32(at: zip64Offset) == 0x0606_4B50 else {
                throw CheckpointError(file: file, "zip archive's ZIP64 locator points at byte \(zip64Offset), "
                    + "where there is no ZIP64 end-of-central-directory record (the file is damaged)")
            }
            try reader.seek(zip64Offset + 16)
            let disk64 = Int(try reader.uint32())
            let centralDisk64 = Int(try reader.uint32())
            _ = try reader.int64(what: "ZIP64 entry count on this disk")
            entryCount = try reader.int64(what: "ZIP64 entry count")
            centralSize = try reader.int64(what: "ZIP64 central directory size")
            centralOffset = try reader.int64(what: "ZIP64 central directory offset")
            centralEnd = zip64Offset
            guard disk64 == 0, centralDisk64 == 0 else {
                throw CheckpointError(file: file, "zip archive spans several disks, which PyTorch never writes")
            }
        } else if diskNumber != 0 || centralDisk != 0 {
            throw CheckpointError(file: file, "zip archive spans several disks, which PyTorch never writes")
        }

        guard centralOffset >= 0, centralSize >= 0, centralOffset <= centralEnd,
              centralSize <= centralEnd - centralOffset else {
            throw CheckpointError(file: file, "zip central directory (\(centralSize) bytes at byte \(centralOffset)) "
                + "lies outside the archive's \(centralEnd) bytes before its end record (the file is damaged)")
        }
        // Every central header takes at least 46 bytes: a bogus count cannot make us loop for long.
        guard entryCount >= 0, entryCount <= centralSize / 46 else {
            throw CheckpointError(file: file, "zip archive claims \(entryCount) entries in a central directory "
                + "of \(centralSize) bytes (the file is damaged)")
        }

        var central = CheckpointByteReader(file: file, bytes: UnsafeRawBufferPointer(rebasing:
            bytes[centralOffset..<(centralOffset + centralSize)]), what: "zip central directory")
        var entries: [Entry] = []
        entries.reserveCapacity(entryCount)
        var index: [String: Int] = [:]
        for number in 0..<entryCount {
            let start = central.position
            guard try central.uint32() == 0x0201_4B50 else {
                throw CheckpointError(file: file, "zip central directory entry \(number) (byte \(centralOffset + start)) "
                    + "has a bad signature (the file is damaged)")
            }
            try central.skip(4)  // version made by, version needed
            let flags = try central.uint16()
            let method = try central.uint16()
            try central.skip(8)  // time, date, crc
            var compressed = Int(try central.uint32())
            var uncompressed = Int(try central.uint32())
            let nameLength = Int(try central.uint16())
            let extraLength = Int(try central.uint16())
            let commentLength = Int(try central.uint16())
            let diskStart = try central.uint16()
            try central.skip(6)  // attributes
            var localOffset = Int(try central.uint32())
            let nameBytes = try central.bytes(nameLength)
            let name = String(decoding: nameBytes, as: UTF8.self)
            let extra = try central.bytes(extraLength)
            try central.skip(commentLength)

            // ZIP64 extended information: only the fields whose classic value is the placeholder, in order.
            var extraReader = CheckpointByteReader(file: file, bytes: extra, what: "zip extra field of \(name)")
            while extraReader.remaining >= 4 {
                let id = try extraReader.uint16()
                let size = Int(try extraReader.uint16())
                let body = try extraReader.bytes(size)
                guard id == 0x0001 else { continue }
                var zip64 = CheckpointByteReader(file: file, bytes: body, what: "ZIP64 extra field of \(name)")
                if uncompressed == 0xFFFF_FFFF { uncompressed = try zip64.int64(what: "ZIP64 size of \(name)") }
                if compressed == 0xFFFF_FFFF { compressed = try zip64.int64(what: "ZIP64 compressed size of \(name)") }
                if localOffset == 0xFFFF_FFFF { localOffset = try zip64.int64(what: "ZIP64 offset of \(name)") }
            }
            guard diskStart == 0 || diskStart == 0xFFFF else {
                throw CheckpointError(file: file, "zip entry \(name) lives on another disk, which PyTorch never writes")
            }
            index[name] = entries.count
            entries.append(Entry(name: name, method: method, flags: flags, compressedSize: compressed,
                                 uncompressedSize: uncompressed, localHeaderOffset: localOffset))
        }
        self.entries = entries
        self.index = index
    }

    /// The entry called `name`, if any.
    func entry(named name: String) -> Entry? { index[name].map { entries[$0] } }

    /// The bytes of a STORED entry, bounds-checked; compressed or encrypted entries are refused.
    func contents(of entry: Entry) throws -> UnsafeRawBufferPointer {
        if entry.flags & 1 != 0 {
            throw CheckpointError(file: file, "zip entry \(entry.name) is encrypted; PyTorch never writes encrypted entries")
        }
        guard entry.method == 0 else {
            let method = entry.method == 8 ? "deflate" : "method \(entry.method)"
            throw CheckpointError(file: file, "zip entry \(entry.name) is compressed (\(method)); PyTorch checkpoints "
                + "store entries uncompressed and RadProbe reads only those (re-save it with torch.save, "
                + "or re-zip it with `zip -0`)")
        }
        guard entry.compressedSize == entry.uncompressedSize else {
            throw CheckpointError(file: file, "zip entry \(entry.name) is stored but its sizes disagree "
                + "(\(entry.compressedSize) vs \(entry.uncompressedSize) bytes; the file is damaged)")
        }
        var reader = CheckpointByteReader(file: file, bytes: bytes, what: "zip local header of \(entry.name)")
        guard entry.localHeaderOffset >= 0, entry.localHeaderOffset <= bytes.count - 30 else {
            throw CheckpointError(file: file, "zip entry \(entry.name) starts at byte \(entry.localHeaderOffset), "
                + "beyond the file's \(bytes.count) bytes (the file is truncated or damaged)")
        }
        try reader.seek(entry.localHeaderOffset)
        guard try reader.uint32() == 0x0403_4B50 else {
            throw CheckpointError(file: file, "zip entry \(entry.name) has no local header at byte "
                + "\(entry.localHeaderOffset) (the file is damaged)")
        }
        try reader.seek(entry.localHeaderOffset + 26)
        let nameLength = Int(try reader.uint16())
        let extraLength = Int(try reader.uint16())
        let start = entry.localHeaderOffset + 30 + nameLength + extraLength
        let size = entry.compressedSize
        guard size >= 0, start <= bytes.count, size <= bytes.count - start else {
            throw CheckpointError(file: file, "zip entry \(entry.name) needs bytes \(start)..<\(start + max(size, 0)), "
                + "but the file has only \(bytes.count) bytes (it is truncated)")
        }
        return UnsafeRawBufferPointer(rebasing: bytes[start..<(start + size)])
    }
}

/// Bounds-checked little-endian reads from a byte buffer; every failure names the file.
struct CheckpointByteReader {
    let file: String
    let bytes: UnsafeRawBufferPointer
    /// What is being read, for error messages ("zip central directory", "legacy storage data").
    let what: String
    private(set) var position = 0

    init(file: String, bytes: UnsafeRawBufferPointer, what: String, position: Int = 0) {
        self.file = file
        self.bytes = bytes
        self.what = what
        self.position = position
    }

    var remaining: Int { bytes.count - position }

    private func need(_ count: Int) throws {
        guard count >= 0, count <= remaining else {
            throw CheckpointError(file: file, "\(what) is cut short: needs \(count) bytes at byte \(position), "
                + "only \(max(remaining, 0)) left (the file is truncated or damaged)")
        }
    }

    mutating func seek(_ offset: Int) throws {
        guard offset >= 0, offset <= bytes.count else {
            throw CheckpointError(file: file, "\(what) refers to byte \(offset), beyond its \(bytes.count) bytes "
                + "(the file is truncated or damaged)")
        }
        position = offset
    }

    mutating func skip(_ count: Int) throws {
        try need(count)
        position += count
    }

    mutating func uint16() throws -> UInt16 {
        try need(2)
        defer { position += 2 }
        return UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: position, as: UInt16.self))
    }

    mutating func uint32() throws -> UInt32 {
        try need(4)
        defer { position += 4 }
        return UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: position, as: UInt32.self))
    }

    /// A little-endian 64-bit value that must fit a non-negative `Int` (sizes, offsets, counts).
    mutating func int64(what field: String) throws -> Int {
        try need(8)
        let raw = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: position, as: UInt64.self))
        guard raw <= UInt64(Int.max) else {
            throw CheckpointError(file: file, "\(field) is \(raw), which is not a usable size (the file is damaged)")
        }
        position += 8
        return Int(raw)
    }

    mutating func bytes(_ count: Int) throws -> UnsafeRawBufferPointer {
        try need(count)
        defer { position += count }
        return UnsafeRawBufferPointer(rebasing: bytes[position..<(position + count)])
    }

    /// Four bytes at `offset` without moving, or nil when out of range.
    func peekUInt32(at offset: Int) -> UInt32? {
        guard offset >= 0, offset <= bytes.count - 4 else { return nil }
        return UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }

    /// Two bytes at `offset` without moving (0 when out of range).
    func peekUInt16(at offset: Int) -> UInt16 {
        guard offset >= 0, offset <= bytes.count - 2 else { return 0 }
        return UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt16.self))
    }
}
