import Foundation

/// A NIfTI-1 (348-byte) or NIfTI-2 (540-byte) single-file header, the fields as stored (NIfTI-1's
/// float32 and int16 fields widened to `Double` and `Int`), plus the geometry nibabel derives from them.
///
/// Layout: NIfTI-1 has `sizeof_hdr` 348 at byte 0, `dim` int16[8] at 40, `datatype` at 70, `pixdim`
/// float32[8] at 76, `vox_offset` float32 at 108, `scl_slope`/`scl_inter` at 112/116, `xyzt_units` at
/// 123, `cal_max`/`cal_min` at 124/128, `descrip` at 148, `qform_code`/`sform_code` at 252/254, the
/// quaternion b, c, d and offsets at 256…276, `srow_x/y/z` at 280/296/312 and magic `n+1\0` at 344.
/// NIfTI-2 has `sizeof_hdr` 540, magic `n+2\0\r\n\u{1A}\n` at 4, `datatype` at 12, `dim` int64[8] at
/// 16, `pixdim` float64[8] at 104, `vox_offset` int64 at 168, scaling at 176/184, `cal_max/min` at
/// 192/200, `descrip` at 240, codes int32 at 344/348, quaternion float64 at 352…392, `srow` at 400…464,
/// `xyzt_units` at 500. The byte order is the one in which `sizeof_hdr` reads 348 or 540.
///
/// Values nibabel repairs when it loads a header are repaired the same way where geometry is derived
/// (`spacing`, `qfac`, `effectiveQformCode`, …); the stored fields keep the file's values for reports.
public struct NIfTIHeader: Equatable, Sendable {
    /// The order of the header's (and voxels') multi-byte numbers.
    public enum ByteOrder: String, Sendable {
        case littleEndian = "little-endian"
        case bigEndian = "big-endian"
    }

    /// 1 for NIfTI-1, 2 for NIfTI-2.
    public var version: Int
    /// Byte order of the file.
    public var byteOrder: ByteOrder
    /// `dim[0…7]` as stored: `dim[0]` is the number of dimensions, `dim[1…dim[0]]` their sizes.
    public var dim: [Int]
    /// The voxel sample type.
    public var datatype: NIfTIDataType
    /// `pixdim[0…7]` as stored: `pixdim[0]` is qfac, `pixdim[1…3]` the voxel size, `pixdim[4]` the
    /// time step.
    public var pixdim: [Double]
    /// Byte offset of the voxels in the (decompressed) file, as stored (0 means "right after the header").
    public var voxOffset: Double
    /// Scaling `value = stored · scl_slope + scl_inter` (no scaling when the slope is 0 or not finite).
    public var sclSlope: Double
    public var sclInter: Double
    /// Display window.
    public var calMin: Double
    public var calMax: Double
    /// Units of `pixdim[1…3]` (bits 0–2) and `pixdim[4]` (bits 3–5).
    public var xyztUnits: Int
    /// qform and sform codes as stored (0 unknown, 1 scanner, 2 aligned, 3 Talairach, 4 MNI 152, 5 template).
    public var qformCode: Int
    public var sformCode: Int
    /// Quaternion `b, c, d` of the qform rotation (`a` follows from them).
    public var quaternion: [Double]
    /// `qoffset_x, qoffset_y, qoffset_z`: the qform translation.
    public var qoffset: [Double]
    /// `srow_x`, `srow_y`, `srow_z`: the first three rows of the sform, row-major (12 values).
    public var srow: [Double]
    /// The `descrip` text (up to 80 bytes, NUL-terminated).
    public var description: String

    /// Header size in bytes: 348 (NIfTI-1) or 540 (NIfTI-2).
    public var headerSize: Int { version == 1 ? 348 : 540 }

    /// The sizes `dim[1…dim[0]]`.
    public var shape: [Int] { Array(dim[1...max(1, min(dim[0], 7))]) }

