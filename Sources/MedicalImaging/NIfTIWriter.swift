import Foundation

/// Writes `Volume`s as single-file NIfTI-1 images that ITK-SNAP, 3D Slicer and nibabel open over the
/// image they came from.
///
/// Layout: the 348-byte little-endian header, 4 zero extension bytes, then the samples first index
/// fastest from byte 352 (`vox_offset` 352), magic `n+1`, `scl_slope` 1 and `scl_inter` 0, `cal_min` /
/// `cal_max` the smallest and largest finite value; `dim` is `[3, nx, ny, nz, 1, …]`, or
/// `[4, nx, ny, nz, frames, …]` for several frames.
///
/// Geometry: with a `source` header (the image the volume was computed from), its `pixdim`,
/// `xyzt_units`, qform (code, quaternion, offsets, qfac) and sform (code, rows) are copied as they are,
/// so the new file lies exactly over the source; the source must have the volume's `[nx, ny, nz]`.
/// Without one, the sform is `volume.affine` with code 2 (aligned) and the qform code is 0, as nibabel
/// writes a new image, and `pixdim[1…3]` is `volume.spacing` in mm.
///
/// Files are written to a temporary file beside `url` and renamed over it, so a failed write never
/// leaves a partial file or harms one already there.
public enum NIfTIWriter {
    /// The largest label `writeLabelMap` stores (int16's maximum).
    public static let largestLabel = Int(Int16.max)

    /// Writes `labels` gzip-compressed (name it `.nii.gz`): as uint8 when every label is in 0…255, else
    /// as int16. Throws when a value is not a whole number in 0…`largestLabel` (naming the first such voxel).
    public static func writeLabelMap(_ labels: Volume, to url: URL, header source: NIfTIHeader? = nil) throws {
        var largest: Float = 0
        for (index, value) in labels.voxels.enumerated() {
            guard value >= 0, value <= Float(largestLabel), value.rounded(.towardZero) == value else {
                throw ImagingError(file: url.path, problem: "cannot be written as a label map: voxel \(index) holds \(value), "
                    + "and labels must be whole numbers from 0 to \(largestLabel)")
            }
            largest = max(largest, value)
        }
        let samples = largest <= 255 ? try integerSamples(labels, as: UInt8.self, file: url.path)
                                     : try integerSamples(labels, as: Int16.self, file: url.path)
        try write(labels, samples: samples, datatype: largest <= 255 ? .uint8 : .int16, source: source, compressed: true, to: url)
    }

    /// Writes `volume` with samples of `datatype` (`.float32`, or `.int16` / `.uint8` for whole numbers
    /// in their range, e.g. CT in HU), gzip-compressed when the name ends in `.gz`.
    public static func write(_ volume: Volume, to url: URL, header source: NIfTIHeader? = nil,
                             as datatype: NIfTIDataType = .float32) throws {
        let samples: Data
        switch datatype {
        case .float32: samples = volume.voxels.map { $0.bitPattern.littleEndian }.withUnsafeBytes { Data($0) }
        case .int16: samples = try integerSamples(volume, as: Int16.self, file: url.path)
        case .uint8: samples = try integerSamples(volume, as: UInt8.self, file: url.path)
        default: throw ImagingError(file: url.path, problem: "cannot be written as \(datatype); RadProbe writes float32, int16 and uint8")
        }
        try write(volume, samples: samples, datatype: datatype, source: source,
                  compressed: url.pathExtension.lowercased() == "gz", to: url)
    }

    /// The voxels as little-endian `Sample`s; throws naming the first voxel that is not a whole number in range.
    static func integerSamples<Sample: FixedWidthInteger>(_ volume: Volume, as _: Sample.Type, file: String) throws -> Data {
        var samples = [Sample](repeating: 0, count: volume.voxels.count)
        for (index, value) in volume.voxels.enumerated() {
            guard let exact = Sample(exactly: value) else {
                throw ImagingError(file: file, problem: "cannot be written as \(Sample.self): voxel \(index) holds \(value), "
                    + "not a whole number from \(Sample.min) to \(Sample.max)")
            }
            samples[index] = exact.littleEndian
        }
        return samples.withUnsafeBytes { Data($0) }
    }

