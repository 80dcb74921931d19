import Foundation
@testable import MedicalImaging
import TestSupport
import XCTest

/// `DICOMFile.displayImages()` against pydicom 2.3.1's `convert_color_space(…, "YBR_FULL", "RGB")` and
/// `apply_color_lut` (see scripts/make_dicom_fixtures.py): the synthetic colour files in `expected.json`
/// value by value, the real ones (pydicom-data) and every 8-bit YCbCr triple by SHA-256.
final class DICOMColourTests: XCTestCase {
    /// An entry of `expected.json` (the series entry has no shape or raw values).
    struct Synthetic: Decodable {
        let shape: [Int]?
        let raw: [Float]?
        let display: [Float]?
    }

    struct ColourAssets: Decodable {
        struct RealFile: Decodable {
            let shape: [Int]
            let sha256: String
            let min: Float
            let max: Float
            let samples: [String: Float]
            let bitDepth: Int
        }
        let files: [String: RealFile]
        let ybrCubeSHA256: String
    }

    static let synthetic: [String: Synthetic] = {
        let url = Fixtures.url("imaging/dicom/expected.json")
        return try! JSONDecoder().decode([String: Synthetic].self, from: Data(contentsOf: url))
    }()

    static let assets: ColourAssets = {
        let url = Fixtures.url("imaging/dicom/expected_colour_assets.json")
        return try! JSONDecoder().decode(ColourAssets.self, from: Data(contentsOf: url))
    }()

    func fixture(_ name: String) -> URL { Fixtures.url("imaging/dicom/\(name)") }

    static func digest(_ values: [Float]) -> String { SHA256.hex(float32LittleEndian: values) }

    func assertRefused(_ url: URL, containing text: String, file: StaticString = #filePath, line: UInt = #line,
                       _ body: (URL) throws -> Void) {
        XCTAssertThrowsError(try body(url), file: file, line: line) { error in
            XCTAssertEqual((error as? ImagingError)?.file, url.path, "\(error)", file: file, line: line)
            XCTAssertTrue("\(error)".contains(text), "\(error)", file: file, line: line)
        }
    }

    func testSyntheticColourFilesDisplayAsPydicomConvertsThem() throws {
        let bitDepths = ["ybr_full.dcm": 8, "ybr_full_rle.dcm": 8, "ybr_full_422_rle.dcm": 8, "palette_lut16.dcm": 16,
                         "palette_lut8.dcm": 8]
        XCTAssertEqual(Set(Self.synthetic.filter { $0.value.display != nil }.keys), Set(bitDepths.keys))
        for (name, bitDepth) in bitDepths.sorted(by: { $0.key < $1.key }) {
            let expected = try XCTUnwrap(Self.synthetic[name])
            let shape = try XCTUnwrap(expected.shape)
            let dicom = try DICOMFile.read(contentsOf: fixture(name))
            let images = try dicom.displayImages()
            XCTAssertEqual([images.count, images[0].channels, images[0].height, images[0].width],
                           [shape[0], 3, shape[2], shape[3]], name)
            XCTAssertEqual(images.flatMap(\.pixels), expected.display, "\(name): RGB differs from pydicom's")
            XCTAssertEqual(images.map(\.bitDepth), Array(repeating: bitDepth, count: images.count), name)
            // `images()` keeps the stored samples (YBR or palette indices), as pydicom's `pixel_array`.
            XCTAssertEqual(try dicom.images().flatMap(\.pixels), expected.raw, name)
        }
        // The palettes' clamping is exercised: indices below the first mapped value and past the table.
        let indices = try XCTUnwrap(Self.synthetic["palette_lut8.dcm"]?.raw)
        XCTAssertTrue(indices.contains { $0 < 1000 } && indices.contains { $0 >= 1200 })
        let signed = try XCTUnwrap(Self.synthetic["palette_lut16.dcm"]?.raw)
        XCTAssertTrue(signed.contains { $0 < -32 } && signed.contains { $0 >= 32 })
    }

    func testGreyAndRGBDisplayAsTheirModalityValues() throws {
        for name in ["implicit_le.dcm", "mono1.dcm", "rgb_planar0.dcm", "rgb_rle.dcm"] {
            let dicom = try DICOMFile.read(contentsOf: fixture(name))
            XCTAssertEqual(try dicom.displayImages(), try dicom.images(), name)
        }
    }

    func testRealColourFilesDisplayAsPydicomConvertsThem() throws {
        XCTAssertEqual(Set(Self.assets.files.keys), ["SC_ybr_full_uncompressed.dcm", "OT-PAL-8-face.dcm"])
        for (name, expected) in Self.assets.files.sorted(by: { $0.key < $1.key }) {
            let images = try DICOMFile.read(contentsOf: try Fixtures.requiredAsset("imaging/\(name)")).displayImages()
            XCTAssertEqual([images.count, images[0].channels, images[0].height, images[0].width], expected.shape, name)
            let pixels = images.flatMap(\.pixels)
            XCTAssertEqual(pixels.min(), expected.min, name)
            XCTAssertEqual(pixels.max(), expected.max, name)
            for (index, value) in expected.samples { XCTAssertEqual(pixels[Int(index)!], value, "\(name)[\(index)]") }
            XCTAssertEqual(Self.digest(pixels), expected.sha256, "\(name): RGB differs from pydicom's")
            XCTAssertEqual(images[0].bitDepth, expected.bitDepth, name)
        }
    }

