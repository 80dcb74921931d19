import CZlib
import Foundation

/// Parses the bytes of a DICOM file into its file meta group and data set.
///
/// Layout read (PS3.10 §7.1, PS3.5 §7): an optional 128-byte preamble and the marker `DICM`; the file
/// meta group (group 0002, always Explicit VR Little Endian) naming the transfer syntax; then the data
/// set in that syntax: Implicit VR Little Endian, Explicit VR Little or Big Endian, or Deflated Explicit
/// VR Little Endian (a raw deflate stream). A file without a preamble may start straight with the meta
/// group, or with the data set itself (no meta group): its encoding is then guessed from its first
/// element, which must belong to group 0002, 0004 or 0008, as it does in every real data set. When
/// the meta group names no transfer syntax the same guess is made for the data set.
///
/// Element header: tag (2 × 16 bits); in explicit VR the two VR letters and a 16-bit length, or for
/// OB OD OF OL OV OW SQ SV UC UN UR UT UV two reserved bytes and a 32-bit length; in implicit VR a 32-bit
/// length, the VR coming from `DICOMTag.implicitVR` (else `UN`). Length 0xFFFFFFFF (undefined) is
/// allowed for sequences (items up to a Sequence Delimitation Item), `UN` values holding a sequence
/// (whose content is Implicit VR Little Endian, PS3.5 §6.2.2) and encapsulated Pixel Data (items:
/// the Basic Offset Table, then fragments). Items have defined lengths or end at an Item Delimitation
/// Item. Every length is checked against the bytes left; odd lengths are accepted as they are.
enum DICOMParser {
    /// The result: the meta group (empty without one), the data set and the syntax it was read in.
    struct Parsed {
        let meta: DICOMDataSet
        let dataSet: DICOMDataSet
        let transferSyntax: DICOMTransferSyntax
    }

    /// How elements are encoded.
    struct Encoding {
        let explicitVR: Bool
        let bigEndian: Bool
        static let implicitLittle = Encoding(explicitVR: false, bigEndian: false)
        static let explicitLittle = Encoding(explicitVR: true, bigEndian: false)
    }

    /// VRs whose explicit header has two reserved bytes and a 32-bit length.
    static let longVRs: Set<String> = ["OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV"]
    /// Every VR of PS3.5 §6.2.
    static let knownVRs: Set<String> = longVRs.union(["AE", "AS", "AT", "CS", "DA", "DS", "DT", "FL", "FD", "IS", "LO",
                                                      "LT", "PN", "SH", "SL", "SS", "ST", "TM", "UI", "UL", "US"])
    /// Groups a data set without a meta group may start with.
    static let leadingGroups: Set<UInt16> = [0x0002, 0x0004, 0x0008]
    /// Sequences nested deeper than this are refused (no real file comes close).
    static let maximumDepth = 32
    /// Inflated data sets larger than this are refused.
    static let maximumInflatedBytes = 1 << 30

    static func parse(_ bytes: [UInt8], file: String) throws -> Parsed {
        guard !bytes.isEmpty else { throw ImagingError(file: file, problem: "is empty (0 bytes), not a DICOM file") }
        let parser = ElementParser(bytes: bytes, file: file)
        let hasPreamble = bytes.count >= 132 && bytes[128..<132].elementsEqual("DICM".utf8)
        let start = hasPreamble ? 132 : 0
        guard hasPreamble || guessEncoding(bytes, at: 0) != nil else {
            throw ImagingError(file: file, problem: "is not a DICOM file (no \"DICM\" marker at byte 128, and it does "
                + "not start with a data element of group 0002, 0004 or 0008)")
        }
        let (meta, dataStart) = try parser.parseDataSet(from: start, to: bytes.count, encoding: .explicitLittle,
                                                        onlyGroup: 0x0002)
        let syntax: DICOMTransferSyntax
        if let uid = meta.string(.transferSyntaxUID) {
            syntax = .named(uid)
        } else if dataStart == bytes.count {
            syntax = .explicitVRLittleEndian
        } else if let guess = guessEncoding(bytes, at: dataStart) {
            syntax = guess.explicitVR ? (guess.bigEndian ? .explicitVRBigEndian : .explicitVRLittleEndian)
                                      : .implicitVRLittleEndian
        } else {
            throw ImagingError(file: file, problem: "is not a DICOM file (its data set at byte \(dataStart) does not "
                + "start with a data element, and no transfer syntax is given)")
        }
        let encoding = Encoding(explicitVR: syntax.isExplicitVR, bigEndian: syntax.isBigEndian)
        if syntax.isDeflated {
            let inflated = try inflate(Array(bytes[dataStart...]), file: file)
            let inner = ElementParser(bytes: inflated, file: file)
            let dataSet = try inner.parseDataSet(from: 0, to: inflated.count, encoding: encoding).dataSet
            return Parsed(meta: meta, dataSet: dataSet, transferSyntax: syntax)
        }
        let dataSet = try parser.parseDataSet(from: dataStart, to: bytes.count, encoding: encoding).dataSet
        return Parsed(meta: meta, dataSet: dataSet, transferSyntax: syntax)
    }