    /// The header for `volume` stored as `datatype`, with `source`'s geometry when given (see the type's
    /// documentation), as 352 bytes (the header and its 4 extension bytes).
    static func headerBytes(for volume: Volume, datatype: NIfTIDataType, source: NIfTIHeader?,
                                   file: String) throws -> [UInt8] {
        guard let sampleBytes = datatype.bytesPerSample else {
            throw ImagingError(file: file, problem: "cannot be written as \(datatype)")
        }
        let extents = volume.size + [volume.frames]
        guard extents.allSatisfy({ $0 <= Int(Int16.max) }) else {
            throw ImagingError(file: file, problem: "cannot be written as NIfTI-1: its size \(extents) exceeds 32767 along an axis")
        }
        var header = NIfTIHeaderBytes()
        header.put(Int32(348), at: 0)
        header.bytes[38] = UInt8(ascii: "r")  // regular
        let dims = [volume.frames > 1 ? 4 : 3] + extents + [1, 1, 1]
        for (n, value) in dims.enumerated() { header.put(Int16(value), at: 40 + 2 * n) }
        header.put(Int16(datatype.code), at: 70)
        header.put(Int16(8 * sampleBytes), at: 72)  // bitpix
        header.putFloat(352, at: 108)  // vox_offset
        header.putFloat(1, at: 112)  // scl_slope
        header.putFloat(0, at: 116)  // scl_inter
        var (smallest, largest) = (Float.infinity, -Float.infinity)
        for value in volume.voxels where value.isFinite {
            smallest = min(smallest, value)
            largest = max(largest, value)
        }
        header.putFloat(smallest <= largest ? Double(largest) : 0, at: 124)  // cal_max
        header.putFloat(smallest <= largest ? Double(smallest) : 0, at: 128)  // cal_min
        for (n, byte) in "RadProbe".utf8.enumerated() { header.bytes[148 + n] = byte }  // descrip
        try putGeometry(of: volume, source: source, into: &header, file: file)
        for (n, byte) in "n+1\0".utf8.enumerated() { header.bytes[344 + n] = byte }
        return header.bytes
    }

    private static func putGeometry(of volume: Volume, source: NIfTIHeader?, into header: inout NIfTIHeaderBytes,
                                    file: String) throws {
        let pixdim: [Double], units: Int, qformCode: Int, sformCode: Int, quaternion: [Double], qoffset: [Double], srow: [Double]
        if let source {
            let sourceSize = (0..<3).map { $0 < source.shape.count ? source.shape[$0] : 1 }
            guard sourceSize == volume.size else {
                throw ImagingError(file: file, problem: "cannot take the geometry of a \(sourceSize) image for a \(volume.size) volume")
            }
            pixdim = [source.qfac] + source.spacing + Array(source.pixdim[4...])
            (units, qformCode, sformCode) = (source.xyztUnits, source.effectiveQformCode, source.effectiveSformCode)
            (quaternion, qoffset, srow) = (source.quaternion, source.qoffset, source.srow)
        } else {
            pixdim = [1] + volume.spacing + [volume.frames > 1 ? 1 : 0, 0, 0, 0]
            (units, qformCode, sformCode) = (2, 0, 2)  // mm; sform "aligned"
            (quaternion, qoffset, srow) = ([0, 0, 0], [0, 0, 0], Array(volume.affine.matrix[0..<12]))
        }
        for (n, value) in pixdim.enumerated() { header.putFloat(value, at: 76 + 4 * n) }
        header.bytes[123] = UInt8(truncatingIfNeeded: units)
        header.put(Int16(qformCode), at: 252)
        header.put(Int16(sformCode), at: 254)
        for (n, value) in (quaternion + qoffset + srow).enumerated() { header.putFloat(value, at: 256 + 4 * n) }
    }

    private static func write(_ volume: Volume, samples: Data, datatype: NIfTIDataType, source: NIfTIHeader?,
                              compressed: Bool, to url: URL) throws {
        let file = url.path
        var image = Data(try headerBytes(for: volume, datatype: datatype, source: source, file: file))
        image.append(samples)
        let bytes = compressed ? try image.withUnsafeBytes { try Gzip.deflate($0, level: 1, file: file) } : image
        try AtomicFile.write(bytes, to: url)
    }
}

/// A NIfTI-1 header being filled in, little-endian; floating-point values are stored as float32.
struct NIfTIHeaderBytes {
    var bytes = [UInt8](repeating: 0, count: 352)

    mutating func put<T: FixedWidthInteger>(_ value: T, at offset: Int) {
        withUnsafeBytes(of: value.littleEndian) { bytes.replaceSubrange(offset..<offset + $0.count, with: $0) }
    }

    mutating func putFloat(_ value: Double, at offset: Int) { put(Float(value).bitPattern, at: offset) }
}