    /// Every (Y, Cb, Cr) byte triple, pixel `n = Y·65536 + Cb·256 + Cr`: the float32 rounding of pydicom's
    /// matrix product matters only near halves, so only the whole cube shows a conversion exact.
    func testYBRConversionOfEveryByteTripleMatchesPydicom() {
        let pixels = 1 << 24
        var planes = [Float](repeating: 0, count: 3 * pixels)
        for n in 0..<pixels {
            planes[n] = Float(n >> 16)
            planes[pixels + n] = Float((n >> 8) & 255)
            planes[2 * pixels + n] = Float(n & 255)
        }
        let rgb = DICOMColour.rgb(fromYBRFull: planes, pixels: pixels)
        XCTAssertEqual(SHA256.hex(rgb.map { UInt8($0) }), Self.assets.ybrCubeSHA256)
    }

    func testMedicalImageFileShowsColourAsRGB() throws {
        var urls = ["ybr_full.dcm", "ybr_full_422_rle.dcm", "palette_lut16.dcm"].map(fixture)
        for name in Self.assets.files.keys.sorted() {
            if let url = try? Fixtures.requiredAsset("imaging/\(name)") { urls.append(url) }
        }
        for url in urls {
            let read = try MedicalImageFile.read(contentsOf: url)
            guard case .image(let image) = read.content else { return XCTFail("\(url.lastPathComponent): not a 2D image") }
            XCTAssertEqual(image.channels, 3, url.lastPathComponent)
            XCTAssertEqual(image, try DICOMFile.read(contentsOf: url).displayImage(), url.lastPathComponent)
        }
        // Several frames make a volume, which holds one value per voxel.
        assertRefused(fixture("ybr_full_rle.dcm"), containing: "has colour pixels (3 samples per pixel)") {
            _ = try MedicalImageFile.read(contentsOf: $0)
        }
        assertRefused(fixture("palette_lut8.dcm"), containing: "has PALETTE COLOR pixels (indices into a colour table)") {
            _ = try MedicalImageFile.read(contentsOf: $0)
        }
    }

    func testUnusablePalettesAreRefusedNamingTheFile() {
        let segmented = "has a segmented palette (Segmented Red Palette Color Lookup Table Data (0028,1221)), "
            + "which RadProbe does not expand"
        let badDescriptor = "has a Red Palette Color Lookup Table Descriptor (0028,1101) of 100 entries, but its data "
            + "holds 40 bytes (100 or 200 expected)"
        for (name, text) in [("palette_segmented.dcm", segmented), ("palette_bad_descriptor.dcm", badDescriptor)] {
            assertRefused(fixture(name), containing: text) { _ = try DICOMFile.read(contentsOf: $0).displayImages() }
            assertRefused(fixture(name), containing: text) { _ = try MedicalImageFile.read(contentsOf: $0) }
        }
    }

    /// `bytes` with the one occurrence of `old` replaced by `new` (of the same length), written to a new file.
    func patched(_ name: String, _ old: [UInt8], _ new: [UInt8], as copy: String) throws -> URL {
        var bytes = [UInt8](try Data(contentsOf: fixture(name)))
        let starts = (0...(bytes.count - old.count)).filter { Array(bytes[$0 ..< $0 + old.count]) == old }
        XCTAssertEqual(starts.count, 1, "\(name) should hold \(old) once")
        let start = try XCTUnwrap(starts.first)
        bytes.replaceSubrange(start ..< start + old.count, with: new)
        let url = try Fixtures.temporaryDirectory(removedAfter: self).appendingPathComponent(copy)
        try Data(bytes).write(to: url)
        return url
    }

    func testBadDescriptorsAndOtherColourSpacesAreRefused() throws {
        // Red descriptor (0028,1101) US [200, 1000, 8] → 12 bits per entry.
        let descriptor: [UInt8] = [0x28, 0x00, 0x01, 0x11, 0x55, 0x53, 0x06, 0x00, 0xC8, 0x00, 0xE8, 0x03]
        let twelveBits = try patched("palette_lut8.dcm", descriptor + [0x08, 0x00], descriptor + [0x0C, 0x00],
                                     as: "palette_12bit.dcm")
        assertRefused(twelveBits, containing: "Descriptor (0028,1101) with 12 bits per entry (8 or 16 expected)") {
            _ = try DICOMFile.read(contentsOf: $0).displayImages()
        }
        let ict = try patched("ybr_full.dcm", Array("YBR_FULL".utf8), Array("YBR_ICT ".utf8), as: "ybr_ict.dcm")
        let message = "has Photometric Interpretation YBR_ICT; RadProbe shows and embeds MONOCHROME1, MONOCHROME2, RGB, "
            + "YBR_FULL and PALETTE COLOR pixels and does not convert YBR_ICT yet"
        assertRefused(ict, containing: message) { _ = try DICOMFile.read(contentsOf: $0).displayImages() }
        assertRefused(ict, containing: message) { _ = try MedicalImageFile.read(contentsOf: $0) }
    }

    func testChromaSubsampledNativeYBRIsRefused() throws {
        let url = try Fixtures.requiredAsset("imaging/SC_ybr_full_422_uncompressed.dcm")
        let text = "has YBR_FULL_422 pixels (chroma subsampled), which RadProbe does not decode"
        assertRefused(url, containing: text) { _ = try DICOMFile.read(contentsOf: $0).displayImages() }
        assertRefused(url, containing: text) { _ = try MedicalImageFile.read(contentsOf: $0) }
    }
}
