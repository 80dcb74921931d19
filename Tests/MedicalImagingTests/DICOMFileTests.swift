import Foundation
import MedicalImaging
import Randomness
import TestSupport
import XCTest

/// DICOM parsing and pixel decoding against the synthetic files of `Tests/Fixtures/imaging/dicom/` and
/// the values pydicom 2.3.1 gives for them in `expected.json` (see scripts/make_dicom_fixtures.py).
final class DICOMFileTests: XCTestCase {
    struct Expected: Decodable {
        let transferSyntax: String?
        let shape: [Int]?
        let raw: [Float]?
        let values: [Float]?
        let window: [Double]?
        let pixelSpacing: [Double]?
        let storedType: String?
        let affine: [Double]?
        let spacing: [Double]?
        let size: [Int]?
        let voxels: [Float]?
        let sliceFiles: [String]?
        let referencedInstances: [String]?
        let anatomy: String?
        let hidden: String?
    }

    static let folder = Fixtures.url("imaging/dicom")
    static let expected: [String: Expected] = {
        let url = folder.appendingPathComponent("expected.json")
        return try! JSONDecoder().decode([String: Expected].self, from: Data(contentsOf: url))
    }()

    func fixture(_ name: String) -> URL { Self.folder.appendingPathComponent(name) }

    /// Raw and modality values, shape, window, spacing and stored type of `name` as pydicom gives them.
    func assertMatchesPydicom(_ name: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let expected = try XCTUnwrap(Self.expected[name], "no expectation for \(name)", file: file, line: line)
        let dicom = try DICOMFile.read(contentsOf: fixture(name))
        let raw = try dicom.rawFrames()
        let images = try dicom.images()
        let shape = try XCTUnwrap(expected.shape)
        XCTAssertEqual([raw.count, raw[0].channels, raw[0].height, raw[0].width], shape, name, file: file, line: line)
        XCTAssertEqual(dicom.frameCount, shape[0], name, file: file, line: line)
        XCTAssertEqual([dicom.rows, dicom.columns], [shape[2], shape[3]], name, file: file, line: line)
        XCTAssertEqual(raw.flatMap(\.pixels), expected.raw, "\(name): stored values differ", file: file, line: line)
        XCTAssertEqual(images.flatMap(\.pixels), expected.values, "\(name): modality values differ", file: file, line: line)
        XCTAssertEqual(dicom.window.map { [$0.center, $0.width] }, expected.window, "\(name): window", file: file, line: line)
        XCTAssertEqual(dicom.transferSyntax.uid, expected.transferSyntax, name, file: file, line: line)
        XCTAssertEqual(try dicom.pixelLayout().storedType, expected.storedType, name, file: file, line: line)
        if let spacing = expected.pixelSpacing {
            XCTAssertEqual(dicom.pixelSpacing, spacing, name, file: file, line: line)
            XCTAssertEqual(images[0].pixelSpacing, spacing, name, file: file, line: line)
        }
        XCTAssertEqual(images[0].bitDepth, try dicom.pixelLayout().bitsStored, name, file: file, line: line)
        XCTAssertEqual(images[0].source?.lastPathComponent, name, file: file, line: line)
    }