    /// Whether `bytes` look like a DICOM file: the `DICM` marker after a preamble, or a first element
    /// that a data set or meta group can start with.
    static func looksLikeDICOM(_ bytes: [UInt8]) -> Bool {
        (bytes.count >= 132 && bytes[128..<132].elementsEqual("DICM".utf8)) || guessEncoding(bytes, at: 0) != nil
    }

    /// The encoding of the element at `offset`, judged from its group (0002, 0004 or 0008 read in
    /// either byte order) and whether two VR letters follow the tag; `nil` if it does not look like one.
    static func guessEncoding(_ bytes: [UInt8], at offset: Int) -> Encoding? {
        guard offset >= 0, bytes.count - offset >= 8 else { return nil }
        let littleGroup = UInt16(bytes[offset]) | UInt16(bytes[offset + 1]) << 8
        let bigGroup = UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1])
        let vr = String(decoding: bytes[offset + 4 ..< offset + 6], as: UTF8.self)
        let explicit = knownVRs.contains(vr)
        if leadingGroups.contains(littleGroup) { return Encoding(explicitVR: explicit, bigEndian: false) }
        if leadingGroups.contains(bigGroup), explicit { return Encoding(explicitVR: true, bigEndian: true) }
        return nil
    }

    /// Inflates a raw deflate stream (no zlib header), as Deflated Explicit VR Little Endian stores the data set.
    static func inflate(_ input: [UInt8], file: String) throws -> [UInt8] {
        guard input.count <= Int(UInt32.max) else {
            throw ImagingError(file: file, problem: "has a deflated data set of \(input.count) bytes; RadProbe inflates at most 4 GiB")
        }
        var stream = z_stream()
        guard inflateInit2_(&stream, -MAX_WBITS, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw ImagingError(file: file, problem: "cannot be inflated (zlib could not start)")
        }
        defer { inflateEnd(&stream) }
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        var status = Z_OK
        var mutableInput = input
        try mutableInput.withUnsafeMutableBufferPointer { source in
            stream.next_in = source.baseAddress
            stream.avail_in = UInt32(source.count)
            repeat {
                let produced = chunk.withUnsafeMutableBufferPointer { target -> Int in
                    stream.next_out = target.baseAddress
                    stream.avail_out = UInt32(target.count)
                    status = CZlib.inflate(&stream, Z_NO_FLUSH)
                    return target.count - Int(stream.avail_out)
                }
                output.append(contentsOf: chunk[0..<produced])
                guard output.count <= maximumInflatedBytes else {
                    throw ImagingError(file: file, problem: "inflates to more than \(maximumInflatedBytes) bytes")
                }
            } while status == Z_OK && (stream.avail_in > 0 || stream.avail_out == 0)
        }
        guard status == Z_STREAM_END else {
            throw ImagingError(file: file, problem: status == Z_OK || status == Z_BUF_ERROR
                ? "is truncated: its deflated data set ends before the end of the deflate stream"
                : "has a corrupt deflated data set (zlib status \(status))")
        }
        return output
    }
}

/// Reads elements, sequences and items out of a byte array (see `DICOMParser`).
struct ElementParser {
    let bytes: [UInt8]
    let file: String

    typealias Encoding = DICOMParser.Encoding

    func fail(_ problem: String) -> ImagingError { ImagingError(file: file, problem: problem) }

    func uint16(_ offset: Int, _ bigEndian: Bool) -> UInt16 {
        let a = UInt16(bytes[offset]), b = UInt16(bytes[offset + 1])
        return bigEndian ? a << 8 | b : b << 8 | a
    }

