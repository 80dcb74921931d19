import Foundation

/// Reads single-file NIfTI-1 and NIfTI-2 images (`.nii`, or gzip-compressed `.nii.gz`, recognised by
/// the gzip magic `1F 8B` rather than the name) into `Volume`s, matching nibabel's
/// `img.get_fdata(dtype=np.float64)` rounded to float32, and `img.affine` (`get_fdata(dtype=np.float32)`
/// is the same but for scaled images, where it scales in float32 and can be an ulp away).
///
/// - Sample types: uint8, int8, int16, uint16, int32, uint32, int64, uint64, float32, float64, in
///   either byte order; others (binary, complex, RGB24, RGBA32, float128) are refused. 64-bit integers
///   go to `Float` through `Double` (two roundings), as nibabel's float64 → float32 cast does.
/// - Scaling: `value = stored · scl_slope + scl_inter`, computed in `Double` and rounded once to `Float`,
///   unless the slope is 0 or not finite (see `NIfTIHeader.scaling`).
/// - Shape: 1 to 4 dimensions, missing ones counted as 1 (`[nx, ny, nz]` × `frames` = `dim[4]`);
///   dimensions 5…7 must be 1.
/// - Geometry: `affine` is `NIfTIHeader.bestAffine` (sform, else qform, else nibabel's fallback);
///   `spacing` is `pixdim[1…3]` (zero → 1, negative → absolute, as nibabel repairs them).
/// - Layout: voxels start at `vox_offset` (right after the header and its 4 extension bytes when 0) and
///   must all be in the (decompressed) file. A gzip file is inflated straight into one buffer sized from
///   its header, bounded by what the compressed size can hold, and its stream is checked to the end.
public enum NIfTIReader {
    /// Reads the image at `url`; throws `ImagingError` naming the file for anything it cannot read.
    public static func read(contentsOf url: URL) throws -> Volume {
        let data = try FileBytes.read(contentsOf: url)
        return try decode(data, file: url.path, source: url)
    }

    /// Reads only the header of the image at `url` (for a gzip file, only the first bytes are inflated).
    public static func readHeader(contentsOf url: URL) throws -> NIfTIHeader {
        try header(of: FileBytes.read(contentsOf: url), file: url.path)
    }

    /// The header of NIfTI bytes held in memory (plain or gzip; of a gzip, only the first bytes are inflated).
    public static func header(of data: Data, file: String = "<memory>") throws -> NIfTIHeader {
        try data.withUnsafeBytes { bytes in
            guard Gzip.isCompressed(bytes) else { return try NIfTIHeader.parse(bytes, file: file) }
            return try Gzip.withReader(over: bytes, file: file) { reader in try readHeader(from: reader, file: file).header }
        }
    }

    /// Decodes NIfTI bytes held in memory (plain or gzip); `file` names them in errors.
    public static func decode(_ data: Data, file: String = "<memory>", source: URL? = nil) throws -> Volume {
        try data.withUnsafeBytes { bytes in
            if Gzip.isCompressed(bytes) { return try decodeCompressed(bytes, file: file, source: source) }
            let header = try NIfTIHeader.parse(bytes, file: file)
            let layout = try NIfTIVoxelLayout(header, file: file)
            let offset = header.dataOffset
            guard offset <= bytes.count, layout.byteCount <= bytes.count - offset else {
                throw layout.missingVoxels(offset: offset, fileBytes: bytes.count, file: file)
            }
            return try volume(header, layout, samples: bytes.baseAddress! + offset, file: file, source: source)
        }
    }

    // MARK: - Parts

    /// Inflates the first bytes of a gzip stream (enough for either header) and parses the header;
    /// also returns those bytes, some of which may already be voxels.
    private static func readHeader(from reader: GzipReader, file: String) throws -> (header: NIfTIHeader, head: [UInt8]) {
        var head = [UInt8](repeating: 0, count: 544)
        let count = try head.withUnsafeMutableBytes { try reader.read(into: $0) }
        head.removeLast(head.count - count)
        return (try head.withUnsafeBytes { try NIfTIHeader.parse($0, file: file) }, head)
    }