    /// Where the voxels start: `vox_offset`, or right after the header and the 4 extension bytes when it
    /// is 0 (352 for NIfTI-1, 544 for NIfTI-2), as the NIfTI C library reads single files (nibabel would
    /// read from byte 0, the header itself).
    public var dataOffset: Int { voxOffset == 0 ? headerSize + 4 : Int(voxOffset) }

    /// `pixdim[1…3]` repaired as nibabel does on load (0 → 1, negative → absolute value): the voxel size.
    public var spacing: [Double] { (1...3).map { pixdim[$0] == 0 ? 1 : abs(pixdim[$0]) } }

    /// qfac, `pixdim[0]`: −1 flips the qform's third axis; anything but ±1 counts as 1 (nibabel's repair).
    public var qfac: Double { pixdim[0] == -1 ? -1 : 1 }

    /// The codes with values outside 0…5 read as 0, as nibabel's repair sets them.
    public var effectiveQformCode: Int { (0...5).contains(qformCode) ? qformCode : 0 }
    public var effectiveSformCode: Int { (0...5).contains(sformCode) ? sformCode : 0 }

    /// The sform as a 4 × 4 affine (`srow` rows, then `0 0 0 1`).
    public var sformAffine: AffineTransform { AffineTransform(rowMajor: srow + [0, 0, 0, 1]) }

    /// The qform as nibabel's `get_qform`: with `a = √(1 − b² − c² − d²)` (0 when that is slightly
    /// negative through rounding) the rotation `R` of the unit quaternion `(a, b, c, d)`,
    /// then `R · diag(spacing₀, spacing₁, qfac · spacing₂)` and translation `qoffset`.
    /// Throws when `b² + c² + d²` exceeds 1 by more than the stored precision allows.
    public func qformAffine(file: String = "<header>") throws -> AffineTransform {
        let (b, c, d) = (quaternion[0], quaternion[1], quaternion[2])
        let aSquared = 1 - (b * b + c * c + d * d)
        let threshold = -3 * (version == 1 ? Double(Float.ulpOfOne) : Double.ulpOfOne)
        guard aSquared >= threshold else {
            throw ImagingError(file: file, problem: "has an invalid qform quaternion (b, c, d) = (\(b), \(c), \(d)): "
                + "b² + c² + d² = \(1 - aSquared) exceeds 1")
        }
        let a = aSquared < 0 ? 0 : aSquared.squareRoot()
        let norm = a * a + b * b + c * c + d * d
        let s = 2 / norm
        let (x, y, z) = (b * s, c * s, d * s)
        let rotation: [[Double]] = [
            [1 - (c * y + d * z), b * y - a * z, b * z + a * y],
            [b * y + a * z, 1 - (b * x + d * z), c * z - a * x],
            [b * z - a * y, c * z + a * x, 1 - (b * x + c * y)],
        ]
        let scale = [spacing[0], spacing[1], spacing[2] * qfac]
        var matrix = [Double](repeating: 0, count: 16)
        for row in 0..<3 {
            for column in 0..<3 { matrix[row * 4 + column] = rotation[row][column] * scale[column] }
            matrix[row * 4 + 3] = qoffset[row]
        }
        matrix[15] = 1
        return AffineTransform(rowMajor: matrix)
    }

    /// nibabel's fallback (`get_base_affine`, Analyze's convention) when neither form is coded:
    /// `diag(−spacing₀, spacing₁, spacing₂)` centred on the middle voxel, translation
    /// `−(size − 1)/2 · zooms` over the first three dimensions (missing ones count as size 1, zoom 1).
    public var baseAffine: AffineTransform {
        let count = min(max(dim[0], 0), 3)
        var matrix = [Double](repeating: 0, count: 16)
        for axis in 0..<3 {
            let size = axis < count ? Double(dim[axis + 1]) : 1
            var zoom = axis < count ? spacing[axis] : 1
            if axis == 0 { zoom = -zoom }
            matrix[axis * 5] = zoom
            matrix[axis * 4 + 3] = -(size - 1) / 2 * zoom
        }
        matrix[15] = 1
        return AffineTransform(rowMajor: matrix)
    }