    func uint32(_ offset: Int, _ bigEndian: Bool) -> UInt32 {
        let high = UInt32(uint16(offset + (bigEndian ? 0 : 2), bigEndian))
        let low = UInt32(uint16(offset + (bigEndian ? 2 : 0), bigEndian))
        return high << 16 | low
    }

    /// Checks that `count` bytes from `offset` lie before `end`, else reports what `what` needed.
    func require(_ count: Int, at offset: Int, before end: Int, for what: @autoclosure () -> String) throws {
        guard count <= end - offset else {
            throw fail("is truncated: \(what()) declares \(count) bytes, \(max(end - offset, 0)) remain")
        }
    }

    /// Elements from `offset` up to `end`, or up to an Item Delimitation Item when `delimited`, or up to
    /// the first element of another group when `onlyGroup` is set. Returns the data set and the offset after it.
    func parseDataSet(from offset: Int, to end: Int, encoding: Encoding, delimited: Bool = false,
                      onlyGroup: UInt16? = nil, depth: Int = 0) throws -> (dataSet: DICOMDataSet, next: Int) {
        var elements: [DICOMTag: DICOMElement] = [:]
        var position = offset
        while position < end {
            if let onlyGroup {
                guard end - position >= 2, uint16(position, encoding.bigEndian) == onlyGroup else { break }
            }
            try require(8, at: position, before: end, for: "the element header at byte \(position)")
            let tag = DICOMTag(uint16(position, encoding.bigEndian), uint16(position + 2, encoding.bigEndian))
            if tag == .itemDelimitation {
                guard delimited else { throw fail("is corrupt: an item delimiter at byte \(position) outside an item") }
                return (DICOMDataSet(elements: elements), position + 8)
            }
            let (element, next) = try parseElement(tag: tag, at: position, end: end, encoding: encoding, depth: depth)
            elements[tag] = element
            position = next
        }
        if delimited { throw fail("is truncated: a sequence item has no item delimiter before byte \(end)") }
        return (DICOMDataSet(elements: elements), position)
    }

    /// The element whose tag starts at `offset`, and the offset after it.
    func parseElement(tag: DICOMTag, at offset: Int, end: Int, encoding: Encoding,
                      depth: Int) throws -> (DICOMElement, Int) {
        var vr: String
        var length: UInt32
        var valueStart: Int
        if encoding.explicitVR && tag.group != 0xFFFE {
            let letters = bytes[offset + 4 ..< offset + 6]
            vr = String(decoding: letters, as: UTF8.self)
            guard DICOMParser.knownVRs.contains(vr) else {
                let shown = letters.map { String(format: "%02X", $0) }.joined(separator: " ")
                throw fail("is corrupt: element \(tag) at byte \(offset) has an invalid VR (bytes \(shown))")
            }
            if DICOMParser.longVRs.contains(vr) {
                try require(12, at: offset, before: end, for: "the header of element \(tag) at byte \(offset)")
                length = uint32(offset + 8, encoding.bigEndian)
                valueStart = offset + 12
            } else {
                length = UInt32(uint16(offset + 6, encoding.bigEndian))
                valueStart = offset + 8
            }
        } else {
            vr = DICOMTag.implicitVR[tag] ?? "UN"
            length = uint32(offset + 4, encoding.bigEndian)
            valueStart = offset + 8
        }
        let storedAsUN = vr == "UN"
        if storedAsUN, let known = DICOMTag.implicitVR[tag] { vr = known }
        let make = { (value: DICOMElement.Value) in
            DICOMElement(tag: tag, vr: vr, value: value, isBigEndian: encoding.bigEndian)
        }
        // A sequence, or an UN value of undefined length: a sequence whose items are in Implicit VR
        // Little Endian whatever the data set's syntax.
        if vr == "SQ" || (vr == "UN" && length == 0xFFFF_FFFF) {
            guard depth < DICOMParser.maximumDepth else {
                throw fail("is corrupt: sequence \(tag) at byte \(offset) is nested more than \(DICOMParser.maximumDepth) deep")
            }
            if storedAsUN { vr = "SQ" }
            let itemEncoding = storedAsUN ? Encoding.implicitLittle : encoding
            if length == 0xFFFF_FFFF {
                let (items, next) = try parseItems(of: tag, from: valueStart, to: end, delimited: true,
                                                   encoding: itemEncoding, depth: depth + 1)
                return (make(.sequence(items)), next)
            }
            try require(Int(length), at: valueStart, before: end, for: "element \(tag)")
            let (items, next) = try parseItems(of: tag, from: valueStart, to: valueStart + Int(length), delimited: false,
                                               encoding: itemEncoding, depth: depth + 1)
            return (make(.sequence(items)), next)
        }
        if length == 0xFFFF_FFFF {
            guard tag == .pixelData || vr == "OB" || vr == "OW" else {
                throw fail("is corrupt: element \(tag) at byte \(offset) has an undefined length but VR \(vr)")
            }
            let (table, fragments, next) = try parseFragments(of: tag, from: valueStart, to: end, encoding: encoding)
            return (make(.encapsulated(offsetTable: table, fragments: fragments)), next)
        }
        try require(Int(length), at: valueStart, before: end, for: "element \(tag)")
        let valueEnd = valueStart + Int(length)
        return (make(.bytes(Array(bytes[valueStart..<valueEnd]))), valueEnd)
    }

