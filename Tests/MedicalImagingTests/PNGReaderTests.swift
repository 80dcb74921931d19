import Foundation
import MedicalImaging
import TestSupport
import XCTest

/// PNG decoding against `Tests/Fixtures/imaging/png/expected.json` (see scripts/make_imaging_fixtures.py).
final class PNGReaderTests: XCTestCase {
    struct Expected: Decodable {
        let width: Int
        let height: Int
        let channels: Int
        let bitDepth: Int
        let pixels: [Int]
    }

    static let expected: [String: Expected] = {
        let url = Fixtures.url("imaging/png/expected.json")
        return try! JSONDecoder().decode([String: Expected].self, from: Data(contentsOf: url))
    }()

    func png(_ name: String) -> URL { Fixtures.url("imaging/png/\(name)") }

    /// A fresh temporary folder, removed when the test ends.
    func temporaryFolder() throws -> URL { try Fixtures.temporaryDirectory(removedAfter: self) }

    /// Decodes `name` and checks size, channels, bit depth and every value exactly.
    func assertDecodes(_ name: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let expected = try XCTUnwrap(Self.expected[name], "no expectation for \(name)", file: file, line: line)
        let image = try PNGReader.read(contentsOf: png(name))
        XCTAssertEqual(image.width, expected.width, name, file: file, line: line)
        XCTAssertEqual(image.height, expected.height, name, file: file, line: line)
        XCTAssertEqual(image.channels, expected.channels, name, file: file, line: line)
        XCTAssertEqual(image.bitDepth, expected.bitDepth, name, file: file, line: line)
        XCTAssertEqual(image.source?.lastPathComponent, name, file: file, line: line)
        XCTAssertEqual(image.pixels, expected.pixels.map(Float.init), "\(name): values differ", file: file, line: line)
    }