    /// nibabel's `get_best_affine`: the sform when its code is > 0, else the qform when its code is > 0,
    /// else `baseAffine`.
    public func bestAffine(file: String = "<header>") throws -> AffineTransform {
        if effectiveSformCode > 0 { return sformAffine }
        if effectiveQformCode > 0 { return try qformAffine(file: file) }
        return baseAffine
    }

    /// `scl_slope`/`scl_inter` when they change values, as nibabel's `get_slope_inter` and
    /// `apply_read_scaling`: nil for a slope of 0 or non-finite, or for slope 1 with intercept 0.
    /// Throws for a valid slope with a non-finite intercept (nibabel refuses it too).
    public func scaling(file: String = "<header>") throws -> (slope: Double, intercept: Double)? {
        guard sclSlope != 0, sclSlope.isFinite else { return nil }
        guard sclInter.isFinite else {
            throw ImagingError(file: file, problem: "has a valid scl_slope \(sclSlope) but an invalid scl_inter \(sclInter)")
        }
        return sclSlope == 1 && sclInter == 0 ? nil : (sclSlope, sclInter)
    }

    /// Names of a qform/sform code.
    public static func transformCodeName(_ code: Int) -> String {
        let names = ["unknown", "scanner", "aligned", "talairach", "mni", "template"]
        return names.indices.contains(code) ? names[code] : "invalid (\(code))"
    }

    /// The unit of `pixdim[1…3]`: "unknown", "m", "mm" or "micron" (`xyzt_units & 7`).
    public var spatialUnit: String {
        switch xyztUnits & 0x07 {
        case 1: "m"
        case 2: "mm"
        case 3: "micron"
        default: "unknown"
        }
    }

    /// The unit of `pixdim[4]`: "unknown", "sec", "msec", "usec", "hz", "ppm" or "rads" (`xyzt_units & 0x38`).
    public var temporalUnit: String {
        switch xyztUnits & 0x38 {
        case 8: "sec"
        case 16: "msec"
        case 24: "usec"
        case 32: "hz"
        case 40: "ppm"
        case 48: "rads"
        default: "unknown"
        }
    }
}

extension NIfTIHeader {
    /// Parses a header from the first bytes of a (decompressed) single-file NIfTI; `file` names it in errors.
    /// Checks `sizeof_hdr` (which gives version and byte order), the magic, `dim[0]` in 1…7, positive
    /// sizes, and a usable `vox_offset`; the data type is not checked here (see `NIfTIReader`).
    public static func parse(_ bytes: UnsafeRawBufferPointer, file: String) throws -> NIfTIHeader {
        func fail(_ problem: String) -> ImagingError { ImagingError(file: file, problem: problem) }
        guard bytes.count >= 4 else {
            throw fail("is truncated: \(bytes.count) bytes, shorter than a NIfTI header (348 bytes)")
        }
        let sizeLE = Int(Int32(littleEndian: bytes.loadUnaligned(as: Int32.self)))
        let sizeBE = Int(Int32(bigEndian: bytes.loadUnaligned(as: Int32.self)))
        let version: Int, order: ByteOrder
        switch (sizeLE, sizeBE) {
        case (348, _): (version, order) = (1, .littleEndian)
        case (540, _): (version, order) = (2, .littleEndian)
        case (_, 348): (version, order) = (1, .bigEndian)
        case (_, 540): (version, order) = (2, .bigEndian)
        default:
            throw fail("is not a NIfTI file (sizeof_hdr reads \(sizeLE), a NIfTI-1 header has 348 and a NIfTI-2 header 540)")
        }
        let size = version == 1 ? 348 : 540
        guard bytes.count >= size else {
            throw fail("is truncated: \(bytes.count) bytes, shorter than its NIfTI-\(version) header (\(size) bytes)")
        }
        let fields = NIfTIHeaderFields(bytes: bytes, bigEndian: order == .bigEndian)
        try checkMagic(fields, version: version, file: file)
        let header = version == 1 ? parseVersion1(fields, order: order) : parseVersion2(fields, order: order)
        try header.checkDimensions(file: file)
        try header.checkOffset(file: file)
        return header
    }