    func testEverySyntheticFileDecodesAsPydicomDoes() throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: Self.folder.path)
            .filter { $0.hasSuffix(".dcm") && !["other_series_slice.dcm", "series_mismatch_rows.dcm"].contains($0) }.sorted()
        XCTAssertEqual(names, Self.expected.keys.filter { $0.hasSuffix(".dcm") }.sorted())
        XCTAssertGreaterThanOrEqual(names.count, 17)
        for name in names { try assertMatchesPydicom(name) }
    }

    func testTransferSyntaxNamesAndEncodings() throws {
        let cases = ["implicit_le.dcm": "Implicit VR Little Endian", "explicit_le.dcm": "Explicit VR Little Endian",
                     "explicit_be.dcm": "Explicit VR Big Endian", "deflated.dcm": "Deflated Explicit VR Little Endian",
                     "multiframe_rle.dcm": "RLE Lossless", "no_meta_implicit.dcm": "Implicit VR Little Endian",
                     "no_meta_explicit.dcm": "Explicit VR Little Endian"]
        for (name, syntax) in cases {
            let dicom = try DICOMFile.read(contentsOf: fixture(name))
            XCTAssertEqual(dicom.transferSyntax.name, syntax, name)
            XCTAssertEqual(dicom.modality, name.hasPrefix("explicit") ? "MR" : "CT", name)
            XCTAssertEqual(dicom.dataSet.string(.patientID), "RADPROBE-TEST", name)
        }
        XCTAssertTrue(try DICOMFile.read(contentsOf: fixture("no_meta_implicit.dcm")).meta.elements.isEmpty)
        XCTAssertEqual(try DICOMFile.read(contentsOf: fixture("implicit_le.dcm")).meta.string(.transferSyntaxUID),
                       "1.2.840.10008.1.2")
    }

    func testTypedAccessors() throws {
        let dicom = try DICOMFile.read(contentsOf: fixture("implicit_le.dcm"))
        let dataSet = dicom.dataSet
        XCTAssertEqual(dataSet.doubles(.windowCenter), [40, 400])
        XCTAssertEqual(dataSet.strings(.windowWidth), ["400.0", "1500.0"])
        XCTAssertEqual(dataSet.int(.rows), 6)
        XCTAssertEqual(dataSet.int(.bitsStored), 12)
        XCTAssertEqual(dataSet.double(.rescaleIntercept), -1024)
        XCTAssertEqual(dataSet.string(.sopClassUID), "1.2.840.10008.5.1.4.1.1.2")
        XCTAssertEqual(dataSet.string(.studyDescription), "Synthetic fixture")
        XCTAssertNil(dataSet.string(.seriesDescription))
        XCTAssertNil(dataSet.doubles(.modality), "text that is not a number")
        XCTAssertEqual(DICOMTag.pixelData.description, "(7FE0,0010)")
        // Binary values in both byte orders.
        XCTAssertEqual(try DICOMFile.read(contentsOf: fixture("explicit_be.dcm")).dataSet.int(.columns), 6)
        XCTAssertEqual(try DICOMFile.read(contentsOf: fixture("explicit_be.dcm")).dataSet.int(.pixelRepresentation), 1)
    }

    func testNestedSequencesAndUNSequence() throws {
        let expected = try XCTUnwrap(Self.expected["explicit_le.dcm"])
        let dataSet = try DICOMFile.read(contentsOf: fixture("explicit_le.dcm")).dataSet
        let referenced = try XCTUnwrap(dataSet.sequence(DICOMTag(0x0008, 0x1140)))
        XCTAssertEqual(referenced.map { $0.string(DICOMTag(0x0008, 0x1155)) ?? "" }, expected.referencedInstances)
        let anatomy = try XCTUnwrap(referenced[0].sequence(DICOMTag(0x0008, 0x2218))?.first)
        XCTAssertEqual(anatomy.string(DICOMTag(0x0008, 0x0104)), expected.anatomy)
        XCTAssertEqual(anatomy.string(DICOMTag(0x0008, 0x0100)), "T-A0100")
        // The private UN element of undefined length is read as a sequence of implicit VR items.
        let hidden = try XCTUnwrap(dataSet.sequence(DICOMTag(0x0009, 0x1011))?.first)
        XCTAssertEqual(hidden.string(DICOMTag(0x0009, 0x1012)), expected.hidden)
        XCTAssertEqual(dataSet[DICOMTag(0x0009, 0x1011)]?.vr, "SQ")
        XCTAssertEqual(dataSet.string(DICOMTag(0x0009, 0x1010)), "RADPROBE")
    }

    func testBitsAboveHighBitAreIgnoredAndSignExtended() throws {
        let clean = try DICOMFile.read(contentsOf: fixture("signed12.dcm")).rawFrames()[0].pixels
        let junk = try DICOMFile.read(contentsOf: fixture("signed12_junk_high_bits.dcm")).rawFrames()[0].pixels
        XCTAssertEqual(junk, clean)
        XCTAssertLessThan(clean.min() ?? 0, 0)
        XCTAssertTrue(clean.allSatisfy { $0 >= -2048 && $0 <= 2047 })
    }

    func testMonochrome1IsMirroredOverTheRescaledStoredRange() throws {
        let dicom = try DICOMFile.read(contentsOf: fixture("mono1.dcm"))
        let raw = try dicom.rawFrames()[0].pixels
        let values = try dicom.image().pixels
        // Stored 0…1023 rescaled by 2x − 100 spans −100…1946: v' = −100 + 1946 − (2 raw − 100).
        XCTAssertEqual(values, raw.map { Float(1846 - (2 * Double($0) - 100)) })
        XCTAssertEqual(dicom.window?.center, 1846 - 700)
        XCTAssertEqual(dicom.window?.width, 1200)
    }

    func testColourPlanarAndInterleavedAgree() throws {
        let interleaved = try DICOMFile.read(contentsOf: fixture("rgb_planar0.dcm")).image()
        let planar = try DICOMFile.read(contentsOf: fixture("rgb_planar1.dcm")).image()
        XCTAssertEqual(interleaved.channels, 3)
        XCTAssertEqual(interleaved.pixels, planar.pixels)
        XCTAssertThrowsError(try DICOMFile.read(contentsOf: fixture("rgb_rle.dcm")).volume()) { error in
            XCTAssertTrue("\(error)".contains("colour"), "\(error)")
        }
    }

    func testMultiFrameVolumeFromFunctionalGroups() throws {
        let expected = try XCTUnwrap(Self.expected["multiframe.dcm"])
        var volumes: [Volume] = []
        for name in ["multiframe.dcm", "multiframe_rle.dcm", "multiframe_rle_no_bot.dcm"] {
            let dicom = try DICOMFile.read(contentsOf: fixture(name))
            let volume = try dicom.volume()
            XCTAssertEqual(volume.size, [5, 6, 3], name)
            XCTAssertEqual(volume.spacing, expected.spacing, name)
            XCTAssertEqual(volume.affine.matrix.map { $0 + 0 }, expected.affine?.map { $0 + 0 }, name)
            XCTAssertEqual(volume.voxels, expected.values, name)
            XCTAssertEqual(volume.storedType, "int16")
            XCTAssertEqual(dicom.pixelSpacing, [0.5, 0.75], name)
            volumes.append(volume)
            XCTAssertThrowsError(try dicom.image()) { error in
                XCTAssertTrue("\(error)".contains("has 3 frames"), "\(error)")
            }
        }
        XCTAssertEqual(volumes[0].orientation, "PIR")  // sagittal: columns toward P, rows toward I, slices toward R
    }

    /// Without Image Orientation/Position Patient, DICOM's own axes (LPS) are assumed, so the RAS+ affine
    /// negates x and y and the volume is displayed as stored.
    func testSingleFrameVolumeWithoutGeometryUsesDICOMAxes() throws {
        let volume = try DICOMFile.read(contentsOf: fixture("implicit_le.dcm")).volume()
        XCTAssertEqual(volume.size, [7, 6, 1])
        XCTAssertEqual(volume.spacing, [0.8, 0.7, 1])
        XCTAssertEqual(volume.affine, AffineTransform(rowMajor: [-0.8, 0, 0, 0, 0, -0.7, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]))
        XCTAssertEqual(volume.orientation, "LPS")
    }

    /// Frames sharing one top-level position (a cine series) are stacked along the normal by Slice
    /// Thickness instead of being refused as "two slices at the same position".
    func testMultiFrameWithOneTopLevelPositionStacksByThickness() throws {
        let expected = try XCTUnwrap(Self.expected["multiframe_one_position.dcm"])
        let volume = try DICOMFile.read(contentsOf: fixture("multiframe_one_position.dcm")).volume()
        XCTAssertEqual(volume.size, [6, 5, 4])
        XCTAssertEqual(volume.spacing, expected.spacing)
        for (got, want) in zip(volume.affine.matrix, try XCTUnwrap(expected.affine)) { XCTAssertEqual(got, want, accuracy: 1e-9) }
        XCTAssertEqual(volume.voxels, expected.values)
    }

    // MARK: - Bad input

    func assertFails(_ bytes: [UInt8], label: String, containing text: String,
                     file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try DICOMFile.decode(bytes, file: label).rawFrames(), file: file, line: line) { error in
            guard let error = error as? ImagingError else { return XCTFail("\(error) is not an ImagingError", file: file, line: line) }
            XCTAssertEqual(error.file, label, file: file, line: line)
            XCTAssertTrue(error.problem.contains(text), "\(error)", file: file, line: line)
        }
    }

    func testEveryCutOfAGoodFileFailsCleanly() throws {
        for name in ["explicit_le.dcm", "implicit_le.dcm", "explicit_be.dcm", "multiframe_rle.dcm", "deflated.dcm"] {
            let bytes = [UInt8](try Data(contentsOf: fixture(name)))
            // pydicom pads the deflate stream to an even length with a zero byte that no reader needs.
            let padding = name == "deflated.dcm" ? 1 : 0
            XCTAssertTrue(bytes.suffix(padding).allSatisfy { $0 == 0 })
            XCTAssertNoThrow(try DICOMFile.decode(Array(bytes.dropLast(padding))).rawFrames(), name)
            for cut in 0..<bytes.count - padding {
                XCTAssertThrowsError(try DICOMFile.decode(Array(bytes[..<cut]), file: "\(name)@\(cut)").rawFrames(),
                                     "\(name) cut at \(cut) of \(bytes.count)") { error in
                    XCTAssertEqual((error as? ImagingError)?.file, "\(name)@\(cut)", "\(error)")
                }
            }
        }
    }

    /// Random byte changes (a fixed seed) give a result or an `ImagingError`, never a crash.
    func testRandomCorruptionNeverCrashes() throws {
        var generator = SeededGenerator(seed: 2024)
        for name in ["explicit_le.dcm", "implicit_le.dcm", "multiframe.dcm", "multiframe_rle.dcm", "rgb_rle.dcm", "deflated.dcm"] {
            let original = [UInt8](try Data(contentsOf: fixture(name)))
            for trial in 0..<300 {
                var bytes = original
                for _ in 0..<(1 + trial % 4) {
                    bytes[128 + generator.integer(below: bytes.count - 128)] = UInt8(generator.integer(below: 256))
                }
                do {
                    let dicom = try DICOMFile.decode(bytes, file: "fuzzed")
                    _ = try dicom.images()
                    _ = try dicom.volume()
                    _ = dicom.window
                } catch let error as ImagingError {
                    XCTAssertEqual(error.file, "fuzzed")
                }
            }
        }
    }

    func testTruncationNamesTheElement() throws {
        let bytes = [UInt8](try Data(contentsOf: fixture("explicit_le.dcm")))
        assertFails(Array(bytes.dropLast(3)), label: "cut.dcm", containing: "is truncated: element (7FE0,0010) declares 40 bytes, 37 remain")
    }

    func testNotDICOM() throws {
        var generator = SystemRandomNumberGenerator()
        let garbage = (0..<1000).map { _ in UInt8.random(in: 0...255, using: &generator) }
        assertFails([0x47, 0x49, 0x46] + garbage, label: "garbage.bin", containing: "is not a DICOM file")
        assertFails([], label: "empty.dcm", containing: "is empty")
        assertFails(Array(repeating: 0, count: 500), label: "zeros.dcm", containing: "is not a DICOM file")
        XCTAssertThrowsError(try DICOMFile.read(contentsOf: fixture("no_such_file.dcm"))) { error in
            XCTAssertTrue("\(error)".contains("no such file"), "\(error)")
        }
        XCTAssertThrowsError(try DICOMFile.read(contentsOf: fixture("series/notes.txt"))) { error in
            XCTAssertTrue("\(error)".hasSuffix("notes.txt: is not a DICOM file (no \"DICM\" marker at byte 128, and it does not start with a data element of group 0002, 0004 or 0008)"), "\(error)")
        }
    }

    func testCorruptValuesAreReported() throws {
        var bytes = [UInt8](try Data(contentsOf: fixture("explicit_le.dcm")))
        // An invalid VR: the first data set element after the meta group.
        let metaEnd = 132 + 12 + Int(bytes[140]) | Int(bytes[141]) << 8
        var badVR = bytes
        badVR[metaEnd + 4] = 0x3F
        assertFails(badVR, label: "badvr.dcm", containing: "has an invalid VR")
        // A huge length.
        let pixelHeader = try XCTUnwrap(findPixelData(bytes))
        bytes[pixelHeader + 8] = 0xF0
        bytes[pixelHeader + 11] = 0x7F
        assertFails(bytes, label: "huge.dcm", containing: "is truncated: element (7FE0,0010) declares")
    }

    /// 8-bit samples in a big-endian OW element are read from swapped byte pairs: a 1 × 1 image whose
    /// Pixel Data holds one byte (no pad) is truncated, not read one byte past the end.
    func testOddLengthBigEndianOWIsTruncated() throws {
        let base64 = [
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAABESUNNAgAQAFVJFAAxLjIu",
            "ODQwLjEwMDA4LjEuMi4yAAAoAAJVUwACAAEAKAAEQ1MADE1PTk9DSFJPTUUyIAAoABBVUwACAAEAKAARVVMAAgABACgBAFVT",
            "AAIACAAoAQFVUwACAAgAKAECVVMAAgAHACgBA1VTAAIAAH/gABBPVwAAAAAAAQU=",
        ].joined()
        let bytes = [UInt8](try XCTUnwrap(Data(base64Encoded: base64)))
        assertFails(bytes, label: "odd_ow_be.dcm", containing: "is truncated: Pixel Data holds 1 bytes")
    }

    func testUnsupportedRLEAndPixelDataCorruption() throws {
        var bytes = [UInt8](try Data(contentsOf: fixture("multiframe_rle.dcm")))
        // Change the first frame's segment count from 2 to 3.
        let pixelHeader = try XCTUnwrap(findPixelData(bytes))
        let tableLength = Int(bytes[pixelHeader + 16])
        let firstFrame = pixelHeader + 12 + 8 + tableLength + 8
        XCTAssertEqual(bytes[firstFrame], 2)
        bytes[firstFrame] = 3
        assertFails(bytes, label: "rle.dcm", containing: "has corrupt RLE data in frame 1: 3 segments")
    }

    /// The offset of the last Pixel Data element header `E0 7F 10 00` in explicit VR LE bytes.
    func findPixelData(_ bytes: [UInt8]) -> Int? {
        (0..<(bytes.count - 4)).last { bytes[$0] == 0xE0 && bytes[$0 + 1] == 0x7F && bytes[$0 + 2] == 0x10 && bytes[$0 + 3] == 0 }
    }
}

