import Foundation
import MedicalImaging
import TestSupport
import XCTest

/// Real DICOM files (pydicom's test files and pydicom-data, fetched into `assets/imaging/` by `make test`)
/// against pydicom's `pixel_array` as summarised in `Tests/Fixtures/imaging/dicom/expected_assets.json`.
final class DICOMAssetTests: XCTestCase {
    struct Expected: Decodable {
        let shape: [Int]
        let rawSHA256: String
        let rawMin: Float
        let rawMax: Float
        let samples: [String: Float]
        let valuesSHA256: String
        let valuesMin: Float
        let valuesMax: Float
        let window: [Double]?
        let transferSyntax: String
    }

    static let expected: [String: Expected] = {
        let url = Fixtures.url("imaging/dicom/expected_assets.json")
        return try! JSONDecoder().decode([String: Expected].self, from: Data(contentsOf: url))
    }()

    func asset(_ name: String) throws -> URL { try Fixtures.requiredAsset("imaging/\(name)") }

    static func digest(_ values: [Float]) -> String { SHA256.hex(float32LittleEndian: values) }

    func testEveryAssetDecodesAsPydicomDoes() throws {
        XCTAssertEqual(Self.expected.count, 19)
        for (name, expected) in Self.expected.sorted(by: { $0.key < $1.key }) {
            let dicom = try DICOMFile.read(contentsOf: try asset(name))
            XCTAssertEqual(dicom.transferSyntax.uid, expected.transferSyntax, name)
            let rawFrames = try dicom.rawFrames()
            XCTAssertEqual([rawFrames.count, rawFrames[0].channels, rawFrames[0].height, rawFrames[0].width], expected.shape, name)
            let raw = rawFrames.flatMap(\.pixels)
            XCTAssertEqual(raw.min(), expected.rawMin, name)
            XCTAssertEqual(raw.max(), expected.rawMax, name)
            for (index, value) in expected.samples { XCTAssertEqual(raw[Int(index)!], value, "\(name)[\(index)]") }
            XCTAssertEqual(Self.digest(raw), expected.rawSHA256, "\(name): stored values differ from pydicom's")
            let values = try dicom.images().flatMap(\.pixels)
            XCTAssertEqual(values.min(), expected.valuesMin, name)
            XCTAssertEqual(values.max(), expected.valuesMax, name)
            if expected.valuesSHA256 == expected.rawSHA256 {
                XCTAssertEqual(values, raw, "\(name): no rescale or inversion, yet values differ from the stored ones")
            } else {
                XCTAssertEqual(Self.digest(values), expected.valuesSHA256, "\(name): modality values differ")
            }
            XCTAssertEqual(dicom.window.map { [$0.center, $0.width] }, expected.window, name)
        }
    }

    func testCTIsInHounsfieldUnits() throws {
        let dicom = try DICOMFile.read(contentsOf: try asset("CT_small.dcm"))
        XCTAssertEqual(dicom.modality, "CT")
        XCTAssertEqual(dicom.pixelSpacing, [0.661468, 0.661468])
        let raw = try dicom.rawFrames()[0].pixels, image = try dicom.image()
        XCTAssertEqual(image.pixels, raw.map { $0 - 1024 })
        XCTAssertEqual(image.bitDepth, 16)
        XCTAssertEqual(image.pixelSpacing, [0.661468, 0.661468])
    }

    func testMonochrome1RadiographIsMirrored() throws {
        let dicom = try DICOMFile.read(contentsOf: try asset("RG1_UNCR.dcm"))
        let raw = try dicom.rawFrames()[0].pixels, values = try dicom.image().pixels
        XCTAssertEqual(values, raw.map { 32767 - $0 })  // 15 bits stored, no rescale
        XCTAssertEqual(dicom.window?.center, 32767 - 15000)
    }

    func testEncodingsOfOneImageAgree() throws {
        let reference = try DICOMFile.read(contentsOf: try asset("MR_small.dcm")).rawFrames()
        for name in ["MR_small_RLE.dcm", "MR_small_bigendian.dcm", "MR_small_implicit.dcm", "MR_small_expb.dcm", "MR_small_padded.dcm"] {
            XCTAssertEqual(try DICOMFile.read(contentsOf: try asset(name)).rawFrames(), reference.map { frame in
                Image2D(width: frame.width, height: frame.height, channels: frame.channels, pixels: frame.pixels,
                        bitDepth: frame.bitDepth, source: try? asset(name))
            }.map { var image = $0; image.pixelSpacing = reference[0].pixelSpacing; return image }, name)
        }
        let rgb = try DICOMFile.read(contentsOf: try asset("SC_rgb.dcm")).image().pixels
        for name in ["SC_rgb_expb.dcm", "SC_rgb_rle.dcm"] {
            XCTAssertEqual(try DICOMFile.read(contentsOf: try asset(name)).image().pixels, rgb, name)
        }
    }

