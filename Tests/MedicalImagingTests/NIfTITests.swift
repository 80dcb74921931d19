import Foundation
@testable import MedicalImaging
import TestSupport
import XCTest

/// NIfTI reading against nibabel (`Tests/Fixtures/imaging/nifti/expected.json` and `assets.json`, see
/// scripts/make_nifti_fixtures.py), NIfTI writing by round trips and field checks, and bad input.
final class NIfTITests: XCTestCase {
    /// What nibabel reads from one image.
    struct Expected: Decodable {
        let shape: [Int]
        let affine: [Double]
        let zooms: [Double]
        let datatype: String
        let version: Int
        let bigEndian: Bool
        let slope: Double
        let inter: Double
        let values: [Double]?
        let sha256: String?
        let min: Double?
        let max: Double?
        let samples: [String: Double]?
    }

    static let folder = Fixtures.url("imaging/nifti")
    static let expected = load("expected.json")
    static let assets = load("assets.json")

    static func load(_ name: String) -> [String: Expected] {
        try! JSONDecoder().decode([String: Expected].self, from: Data(contentsOf: folder.appendingPathComponent(name)))
    }

    func fixture(_ name: String) -> URL { Self.folder.appendingPathComponent(name) }

    // MARK: - Parity with nibabel

    func testEveryFixtureReadsAsNibabelDoes() throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: Self.folder.path)
            .filter { $0.hasSuffix(".nii") || $0.hasSuffix(".nii.gz") }.sorted()
        XCTAssertEqual(names, Self.expected.keys.sorted())
        for name in names { try assertMatchesNibabel(fixture(name), Self.expected[name]!) }
    }

    func testRealNibabelImagesReadAsNibabelDoes() throws {
        for (name, expected) in Self.assets.sorted(by: { $0.key < $1.key }) {
            try assertMatchesNibabel(try Fixtures.requiredAsset("imaging/\(name)"), expected)
        }
    }

    /// Shape, type, spacing, affine (1e-5), and every value exactly (nibabel's float64 result rounded to
    /// float32), against the whole array or its digest, range and samples.
    func assertMatchesNibabel(_ url: URL, _ expected: Expected, file: StaticString = #filePath, line: UInt = #line) throws {
        let name = url.lastPathComponent
        let volume = try NIfTIReader.read(contentsOf: url)
        let shape = expected.shape + [1, 1, 1, 1]
        XCTAssertEqual(volume.size, Array(shape[0..<3]), name, file: file, line: line)
        XCTAssertEqual(volume.frames, shape[3], name, file: file, line: line)
        XCTAssertEqual(volume.storedType, expected.datatype, name, file: file, line: line)
        XCTAssertEqual(volume.source, url, name, file: file, line: line)
        let spacing = Array(volume.spacing.prefix(expected.zooms.count))
        for (actual, wanted) in zip(spacing + volume.affine.matrix, expected.zooms.prefix(3) + expected.affine) {
            XCTAssertEqual(actual, wanted, accuracy: 1e-5, "\(name): spacing \(volume.spacing), affine \(volume.affine.matrix)",
                           file: file, line: line)
        }
        let header = try NIfTIReader.readHeader(contentsOf: url)
        XCTAssertEqual(header.version, expected.version, name, file: file, line: line)
        XCTAssertEqual(header.byteOrder, expected.bigEndian ? .bigEndian : .littleEndian, name, file: file, line: line)
        XCTAssertEqual(try header.scaling()?.slope ?? 1, expected.slope, name, file: file, line: line)
        XCTAssertEqual(try header.scaling()?.intercept ?? 0, expected.inter, name, file: file, line: line)

        func assertValue(_ actual: Float, _ wanted: Double, at index: Int) {
            guard actual != Float(wanted) else { return }
            XCTFail("\(name): voxel \(index) is \(actual), nibabel reads \(wanted)", file: file, line: line)
        }
        if let values = expected.values {
            XCTAssertEqual(volume.voxels.count, values.count, name, file: file, line: line)
            for (index, (actual, wanted)) in zip(volume.voxels, values).enumerated() { assertValue(actual, wanted, at: index) }
        }
        if let samples = expected.samples {
            for (index, wanted) in samples { assertValue(volume.voxels[Int(index)!], wanted, at: Int(index)!) }
        }
        if let min = expected.min, let max = expected.max {
            XCTAssertEqual(volume.voxels.min(), Float(min), name, file: file, line: line)
            XCTAssertEqual(volume.voxels.max(), Float(max), name, file: file, line: line)
        }
        if let digest = expected.sha256 {
            XCTAssertEqual(SHA256.hex(float32LittleEndian: volume.voxels), digest, "\(name): voxels differ from nibabel's", file: file, line: line)
        }
    }

    func testEveryReadableTypeInBothByteOrdersGivesTheSameVolume() throws {
        for type in ["uint8", "int8", "int16", "uint16", "int32", "uint32", "int64", "uint64", "float32", "float64"] {
            let little = try NIfTIReader.read(contentsOf: fixture("\(type)_le.nii"))
            let big = try NIfTIReader.read(contentsOf: fixture("\(type)_be.nii"))
            XCTAssertEqual(little.voxels, big.voxels, type)
            XCTAssertEqual(little.storedType, type)
        }
    }

    func testHeaderFieldsForImageInfo() throws {
        let header = try NIfTIReader.readHeader(contentsOf: fixture("qform_only.nii"))
        XCTAssertEqual(header.version, 1)
        XCTAssertEqual(header.headerSize, 348)
        XCTAssertEqual(header.dim, [3, 5, 4, 3, 1, 1, 1, 1])
        XCTAssertEqual(header.shape, [5, 4, 3])
        XCTAssertEqual(header.datatype, NIfTIDataType.int16)
        XCTAssertEqual(header.datatype.description, "int16 (code 4)")
        XCTAssertEqual(header.pixdim[0...3], [-1, 1.25, 2, 3])
        XCTAssertEqual(header.qfac, -1)
        XCTAssertEqual(header.qformCode, 1)
        XCTAssertEqual(header.sformCode, 0)
        XCTAssertEqual(NIfTIHeader.transformCodeName(header.qformCode), "scanner")
        XCTAssertEqual(header.dataOffset, 352)
        XCTAssertEqual(try header.bestAffine(), try header.qformAffine())
        XCTAssertEqual(try header.qformAffine().axisCodes, try NIfTIReader.read(contentsOf: fixture("qform_only.nii")).orientation)

        let nifti2 = try NIfTIReader.readHeader(contentsOf: fixture("nifti2_float32_be.nii.gz"))
        XCTAssertEqual(nifti2.version, 2)
        XCTAssertEqual(nifti2.byteOrder, .bigEndian)
        XCTAssertEqual(nifti2.dataOffset, 544)
        XCTAssertEqual(nifti2.datatype.name, "float32")

        let scaled = try NIfTIReader.readHeader(contentsOf: fixture("scaled_int16.nii"))
        XCTAssertEqual(scaled.sclSlope, 0.5)
        XCTAssertEqual(scaled.sclInter, -10)
        XCTAssertNil(try NIfTIReader.readHeader(contentsOf: fixture("slope_zero.nii")).scaling())
        XCTAssertEqual(try NIfTIReader.readHeader(contentsOf: fixture("offset_480.nii")).dataOffset, 480)
    }

    func testRealHeaders() throws {
        let anatomical = try NIfTIReader.readHeader(contentsOf: try Fixtures.requiredAsset("imaging/anatomical.nii"))
        XCTAssertEqual(anatomical.byteOrder, .bigEndian)
        XCTAssertEqual(anatomical.voxOffset, 352)
        XCTAssertEqual(anatomical.dataOffset, 352)
        let functional = try NIfTIReader.readHeader(contentsOf: try Fixtures.requiredAsset("imaging/functional.nii"))
        XCTAssertEqual(functional.shape, [17, 21, 3, 20])
        XCTAssertEqual(functional.xyztUnits, 10)
        XCTAssertEqual(functional.spatialUnit, "mm")
        XCTAssertEqual(functional.temporalUnit, "sec")
        XCTAssertEqual(functional.description, "spm - 3D normalized")
        let example4d = try NIfTIReader.readHeader(contentsOf: try Fixtures.requiredAsset("imaging/example4d.nii.gz"))
        XCTAssertEqual(example4d.description, "FSL3.3")
        XCTAssertEqual(example4d.qformCode, 1)
        XCTAssertEqual(example4d.sformCode, 1)
        XCTAssertEqual(functional.pixdim[4], 2)
    }

    /// A plain file named `.nii.gz` is read as what it is (gzip is recognised by its magic).
    func testGzipIsRecognisedByContentNotName() throws {
        let folder = try Fixtures.temporaryDirectory(removedAfter: self)
        let plainNamedGz = folder.appendingPathComponent("plain.nii.gz")
        let gzipNamedPlain = folder.appendingPathComponent("compressed.nii")
        try FileManager.default.copyItem(at: fixture("int16_le.nii.gz"), to: gzipNamedPlain)
        try FileManager.default.copyItem(at: fixture("int16_le.nii"), to: plainNamedGz)
        XCTAssertEqual(try NIfTIReader.read(contentsOf: plainNamedGz).voxels, try NIfTIReader.read(contentsOf: fixture("int16_le.nii")).voxels)
        XCTAssertEqual(try NIfTIReader.read(contentsOf: gzipNamedPlain).voxels, try NIfTIReader.read(contentsOf: fixture("int16_le.nii.gz")).voxels)
    }

    // MARK: - Writing

    func labels(_ size: [Int], frames: Int = 1, largest: Int) -> [Float] {
        (0..<size.reduce(frames, *)).map { Float(($0 * 7919) % (largest + 1)) }
    }

    func testLabelMapOverSourceImageKeepsItsGeometry() throws {
        let folder = try Fixtures.temporaryDirectory(removedAfter: self)
        for sourceName in ["qform_only.nii", "both_transforms.nii", "sform_only.nii", "nifti2_int16_le.nii"] {
            let source = try NIfTIReader.read(contentsOf: fixture(sourceName))
            let sourceHeader = try NIfTIReader.readHeader(contentsOf: fixture(sourceName))
            let url = folder.appendingPathComponent("labels-\(sourceName).nii.gz")
            let written = source.replacingVoxels(labels(source.size, largest: 5), storedType: "uint8")
            try NIfTIWriter.writeLabelMap(written, to: url, header: sourceHeader)

            let back = try NIfTIReader.read(contentsOf: url)
            XCTAssertEqual(back.voxels, written.voxels, sourceName)
            XCTAssertEqual(back.storedType, "uint8")
            for (a, b) in zip(back.spacing, source.spacing) { XCTAssertEqual(a, Double(Float(b)), sourceName) }
            for (a, b) in zip(back.affine.matrix, source.affine.matrix) { XCTAssertEqual(a, b, accuracy: 1e-5, sourceName) }

            let header = try NIfTIReader.readHeader(contentsOf: url)
            XCTAssertEqual(header.qformCode, sourceHeader.qformCode, sourceName)
            XCTAssertEqual(header.sformCode, sourceHeader.sformCode, sourceName)
            XCTAssertEqual(header.xyztUnits, sourceHeader.xyztUnits, sourceName)
            XCTAssertEqual(header.qfac, sourceHeader.qfac, sourceName)
            for (a, b) in zip(header.quaternion + header.qoffset + header.srow + header.pixdim[1...4],
                              sourceHeader.quaternion + sourceHeader.qoffset + sourceHeader.srow + sourceHeader.pixdim[1...4]) {
                XCTAssertEqual(a, Double(Float(b)), sourceName)
            }
        }
    }

    /// The written bytes field by field: gzip, magic, offsets, type, scaling, display range, codes.
    func testLabelMapHeaderFields() throws {
        let folder = try Fixtures.temporaryDirectory(removedAfter: self)
        let url = folder.appendingPathComponent("labels.nii.gz")
        let affine = AffineTransform(rowMajor: [-0.8, 0, 0, 12.5, 0, 0.8, 0.1, -40, 0, 0, 2.5, 7, 0, 0, 0, 1])
        var values = labels([6, 5, 4], largest: 299)
        values[7] = 300
        let volume = Volume(size: [6, 5, 4], voxels: values, spacing: [0.8, 0.8, 2.5],
                            affine: affine, storedType: "int16")
        try NIfTIWriter.writeLabelMap(volume, to: url)

        let compressed = try Data(contentsOf: url)
        XCTAssertEqual(Array(compressed.prefix(2)), Gzip.magic)
        let bytes = [UInt8](try Gzip.inflate(compressed, file: url.path))
        func int16(_ at: Int) -> Int { Int(Int16(littleEndian: bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: at, as: Int16.self) })) }
        func float32(_ at: Int) -> Float {
            Float(bitPattern: UInt32(littleEndian: bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: at, as: UInt32.self) }))
        }
        XCTAssertEqual(bytes.count, 352 + 2 * 120)
        XCTAssertEqual(Int32(littleEndian: bytes.withUnsafeBytes { $0.loadUnaligned(as: Int32.self) }), 348)
        XCTAssertEqual(Array(bytes[344..<352]), Array("n+1\0".utf8) + [0, 0, 0, 0])
        XCTAssertEqual((0..<8).map { int16(40 + 2 * $0) }, [3, 6, 5, 4, 1, 1, 1, 1])
        XCTAssertEqual(int16(70), 4)               // int16: a label above 255
        XCTAssertEqual(int16(72), 16)              // bitpix
        XCTAssertEqual(float32(108), 352)          // vox_offset
        XCTAssertEqual(float32(112), 1)            // scl_slope
        XCTAssertEqual(float32(116), 0)            // scl_inter
        XCTAssertEqual(float32(124), 300)          // cal_max
        XCTAssertEqual(float32(128), 0)            // cal_min
        XCTAssertEqual(bytes[123], 2)              // mm
        XCTAssertEqual(int16(252), 0)              // qform_code
        XCTAssertEqual(int16(254), 2)              // sform_code: aligned
        XCTAssertEqual((0..<12).map { Double(float32(280 + 4 * $0)) }, affine.matrix[0..<12].map { Double(Float($0)) })
        XCTAssertEqual((1...3).map { float32(76 + 4 * $0) }, [0.8, 0.8, 2.5])

        let back = try NIfTIReader.read(contentsOf: url)
        XCTAssertEqual(back.voxels, volume.voxels)
        XCTAssertEqual(back.storedType, "int16")
        for (a, b) in zip(back.affine.matrix, affine.matrix) { XCTAssertEqual(a, b, accuracy: 1e-6) }
    }

    func testFloatWriterRoundTrips() throws {
        let folder = try Fixtures.temporaryDirectory(removedAfter: self)
        let source = try NIfTIReader.read(contentsOf: fixture("scaled_float32_be.nii"))
        let fourD = try NIfTIReader.read(contentsOf: fixture("four_d.nii.gz"))
        for (name, volume) in [("plain.nii", source), ("compressed.nii.gz", source), ("series.nii.gz", fourD)] {
            let url = folder.appendingPathComponent(name)
            try NIfTIWriter.write(volume, to: url)
            let data = try Data(contentsOf: url)
            XCTAssertEqual(Array(data.prefix(2)) == Gzip.magic, name.hasSuffix(".gz"), name)
            let back = try NIfTIReader.read(contentsOf: url)
            XCTAssertEqual(back.voxels, volume.voxels, name)
            XCTAssertEqual(back.size, volume.size, name)
            XCTAssertEqual(back.frames, volume.frames, name)
            XCTAssertEqual(back.spacing, volume.spacing, name)
            XCTAssertEqual(back.storedType, "float32", name)
            XCTAssertEqual(back.affine, volume.affine, name)
            let header = try NIfTIReader.readHeader(contentsOf: url)
            XCTAssertEqual(header.datatype, .float32)
            XCTAssertEqual(header.dim[0], volume.frames > 1 ? 4 : 3)
            XCTAssertNil(try header.scaling())
        }
    }

    /// CT-like whole numbers stored as int16 come back exactly; values int16 cannot hold are refused, and
    /// nothing is left at the destination.
    func testInt16WriterKeepsHounsfieldUnitsAndRefusesOthers() throws {
        let folder = try Fixtures.temporaryDirectory(removedAfter: self)
        let hu: [Float] = [-1024, -1000, -1, 0, 40, 600, 3071, 32767, -32768, 7, 8, 9]
        let volume = Volume(size: [3, 2, 2], voxels: hu, spacing: [0.7, 0.7, 2.5], storedType: "int16")
        let url = folder.appendingPathComponent("ct.nii.gz")
        try NIfTIWriter.write(volume, to: url, as: .int16)
        let back = try NIfTIReader.read(contentsOf: url)
        XCTAssertEqual(back.voxels, hu)
        XCTAssertEqual(back.storedType, "int16")
        XCTAssertEqual(try NIfTIReader.readHeader(contentsOf: url).datatype, .int16)
        for bad: Float in [0.5, 32768, -32769, .nan] {
            let target = folder.appendingPathComponent("bad.nii.gz")
            let values = [bad] + Array(hu.dropFirst())
            XCTAssertThrowsError(try NIfTIWriter.write(volume.replacingVoxels(values, storedType: "float32"), to: target, as: .int16)) { error in
                XCTAssertTrue("\(error)".contains("cannot be written as Int16: voxel 0 holds"), "\(error)")
            }
            XCTAssertFalse(FileManager.default.fileExists(atPath: target.path))
        }
    }

    func testLabelMapRefusesNonLabelValues() throws {
        let folder = try Fixtures.temporaryDirectory(removedAfter: self)
        let url = folder.appendingPathComponent("labels.nii.gz")
        try Data("keep me".utf8).write(to: url)
        for bad: Float in [1.5, -1, 40000, .nan, .infinity] {
            var values = labels([3, 2, 2], largest: 3)
            values[5] = bad
            let volume = Volume(size: [3, 2, 2], voxels: values)
            assertFails(try NIfTIWriter.writeLabelMap(volume, to: url), url, containing: "voxel 5 holds")
        }
        let wrongSize = Volume(size: [3, 2, 2], voxels: labels([3, 2, 2], largest: 3))
        let header = try NIfTIReader.readHeader(contentsOf: fixture("int16_le.nii"))
        assertFails(try NIfTIWriter.writeLabelMap(wrongSize, to: url, header: header), url, containing: "geometry of a [5, 4, 3] image")
        XCTAssertEqual(try String(contentsOf: url, encoding: .utf8), "keep me")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder.path), ["labels.nii.gz"])

        let missingFolder = folder.appendingPathComponent("absent/labels.nii.gz")
        assertFails(try NIfTIWriter.writeLabelMap(wrongSize, to: missingFolder), missingFolder, containing: "cannot be written")
    }

    // MARK: - Bad input

    /// `expression` throws an `ImagingError` naming `url` whose problem contains `text`.
    func assertFails<T>(_ expression: @autoclosure () throws -> T, _ url: URL, containing text: String,
                        file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try expression(), file: file, line: line) { error in
            guard let error = error as? ImagingError else { return XCTFail("\(error) is not an ImagingError", file: file, line: line) }
            XCTAssertEqual(error.file, url.path, file: file, line: line)
            XCTAssertTrue(error.problem.contains(text), "\"\(error.problem)\" lacks \"\(text)\"", file: file, line: line)
        }
    }

    /// The bytes of fixture `name` changed by `edit`, written to a temporary file `as` (the fixture's name by default).
    func damaged(_ name: String, as newName: String? = nil, _ edit: (inout [UInt8]) -> Void) throws -> URL {
        var bytes = [UInt8](try Data(contentsOf: fixture(name)))
        edit(&bytes)
        let url = try Fixtures.temporaryDirectory(removedAfter: self).appendingPathComponent(newName ?? name)
        try Data(bytes).write(to: url)
        return url
    }

    func put<T: FixedWidthInteger>(_ value: T, at offset: Int, in bytes: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { bytes.replaceSubrange(offset..<offset + $0.count, with: $0) }
    }

    /// `url`'s read fails with `text` both as a plain file and gzip-compressed.
    func assertBothFail(_ url: URL, containing text: String, file: StaticString = #filePath, line: UInt = #line) throws {
        assertFails(try NIfTIReader.read(contentsOf: url), url, containing: text, file: file, line: line)
        let compressed = try Data(contentsOf: url).withUnsafeBytes { try Gzip.deflate($0, file: "") }
        let gzipURL = url.appendingPathExtension("gz")
        try compressed.write(to: gzipURL)
        assertFails(try NIfTIReader.read(contentsOf: gzipURL), gzipURL, containing: text, file: file, line: line)
    }

    func testTruncatedHeader() throws {
        try assertBothFail(try damaged("int16_le.nii") { $0.removeLast($0.count - 200) }, containing: "is truncated: 200 bytes")
        try assertBothFail(try damaged("nifti2_int16_le.nii") { $0.removeLast($0.count - 400) }, containing: "NIfTI-2 header (540 bytes)")
        try assertBothFail(try damaged("int16_le.nii") { $0 = [1, 2] }, containing: "is truncated: 2 bytes")
    }

    func testTruncatedVoxels() throws {
        try assertBothFail(try damaged("int16_le.nii") { $0.removeLast(10) },
                           containing: "header promises 120 bytes of voxels at offset 352, the file holds 462 bytes")
        try assertBothFail(try damaged("offset_480.nii") { $0.removeLast($0.count - 400) },
                           containing: "header promises 120 bytes of voxels at offset 480, the file holds 400 bytes")
    }

    func testNotNIfTI() throws {
        try assertBothFail(try damaged("int16_le.nii") { put(Int32(349), at: 0, in: &$0) }, containing: "is not a NIfTI file (sizeof_hdr reads 349")
        try assertBothFail(try damaged("int16_le.nii") { $0[344] = UInt8(ascii: "x") }, containing: "magic \"x+1\"")
        try assertBothFail(try damaged("int16_le.nii") { $0[345] = UInt8(ascii: "i") }, containing: ".hdr/.img pair")
        try assertBothFail(try damaged("nifti2_int16_le.nii") { $0[8] = 0x0A }, containing: "line-ending conversion")
        try assertBothFail(try damaged("int16_le.nii") { put(Int16(0), at: 40, in: &$0) }, containing: "dim[0] = 0")
        try assertBothFail(try damaged("int16_le.nii") { put(Int16(8), at: 40, in: &$0) }, containing: "dim[0] = 8")
        try assertBothFail(try damaged("int16_le.nii") { $0.withUnsafeMutableBytes { $0.storeBytes(of: Float(100).bitPattern, toByteOffset: 108, as: UInt32.self) } },
                           containing: "vox_offset 100 inside its header")
        let empty = try damaged("int16_le.nii") { $0 = [] }
        assertFails(try NIfTIReader.read(contentsOf: empty), empty, containing: "is truncated: 0 bytes")
        let missing = fixture("absent.nii")
        assertFails(try NIfTIReader.read(contentsOf: missing), missing, containing: "no such file")
        assertFails(try NIfTIReader.read(contentsOf: Self.folder), Self.folder, containing: "is a directory")
    }

    func testBadDimensions() throws {
        try assertBothFail(try damaged("int16_le.nii") { put(Int16(0), at: 44, in: &$0) }, containing: "dim[2] = 0")
        try assertBothFail(try damaged("int16_le.nii") { put(Int16(-3), at: 46, in: &$0) }, containing: "dim[3] = -3")
        try assertBothFail(try damaged("int16_le.nii") { put(Int16(6), at: 40, in: &$0); put(Int16(2), at: 52, in: &$0) },
                           containing: "dim[6] must be 1, not 2")
        // 2^31 voxels along each of three axes: 2^93 samples.
        try assertBothFail(try damaged("nifti2_int16_le.nii") { for axis in 1...3 { put(Int64(1) << 31, at: 16 + 8 * axis, in: &$0) } },
                           containing: "voxel count overflows")
        // 2^62 int16 samples do not overflow the count but do the byte count.
        try assertBothFail(try damaged("nifti2_int16_le.nii") { put(Int64(1) << 62, at: 24, in: &$0); put(Int64(1), at: 32, in: &$0); put(Int64(1), at: 40, in: &$0) },
                           containing: "byte count overflows")
    }

    /// Huge promised sizes fail before anything that size is allocated.
    func testHugePromisesFailWithoutAllocating() throws {
        let huge = try damaged("int16_le.nii") { for axis in 1...4 { put(Int16(32767), at: 40 + 2 * axis, in: &$0) }; put(Int16(4), at: 40, in: &$0) }
        assertFails(try NIfTIReader.read(contentsOf: huge), huge, containing: "header promises 2305561547121623042 bytes of voxels")
        let compressed = try Data(contentsOf: huge).withUnsafeBytes { try Gzip.deflate($0, file: "") }
        let gzipURL = huge.appendingPathExtension("gz")
        try compressed.write(to: gzipURL)
        assertFails(try NIfTIReader.read(contentsOf: gzipURL), gzipURL, containing: "more than a gzip file of")
    }

    func testUnsupportedDataTypes() throws {
        for (code, name) in [(32, "complex64"), (128, "RGB24"), (2304, "RGBA32"), (1536, "float128"), (1, "binary"), (3, "unknown")] {
            let url = try damaged("int16_le.nii") { put(Int16(code), at: 70, in: &$0) }
            try assertBothFail(url, containing: "datatype \(name) (code \(code)), which is not supported")
            XCTAssertEqual(try NIfTIReader.readHeader(contentsOf: url).datatype.name, name)
        }
    }

    func testBadGzip() throws {
        let notGzip = try damaged("int16_le.nii.gz", as: "random.nii.gz") { $0 = Array(repeating: 0x41, count: 600) }
        assertFails(try NIfTIReader.read(contentsOf: notGzip), notGzip, containing: "is not a NIfTI file")
        let truncated = try damaged("int16_le.nii.gz") { $0.removeLast($0.count / 2) }
        assertFails(try NIfTIReader.read(contentsOf: truncated), truncated, containing: "gzip stream ends early")
        let noTrailer = try damaged("int16_le.nii.gz") { $0.removeLast(4) }
        assertFails(try NIfTIReader.read(contentsOf: noTrailer), noTrailer, containing: "gzip stream ends early")
        let badCRC = try damaged("int16_le.nii.gz") { $0[$0.count - 6] ^= 0xFF }
        assertFails(try NIfTIReader.read(contentsOf: badCRC), badCRC, containing: "incorrect data check")
        let corrupt = try damaged("int16_le.nii.gz") { for n in 20..<40 { $0[n] = 0xFF } }
        assertFails(try NIfTIReader.read(contentsOf: corrupt), corrupt, containing: "is not a valid gzip stream")
        let trailing = try damaged("int16_le.nii.gz") { $0 += Array("junk".utf8) }
        assertFails(try NIfTIReader.read(contentsOf: trailing), trailing, containing: "4 bytes of trailing data")
        let padded = try damaged("int16_le.nii.gz") { $0 += [0, 0, 0] }
        XCTAssertEqual(try NIfTIReader.read(contentsOf: padded).voxels, try NIfTIReader.read(contentsOf: fixture("int16_le.nii.gz")).voxels)
    }

    func testGzipRoundTripAcrossMembers() throws {
        let text = (0..<100_000).map { UInt8(truncatingIfNeeded: $0 * 31 / 7) }
        let first = try text[..<30_000].withUnsafeBytes { try Gzip.deflate($0, level: 9, file: "") }
        let second = try text[30_000...].withUnsafeBytes { try Gzip.deflate($0, level: 1, file: "") }
        XCTAssertEqual([UInt8](try Gzip.inflate(first + second, file: "two")), text)
        XCTAssertEqual([UInt8](try Gzip.inflate(try [UInt8]().withUnsafeBytes { try Gzip.deflate($0, file: "") }, file: "empty")), [])
    }
}

extension Gzip {
    /// The whole content of the gzip stream `compressed` through the reader NIfTI decoding uses
    /// (trailer and concatenated members checked), for tests of the writer's output.
    static func inflate(_ compressed: Data, file: String) throws -> Data {
        try compressed.withUnsafeBytes { bytes in
            try withReader(over: bytes, file: file) { reader in
                var output = Data()
                var chunk = [UInt8](repeating: 0, count: 1 << 20)
                while true {
                    let count = try chunk.withUnsafeMutableBytes { try reader.read(into: $0) }
                    output.append(contentsOf: chunk[0..<count])
                    if count < chunk.count { return output }
                }
            }
        }
    }
}