    private static func decodeCompressed(_ compressed: UnsafeRawBufferPointer, file: String, source: URL?) throws -> Volume {
        try Gzip.withReader(over: compressed, file: file) { reader in
            let (header, head) = try readHeader(from: reader, file: file)
            let layout = try NIfTIVoxelLayout(header, file: file)
            let offset = header.dataOffset
            let (capacity, capacityOverflow) = compressed.count.multipliedReportingOverflow(by: Gzip.maximumExpansion)
            let (end, endOverflow) = offset.addingReportingOverflow(layout.byteCount)
            guard !endOverflow, capacityOverflow || end <= capacity else {
                throw ImagingError(file: file, problem: "header promises \(layout.byteCount) bytes of voxels at offset \(offset), "
                    + "more than a gzip file of \(compressed.count) bytes can hold (at most \(Gzip.maximumExpansion)× that)")
            }
            let samples = UnsafeMutableRawBufferPointer.allocate(byteCount: layout.byteCount, alignment: 16)
            defer { samples.deallocate() }
            adviseHugePages(samples)
            var filled = 0
            if head.count > offset {
                filled = min(head.count - offset, layout.byteCount)
                head.withUnsafeBytes { samples.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[offset..<offset + filled])) }
            } else if try reader.skip(offset - head.count) < offset - head.count {
                throw layout.missingVoxels(offset: offset, fileBytes: reader.produced, file: file)
            }
            filled += try reader.read(into: UnsafeMutableRawBufferPointer(rebasing: samples[filled...]))
            guard filled == layout.byteCount else {
                throw layout.missingVoxels(offset: offset, fileBytes: reader.produced, file: file)
            }
            try reader.finish()
            return try volume(header, layout, samples: UnsafeRawPointer(samples.baseAddress!), file: file, source: source)
        }
    }

    private static func volume(_ header: NIfTIHeader, _ layout: NIfTIVoxelLayout, samples: UnsafeRawPointer,
                               file: String, source: URL?) throws -> Volume {
        let scaling = try header.scaling(file: file)
        let affine = try header.bestAffine(file: file)
        let swapped = (header.byteOrder == .bigEndian) != (1.bigEndian == 1)
        let voxels = NIfTISampleConversion.floats(from: samples, count: layout.sampleCount, datatype: header.datatype,
                                             swapped: swapped, scaling: scaling)
        return Volume(size: layout.size, frames: layout.frames, voxels: voxels, spacing: header.spacing,
                      affine: affine, storedType: header.datatype.name, source: source)
    }
}

/// The voxel grid a header describes, checked: a readable data type, at most 4 dimensions that are
/// not 1, and counts that do not overflow.
struct NIfTIVoxelLayout {
    /// `[nx, ny, nz]` (missing dimensions are 1).
    let size: [Int]
    let frames: Int
    let sampleCount: Int
    let byteCount: Int

    init(_ header: NIfTIHeader, file: String) throws {
        guard let bytesPerSample = header.datatype.bytesPerSample else {
            throw ImagingError(file: file, problem: "has datatype \(header.datatype), which is not supported "
                + "(readable: uint8, int8, int16, uint16, int32, uint32, int64, uint64, float32, float64)")
        }
        let shape = header.shape
        let shown = shape.map(String.init).joined(separator: " × ")
        if let extra = shape.indices.dropFirst(4).first(where: { shape[$0] != 1 }) {
            throw ImagingError(file: file, problem: "has \(shape.count) dimensions (\(shown)); only 3D volumes and 4D series "
                + "are supported, so dim[\(extra + 1)] must be 1, not \(shape[extra])")
        }
        let padded = (0..<4).map { $0 < shape.count ? shape[$0] : 1 }
        var count = 1
        for extent in padded {
            let (product, overflow) = count.multipliedReportingOverflow(by: extent)
            guard !overflow else { throw ImagingError(file: file, problem: "has dimensions \(shown) whose voxel count overflows") }
            count = product
        }
        let (bytes, overflow) = count.multipliedReportingOverflow(by: bytesPerSample)
        guard !overflow else {
            throw ImagingError(file: file, problem: "has dimensions \(shown) of \(header.datatype.name) whose byte count overflows")
        }
        size = Array(padded[0..<3])
        frames = padded[3]
        sampleCount = count
        byteCount = bytes
    }