    func testMultiFrameTwinsGiveTheSameVolume() throws {
        let reference = try DICOMFile.read(contentsOf: try asset("emri_small.dcm")).volume()
        XCTAssertEqual(reference.size, [64, 64, 10])
        XCTAssertEqual(reference.spacing, [1, 1, 1.2])  // no Pixel Spacing; Spacing Between Slices 1.2
        XCTAssertEqual(reference.storedType, "uint16")
        for name in ["emri_small_RLE.dcm", "emri_small_big_endian.dcm"] {
            let volume = try DICOMFile.read(contentsOf: try asset(name)).volume()
            XCTAssertEqual(volume.voxels, reference.voxels, name)
            XCTAssertEqual(volume.affine, reference.affine, name)
            XCTAssertEqual(volume.spacing, reference.spacing, name)
        }
        // A series of one multi-frame file is that file's volume.
        let folder = try Fixtures.temporaryDirectory(removedAfter: self)
        try FileManager.default.copyItem(at: try asset("emri_small.dcm"), to: folder.appendingPathComponent("emri_small.dcm"))
        let series = try DICOMSeries.read(folder: folder)
        XCTAssertEqual(series.voxels, reference.voxels)
        XCTAssertEqual(series.source, folder)
    }

    /// emri_small states no patient geometry: its axial slices are displayed as stored (pydicom's
    /// `pixel_array[k]`), not mirrored.
    func testMultiFrameWithoutGeometryIsDisplayedAsStored() throws {
        let dicom = try DICOMFile.read(contentsOf: try asset("emri_small.dcm"))
        let frames = try dicom.images(), volume = try dicom.volume()
        XCTAssertEqual(try volume.sliceCount(axis: .axial), frames.count)
        for k in [0, frames.count - 1] {
            XCTAssertEqual(try volume.slice(k, axis: .axial).pixels, frames[k].pixels, "axial slice \(k)")
        }
    }

    func assertRefused(_ name: String, containing text: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let url = try asset(name)
        XCTAssertThrowsError(try DICOMFile.read(contentsOf: url).rawFrames(), file: file, line: line) { error in
            XCTAssertEqual((error as? ImagingError)?.file, url.path, file: file, line: line)
            XCTAssertTrue("\(error)".contains(text), "\(error)", file: file, line: line)
        }
    }

    func testCompressedSyntaxesAreRefusedByName() throws {
        try assertRefused("MR_small_jp2klossless.dcm", containing: "uses JPEG 2000 Image Compression (Lossless Only) "
            + "(1.2.840.10008.1.2.4.90), which RadProbe cannot decode; convert it with e.g. `gdcmconv --raw`")
        try assertRefused("emri_small_jpeg_2k_lossless.dcm", containing: "(1.2.840.10008.1.2.4.90), which RadProbe cannot decode")
        try assertRefused("MR_small_jpeg_ls_lossless.dcm", containing: "uses JPEG-LS Lossless Image Compression (1.2.840.10008.1.2.4.80)")
        try assertRefused("emri_small_jpeg_ls_lossless.dcm", containing: "uses JPEG-LS Lossless Image Compression (1.2.840.10008.1.2.4.80)")
        // The data set itself still parses.
        XCTAssertEqual(try DICOMFile.read(contentsOf: try asset("MR_small_jp2klossless.dcm")).modality, "MR")
    }

    func testFilesWithoutUsablePixels() throws {
        try assertRefused("rtplan.dcm", containing: "has no Pixel Data (7FE0,0010): it holds no image (modality RTPLAN)")
        try assertRefused("MR_truncated.dcm", containing: "is truncated: element (7FE0,0010) declares 8192 bytes, 8130 remain")
        // pydicom's no_meta.dcm is CT_small.dcm less its first 335 bytes: it starts with the last (padding)
        // byte of the meta group, one byte before the data set, so no element can be read from it (pydicom
        // reads it as a single unknown element).
        try assertRefused("no_meta.dcm", containing: "is not a DICOM file")
        let ct = [UInt8](try Data(contentsOf: try asset("CT_small.dcm")))
        let noMeta = [UInt8](try Data(contentsOf: try asset("no_meta.dcm")))
        XCTAssertEqual(Array(ct.suffix(noMeta.count)), noMeta)
        let headerless = try DICOMFile.decode(Array(noMeta.dropFirst()), file: "no_meta less one byte")
        XCTAssertEqual(headerless.transferSyntax, .explicitVRLittleEndian)
        XCTAssertEqual(try headerless.rawFrames(), try DICOMFile.decode(ct, file: "no_meta less one byte").rawFrames())
    }

    func testCutsOfARealFileFailCleanly() throws {
        for name in ["MR_small.dcm", "MR_small_RLE.dcm", "MR_small_implicit.dcm", "MR_small_bigendian.dcm", "emri_small_RLE.dcm"] {
            let bytes = [UInt8](try Data(contentsOf: try asset(name)))
            for cut in stride(from: 0, to: bytes.count, by: 37) {
                let label = "\(name) cut at \(cut)"
                XCTAssertThrowsError(try DICOMFile.decode(Array(bytes[..<cut]), file: label).rawFrames(), label) { error in
                    XCTAssertEqual((error as? ImagingError)?.file, label, "\(error)")
                }
            }
        }
    }
}