    private static func checkMagic(_ fields: NIfTIHeaderFields, version: Int, file: String) throws {
        let at = version == 1 ? 344 : 4
        let magic = (0..<4).map { fields.bytes[at + $0] }
        let shown = magic.reversed().drop { $0 == 0 }.reversed().map { (0x20..<0x7F).contains($0) ? String(UnicodeScalar($0)) : String(format: "\\x%02X", $0) }.joined()
        if magic == Array("n+\(version)\0".utf8) {
            if version == 2 && (8..<12).map({ fields.bytes[$0] }) != [0x0D, 0x0A, 0x1A, 0x0A] {
                throw ImagingError(file: file, problem: "has a damaged NIfTI-2 magic: the bytes after \"n+2\" should be "
                    + "0D 0A 1A 0A (the file may have gone through a line-ending conversion)")
            }
            return
        }
        if magic == Array("ni\(version)\0".utf8) {
            throw ImagingError(file: file, problem: "is the header of a NIfTI-\(version) .hdr/.img pair (magic \"ni\(version)\"), "
                + "which is not supported: convert the pair to a single .nii file")
        }
        throw ImagingError(file: file, problem: "is not a single-file NIfTI-\(version) image (magic \"\(shown)\", expected "
            + "\"n+\(version)\"; ANALYZE 7.5 files are not supported)")
    }

    private static func parseVersion1(_ f: NIfTIHeaderFields, order: ByteOrder) -> NIfTIHeader {
        NIfTIHeader(
            version: 1, byteOrder: order,
            dim: (0..<8).map { Int(f.int16(40 + 2 * $0)) },
            datatype: NIfTIDataType(code: Int(f.int16(70))),
            pixdim: (0..<8).map { Double(f.float32(76 + 4 * $0)) },
            voxOffset: Double(f.float32(108)),
            sclSlope: Double(f.float32(112)), sclInter: Double(f.float32(116)),
            calMin: Double(f.float32(128)), calMax: Double(f.float32(124)),
            xyztUnits: Int(f.bytes[123]),
            qformCode: Int(f.int16(252)), sformCode: Int(f.int16(254)),
            quaternion: (0..<3).map { Double(f.float32(256 + 4 * $0)) },
            qoffset: (0..<3).map { Double(f.float32(268 + 4 * $0)) },
            srow: (0..<12).map { Double(f.float32(280 + 4 * $0)) },
            description: f.text(148, length: 80))
    }

    private static func parseVersion2(_ f: NIfTIHeaderFields, order: ByteOrder) -> NIfTIHeader {
        NIfTIHeader(
            version: 2, byteOrder: order,
            dim: (0..<8).map { Int(f.int64(16 + 8 * $0)) },
            datatype: NIfTIDataType(code: Int(f.int16(12))),
            pixdim: (0..<8).map { f.float64(104 + 8 * $0) },
            voxOffset: Double(f.int64(168)),
            sclSlope: f.float64(176), sclInter: f.float64(184),
            calMin: f.float64(200), calMax: f.float64(192),
            xyztUnits: Int(f.int32(500)),
            qformCode: Int(f.int32(344)), sformCode: Int(f.int32(348)),
            quaternion: (0..<3).map { f.float64(352 + 8 * $0) },
            qoffset: (0..<3).map { f.float64(376 + 8 * $0) },
            srow: (0..<12).map { f.float64(400 + 8 * $0) },
            description: f.text(240, length: 80))
    }