    /// Reads an item or delimiter header (tag and 32-bit length, no VR) at `offset`.
    func itemHeader(at offset: Int, end: Int, encoding: Encoding, in owner: DICOMTag) throws -> (DICOMTag, UInt32) {
        try require(8, at: offset, before: end, for: "the item header at byte \(offset) in \(owner)")
        return (DICOMTag(uint16(offset, encoding.bigEndian), uint16(offset + 2, encoding.bigEndian)),
                uint32(offset + 4, encoding.bigEndian))
    }

    /// The items of sequence `owner` from `offset`: up to `end`, or when `delimited` up to the
    /// Sequence Delimitation Item. Returns them and the offset after the sequence.
    func parseItems(of owner: DICOMTag, from offset: Int, to end: Int, delimited: Bool,
                    encoding: Encoding, depth: Int) throws -> ([DICOMDataSet], Int) {
        var items: [DICOMDataSet] = []
        var position = offset
        while delimited || position < end {
            let (tag, length) = try itemHeader(at: position, end: end, encoding: encoding, in: owner)
            if tag == .sequenceDelimitation { return (items, position + 8) }
            guard tag == .item else {
                throw fail("is corrupt: sequence \(owner) holds \(tag) at byte \(position) where an item (FFFE,E000) belongs")
            }
            let itemStart = position + 8
            if length == 0xFFFF_FFFF {
                let (item, next) = try parseDataSet(from: itemStart, to: end, encoding: encoding, delimited: true,
                                                    depth: depth)
                items.append(item)
                position = next
            } else {
                try require(Int(length), at: itemStart, before: end, for: "an item of sequence \(owner)")
                let itemEnd = itemStart + Int(length)
                items.append(try parseDataSet(from: itemStart, to: itemEnd, encoding: encoding, depth: depth).dataSet)
                position = itemEnd
            }
        }
        return (items, position)
    }

    /// The Basic Offset Table and fragments of encapsulated element `owner` from `offset`, up to its
    /// Sequence Delimitation Item; fragment offsets count from the first fragment's item tag.
    func parseFragments(of owner: DICOMTag, from offset: Int, to end: Int,
                        encoding: Encoding) throws -> ([UInt8], [(offset: Int, bytes: [UInt8])], Int) {
        var table: [UInt8]?
        var fragments: [(offset: Int, bytes: [UInt8])] = []
        var position = offset
        var firstFragment: Int?
        while true {
            let (tag, length) = try itemHeader(at: position, end: end, encoding: encoding, in: owner)
            if tag == .sequenceDelimitation { break }
            guard tag == .item, length != 0xFFFF_FFFF else {
                throw fail("is corrupt: encapsulated \(owner) holds \(tag) of length \(length) at byte \(position) "
                    + "where an item of defined length belongs")
            }
            try require(Int(length), at: position + 8, before: end, for: "a fragment of \(owner) at byte \(position)")
            let value = Array(bytes[position + 8 ..< position + 8 + Int(length)])
            if table == nil {
                table = value
            } else {
                let origin = firstFragment ?? position
                firstFragment = origin
                fragments.append((position - origin, value))
            }
            position += 8 + Int(length)
        }
        return (table ?? [], fragments, position + 8)
    }
}