    func testEveryFixtureDecodesAsExpected() throws {
        let folder = Fixtures.url("imaging/png")
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path)
            .filter { $0.hasSuffix(".png") && $0 != "corrupt_idat.png" }.sorted()
        XCTAssertEqual(names, Self.expected.keys.sorted())
        for name in names { try assertDecodes(name) }
    }

    func testGrey8() throws { try assertDecodes("grey8.png") }

    func testGrey16ExactValues() throws {
        try assertDecodes("grey16.png")
        let image = try PNGReader.read(contentsOf: png("grey16.png"))
        XCTAssertEqual(image.pixels.min(), 0)
        XCTAssertEqual(image.pixels.max(), 65535)
        XCTAssertEqual(image.maximumValue, 65535)
    }

    /// gAMA 1/2.2, cHRM and sRGB chunks must not change 16-bit values (libpng's simplified API would
    /// convert them to linear light).
    func testGrey16WithColourSpaceChunksKeepsRawValues() throws {
        try assertDecodes("grey16_gamma.png")
        let plain = try PNGReader.read(contentsOf: png("grey16.png"))
        XCTAssertEqual(try PNGReader.read(contentsOf: png("grey16_gamma.png")).pixels, plain.pixels)
    }

    func testGrey16Interlaced() throws { try assertDecodes("grey16_interlaced.png") }
    func testRGB8() throws { try assertDecodes("rgb8.png") }
    func testRGB8AllRowFilters() throws { try assertDecodes("rgb8_filters.png") }
    func testRGB16() throws { try assertDecodes("rgb16.png") }
    func testRGBA8DropsAlpha() throws { try assertDecodes("rgba8.png") }
    /// 16-bit alpha far from opaque: the colour values must come back un-premultiplied.
    func testRGBA16DropsAlphaWithoutPremultiplying() throws { try assertDecodes("rgba16.png") }
    func testGreyAlpha8DropsAlpha() throws { try assertDecodes("grey_alpha8.png") }
    func testGreyAlpha16DropsAlphaWithoutPremultiplying() throws { try assertDecodes("grey_alpha16.png") }
    func testPalette8ToRGB() throws { try assertDecodes("palette8.png") }
    func testPalette2WithTransparencyToRGB() throws { try assertDecodes("palette2_trns.png") }
    func testGrey1Expanded() throws { try assertDecodes("grey1.png") }
    func testGrey4Expanded() throws { try assertDecodes("grey4.png") }
    func testGrey2WithTransparencyExpanded() throws { try assertDecodes("grey2_trns.png") }

    func testTensorLayoutIsChannelsHeightWidth() throws {
        let image = try PNGReader.read(contentsOf: png("rgb8.png"))
        let tensor = image.tensor
        XCTAssertEqual(tensor.shape, [3, image.height, image.width])
        XCTAssertEqual(tensor[2, 4, 3], image[channel: 2, y: 4, x: 3])
        XCTAssertEqual(tensor[2, 4, 3], image.pixels[(2 * image.height + 4) * image.width + 3])
        XCTAssertEqual(Image2D(tensor, bitDepth: 8, source: image.source), image)
    }

    // MARK: - Errors

    /// Reading `url` throws an `ImagingError` naming `url.path` whose problem contains `fragment`.
    func assertImagingError(_ url: URL, _ fragment: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try PNGReader.read(contentsOf: url), file: file, line: line) { error in
            guard let error = error as? ImagingError else {
                return XCTFail("\(url.lastPathComponent): \(error) is not an ImagingError", file: file, line: line)
            }
            XCTAssertEqual(error.file, url.path, file: file, line: line)
            XCTAssertTrue(error.description.hasPrefix("\(url.path): "), error.description, file: file, line: line)
            XCTAssertTrue(error.problem.contains(fragment), "\(error) lacks \"\(fragment)\"", file: file, line: line)
        }
    }

    func testMissingFile() throws {
        let folder = try temporaryFolder()
        assertImagingError(folder.appendingPathComponent("absent.png"), "no such file")
        assertImagingError(folder, "is a directory")
    }

    func testWrongSignature() throws {
        let folder = try temporaryFolder()
        let url = folder.appendingPathComponent("photo.png")
        try Data([0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, 0x4A, 0x46, 0x49, 0x46, 0x00]).write(to: url)  // a JPEG header
        assertImagingError(url, "is not a PNG file (wrong signature")
        let text = folder.appendingPathComponent("notes.png")
        try Data("not an image at all\n".utf8).write(to: text)
        assertImagingError(text, "wrong signature")
        let empty = folder.appendingPathComponent("empty.png")
        try Data().write(to: empty)
        assertImagingError(empty, "is empty")
    }

    func testTruncatedFiles() throws {
        let folder = try temporaryFolder()
        let whole = try Data(contentsOf: png("grey16.png"))
        // Inside the signature, inside IHDR, inside IDAT, just before IEND, and inside IEND.
        for length in [5, 8, 20, 33, 60, whole.count - 12, whole.count - 1] {
            let url = folder.appendingPathComponent("cut_\(length).png")
            try whole.prefix(length).write(to: url)
            assertImagingError(url, "is truncated")
        }
    }

    /// The stored CRC of IDAT altered (the data itself intact).
    func testCRCErrorIsReported() throws {
        let folder = try temporaryFolder()
        var bytes = [UInt8](try Data(contentsOf: png("grey16.png")))
        let idat = try XCTUnwrap((4..<bytes.count - 4).first { bytes[$0..<$0 + 4] == [0x49, 0x44, 0x41, 0x54][...] })
        let length = bytes[idat - 4..<idat].reduce(0) { $0 << 8 | Int($1) }
        bytes[idat + 4 + length] ^= 0x01
        let url = folder.appendingPathComponent("bad_crc.png")
        try Data(bytes).write(to: url)
        assertImagingError(url, "CRC")
    }

    /// A damaged zlib stream with a valid CRC: only decoding finds it; it must throw, not crash.
    func testCorruptImageDataIsReported() {
        assertImagingError(png("corrupt_idat.png"), "is not a valid PNG (libpng:")
    }

    func testErrorDescription() {
        let error = ImagingError(file: "/x/y.png", problem: "is truncated")
        XCTAssertEqual(error.description, "/x/y.png: is truncated")
        XCTAssertEqual("\(error)", "/x/y.png: is truncated")
    }

    /// A header promising 30000 × 30000 pixels over a few bytes of image data is refused before
    /// anything of that size is allocated.
    func testHeaderPromisingFarMorePixelsThanTheFileHoldsIsRefused() throws {
        var bytes = [UInt8](try PNGWriter.encode(Image2D(width: 1, height: 1, channels: 1, pixels: [7])))
        // IHDR data starts at byte 16 (8 signature + 4 length + 4 type); width and height are big-endian.
        let side: [UInt8] = [0x00, 0x00, 0x75, 0x30]  // 30000
        bytes.replaceSubrange(16..<20, with: side)
        bytes.replaceSubrange(20..<24, with: side)
        let crc = Self.crc32(Array(bytes[12..<29]))  // chunk type + 13 data bytes
        bytes.replaceSubrange(29..<33, with: (0..<4).map { UInt8(truncatingIfNeeded: crc >> (24 - 8 * UInt32($0))) })
        XCTAssertThrowsError(try PNGReader.decode(Data(bytes), file: "huge.png")) { error in
            XCTAssertTrue("\(error)".hasPrefix("huge.png: is corrupt: its header promises 30000×30000 pixels"), "\(error)")
        }
    }

    /// CRC-32 as PNG chunks use it (ISO 3309, reflected, polynomial 0xEDB88320).
    static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        return ~crc
    }
}