    private func checkDimensions(file: String) throws {
        guard (1...7).contains(dim[0]) else {
            throw ImagingError(file: file, problem: "has dim[0] = \(dim[0]) dimensions; NIfTI allows 1 to 7")
        }
        if let bad = (1...dim[0]).first(where: { dim[$0] <= 0 }) {
            throw ImagingError(file: file, problem: "has dim[\(bad)] = \(dim[bad]): every size in dim[1…\(dim[0])] "
                + "(\(shape.map(String.init).joined(separator: " × "))) must be positive")
        }
    }

    private func checkOffset(file: String) throws {
        guard voxOffset.isFinite, voxOffset >= 0, voxOffset < 0x1p62 else {
            throw ImagingError(file: file, problem: "has an invalid vox_offset \(voxOffset)")
        }
        guard voxOffset == 0 || Int(voxOffset) >= headerSize + 4 else {
            throw ImagingError(file: file, problem: "has vox_offset \(Int(voxOffset)) inside its header: a single-file "
                + "NIfTI-\(version) keeps its voxels at byte \(headerSize + 4) or later")
        }
    }
}

/// Reads the numbers of a header in its byte order.
struct NIfTIHeaderFields {
    let bytes: UnsafeRawBufferPointer
    let bigEndian: Bool

    func load<T: FixedWidthInteger>(_ offset: Int, as type: T.Type) -> T {
        let raw = bytes.loadUnaligned(fromByteOffset: offset, as: T.self)
        return bigEndian ? T(bigEndian: raw) : T(littleEndian: raw)
    }
    func int16(_ offset: Int) -> Int16 { load(offset, as: Int16.self) }
    func int32(_ offset: Int) -> Int32 { load(offset, as: Int32.self) }
    func int64(_ offset: Int) -> Int64 { load(offset, as: Int64.self) }
    func float32(_ offset: Int) -> Float { Float(bitPattern: load(offset, as: UInt32.self)) }
    func float64(_ offset: Int) -> Double { Double(bitPattern: load(offset, as: UInt64.self)) }
    /// A NUL-terminated text field of at most `length` bytes (Latin-1 bytes kept as such).
    func text(_ offset: Int, length: Int) -> String {
        let field = bytes[offset..<offset + length].prefix { $0 != 0 }
        return String(decoding: field, as: UTF8.self)
    }
}

/// A NIfTI `datatype` code and what it stores: the name, the bytes of one sample, and whether
/// `NIfTIReader` can turn it into `Float` values (the real-valued scalar types).
public struct NIfTIDataType: Equatable, Sendable, CustomStringConvertible {
    /// The code stored in the header.
    public let code: Int

    /// The type with this code (known or not).
    public init(code: Int) { self.code = code }

    public static let uint8 = NIfTIDataType(code: 2)
    public static let int16 = NIfTIDataType(code: 4)
    public static let float32 = NIfTIDataType(code: 16)

    /// Code → (name, bytes per sample, readable as real values); bytes 0 for the 1-bit binary type.
    private static let table: [Int: (name: String, bytes: Int, real: Bool)] = [
        1: ("binary", 0, false), 2: ("uint8", 1, true), 4: ("int16", 2, true), 8: ("int32", 4, true),
        16: ("float32", 4, true), 32: ("complex64", 8, false), 64: ("float64", 8, true), 128: ("RGB24", 3, false),
        256: ("int8", 1, true), 512: ("uint16", 2, true), 768: ("uint32", 4, true), 1024: ("int64", 8, true),
        1280: ("uint64", 8, true), 1536: ("float128", 16, false), 1792: ("complex128", 16, false),
        2048: ("complex256", 32, false), 2304: ("RGBA32", 4, false),
    ]

    /// The NIfTI name, e.g. `"int16"`, `"RGB24"`; `"unknown"` for a code NIfTI does not define.
    public var name: String { Self.table[code]?.name ?? "unknown" }

    /// Bytes per sample, for the types `NIfTIReader` reads (nil otherwise).
    public var bytesPerSample: Int? { Self.table[code].flatMap { $0.real ? $0.bytes : nil } }

    /// `"int16 (code 4)"`.
    public var description: String { "\(name) (code \(code))" }
}