    /// The error for a file of `fileBytes` (decompressed) bytes too short for the voxels.
    func missingVoxels(offset: Int, fileBytes: Int, file: String) -> ImagingError {
        ImagingError(file: file, problem: "is truncated: header promises \(byteCount) bytes of voxels at offset \(offset), "
            + "the file holds \(fileBytes) bytes")
    }
}

/// Stored samples → `Float`, in tight loops specialised per type and byte order. Unscaled samples of
/// up to 32 bits convert to `Float` directly (one rounding, the same as through `Double`); 64-bit
/// ones and scaled ones go through `Double` as nibabel's float64 arithmetic does.
enum NIfTISampleConversion {
    /// `count` samples of `datatype` at `raw` (byte-swapped when `swapped`), scaled when `scaling` is set.
    static func floats(from raw: UnsafeRawPointer, count: Int, datatype: NIfTIDataType, swapped: Bool,
                       scaling: (slope: Double, intercept: Double)?) -> [Float] {
        [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            let out = buffer.baseAddress!
            adviseHugePages(UnsafeMutableRawBufferPointer(buffer))
            switch datatype.code {
            case 2: convert(raw, count, swapped, scaling, out, { (bits: UInt8) in Float(bits) }, { Double($0) })
            case 256: convert(raw, count, swapped, scaling, out, { (bits: UInt8) in Float(Int8(bitPattern: bits)) },
                              { Double(Int8(bitPattern: $0)) })
            case 4: convert(raw, count, swapped, scaling, out, { (bits: UInt16) in Float(Int16(bitPattern: bits)) },
                            { Double(Int16(bitPattern: $0)) })
            case 512: convert(raw, count, swapped, scaling, out, { (bits: UInt16) in Float(bits) }, { Double($0) })
            case 8: convert(raw, count, swapped, scaling, out, { (bits: UInt32) in Float(Int32(bitPattern: bits)) },
                            { Double(Int32(bitPattern: $0)) })
            case 768: convert(raw, count, swapped, scaling, out, { (bits: UInt32) in Float(bits) }, { Double($0) })
            case 1024: convert(raw, count, swapped, scaling, out, { (bits: UInt64) in Float(Double(Int64(bitPattern: bits))) },
                               { Double(Int64(bitPattern: $0)) })
            case 1280: convert(raw, count, swapped, scaling, out, { (bits: UInt64) in Float(Double(bits)) }, { Double($0) })
            case 16: convert(raw, count, swapped, scaling, out, { (bits: UInt32) in Float(bitPattern: bits) },
                             { Double(Float(bitPattern: $0)) })
            case 64: convert(raw, count, swapped, scaling, out, { (bits: UInt64) in Float(Double(bitPattern: bits)) },
                             { Double(bitPattern: $0) })
            default: preconditionFailure("datatype \(datatype) passed NIfTIVoxelLayout's check but has no conversion")
            }
            initialized = count
        }
    }

    /// `out[n] = float(sample n)`, or `Float(double(sample n) · slope + intercept)` when scaled.
    @inline(__always)
    private static func convert<Bits: FixedWidthInteger>(_ raw: UnsafeRawPointer, _ count: Int, _ swapped: Bool,
                                                         _ scaling: (slope: Double, intercept: Double)?,
                                                         _ out: UnsafeMutablePointer<Float>,
                                                         _ float: (Bits) -> Float, _ double: (Bits) -> Double) {
        let width = MemoryLayout<Bits>.size
        switch (swapped, scaling) {
        case (false, nil):
            for n in 0..<count { out[n] = float(raw.loadUnaligned(fromByteOffset: n * width, as: Bits.self)) }
        case (true, nil):
            for n in 0..<count { out[n] = float(raw.loadUnaligned(fromByteOffset: n * width, as: Bits.self).byteSwapped) }
        case (false, let (slope, intercept)?):
            for n in 0..<count {
                out[n] = Float(double(raw.loadUnaligned(fromByteOffset: n * width, as: Bits.self)) * slope + intercept)
            }
        case (true, let (slope, intercept)?):
            for n in 0..<count {
                out[n] = Float(double(raw.loadUnaligned(fromByteOffset: n * width, as: Bits.self).byteSwapped) * slope + intercept)
            }
        }
    }
}
