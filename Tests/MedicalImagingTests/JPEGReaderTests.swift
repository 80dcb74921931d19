import Foundation
import MedicalImaging
import TestSupport
import XCTest

/// JPEG decoding against Pillow's decoded arrays in `Tests/Fixtures/imaging/jpeg/NAME.npy`
/// (see scripts/make_jpeg_mat_fixtures.py), and refusal of bad input.
final class JPEGReaderTests: XCTestCase {
    func jpeg(_ name: String) -> URL { Fixtures.url("imaging/jpeg/\(name)") }

    func bytes(of name: String) throws -> Data { try Data(contentsOf: jpeg(name)) }

    /// Decodes `name`.jpg and checks shape, bit depth and every value against Pillow's exactly.
    func assertMatchesPillow(_ name: String, channels: Int, file: StaticString = #filePath, line: UInt = #line) throws {
        let expected = try Fixtures.array("imaging/jpeg/\(name).npy")
        let image = try JPEGReader.read(contentsOf: jpeg("\(name).jpg"))
        XCTAssertEqual([image.channels, image.height, image.width], expected.shape, name, file: file, line: line)
        XCTAssertEqual(image.channels, channels, name, file: file, line: line)
        XCTAssertEqual(image.bitDepth, 8, name, file: file, line: line)
        XCTAssertEqual(image.source?.lastPathComponent, "\(name).jpg", file: file, line: line)
        let differing = zip(image.pixels, expected.scalars).filter { $0 != $1 }.count
        XCTAssertEqual(differing, 0, "\(name): \(differing) of \(image.pixels.count) values differ from Pillow's",
                       file: file, line: line)
    }

    /// Asserts that decoding `data` fails with an `ImagingError` naming `label` whose problem contains `phrase`.
    func assertRefuses(_ data: Data, label: String = "bad.jpg", saying phrase: String,
                       file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try JPEGReader.decode(data, file: label), file: file, line: line) { error in
            guard let error = error as? ImagingError else { return XCTFail("not an ImagingError: \(error)", file: file, line: line) }
            XCTAssertEqual(error.file, label, file: file, line: line)
            XCTAssertTrue(error.problem.contains(phrase), "\(error) does not say \"\(phrase)\"", file: file, line: line)
        }
    }

    func testEveryFixtureHasPillowsArray() throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: Fixtures.url("imaging/jpeg").path)
        let jpegs = names.filter { $0.hasSuffix(".jpg") && !$0.hasPrefix("cmyk") }.map { String($0.dropLast(4)) }
        XCTAssertEqual(jpegs.sorted(), names.filter { $0.hasSuffix(".npy") }.map { String($0.dropLast(4)) }.sorted())
        XCTAssertEqual(jpegs.count, 7)
    }

    func testGreyOddSize() throws { try assertMatchesPillow("grey_37x23", channels: 1) }
    func testColour420FancyUpsampling() throws { try assertMatchesPillow("colour420_37x23", channels: 3) }
    func testColour422() throws { try assertMatchesPillow("colour422_30x17", channels: 3) }
    func testColour444() throws { try assertMatchesPillow("colour444_48x32", channels: 3) }
    func testProgressive() throws { try assertMatchesPillow("progressive_41x29", channels: 3) }
    func testRestartMarkersGrey() throws { try assertMatchesPillow("restart_grey_35x21", channels: 1) }
    func testRestartMarkersColour() throws { try assertMatchesPillow("restart_colour_29x18", channels: 3) }

    /// Planar layout: the green plane of a colour image is not the red one, and decoding from memory gives
    /// the same pixels as from the file.
    func testDecodeFromMemoryMatchesFile() throws {
        let fromFile = try JPEGReader.read(contentsOf: jpeg("colour444_48x32.jpg"))
        let fromMemory = try JPEGReader.decode(bytes(of: "colour444_48x32.jpg"))
        XCTAssertEqual(fromMemory.pixels, fromFile.pixels)
        XCTAssertNil(fromMemory.source)
        let plane = fromFile.width * fromFile.height
        XCTAssertNotEqual(Array(fromFile.pixels[0..<plane]), Array(fromFile.pixels[plane..<2 * plane]))
    }

    func testCMYKIsRefused() throws {
        assertRefuses(try bytes(of: "cmyk_16x8.jpg"), saying: "is a CMYK JPEG")
    }

    /// The frame header's precision byte set to 12: libjpeg-turbo's 8-bit decoder must refuse it.
    func testTwelveBitIsRefused() throws {
        var data = try bytes(of: "grey_37x23.jpg")
        let sof = try XCTUnwrap(data.firstRange(of: Data([0xFF, 0xC0])))
        data[sof.lowerBound + 4] = 12
        assertRefuses(data, saying: "not an 8-bit JPEG")
    }

    func testEmptyFile() {
        assertRefuses(Data(), saying: "is empty (0 bytes), not a JPEG file")
    }

    func testWrongMagic() throws {
        assertRefuses(try Data(contentsOf: Fixtures.url("imaging/png/grey8.png")), saying: "is not a JPEG file")
        assertRefuses(Data([0xFF, 0xD8]), saying: "is not a JPEG file")
        assertRefuses(Data("FF D8 FF as text".utf8), saying: "is not a JPEG file")
    }

    /// Cut in the headers, at the start of the scan, in the middle of the scan, and just before EOI:
    /// libjpeg would fill the rest with grey after a warning; the reader must throw instead.
    func testTruncatedFilesAreRefused() throws {
        for name in ["grey_37x23.jpg", "colour420_37x23.jpg", "progressive_41x29.jpg", "restart_grey_35x21.jpg"] {
            let data = try bytes(of: name)
            let scan = try XCTUnwrap(data.firstRange(of: Data([0xFF, 0xDA]))).lowerBound
            for end in [3, 40, scan, scan + 20, (scan + data.count) / 2, data.count - 2] {
                assertRefuses(data.prefix(end), label: "\(name)[..<\(end)]", saying: "is truncated or corrupt")
            }
        }
    }

    func testCorruptMarkerIsRefused() throws {
        let data = try bytes(of: "grey_37x23.jpg")
        let quantisation = try XCTUnwrap(data.firstRange(of: Data([0xFF, 0xDB]))).lowerBound
        var badMarker = data
        badMarker[quantisation + 1] = 0x01          // TEM, not a valid marker at this point
        assertRefuses(badMarker, saying: "is truncated or corrupt")
        var badLength = data
        badLength[quantisation + 2] = 0xFF          // a DQT segment longer than the file
        assertRefuses(badLength, saying: "is truncated or corrupt")
        var badHuffman = data                       // a huffman table id out of range
        let huffman = try XCTUnwrap(data.firstRange(of: Data([0xFF, 0xC4]))).lowerBound
        badHuffman[huffman + 4] = 0x17
        assertRefuses(badHuffman, saying: "is truncated or corrupt")
    }

    func testMissingFileIsNamed() throws {
        let url = try Fixtures.temporaryDirectory(removedAfter: self).appendingPathComponent("absent.jpg")
        XCTAssertThrowsError(try JPEGReader.read(contentsOf: url)) { error in
            XCTAssertEqual((error as? ImagingError)?.file, url.path)
            XCTAssertTrue("\(error)".contains("no such file"), "\(error)")
        }
    }

    /// Errors from a file on disk carry its path.
    func testErrorsNameTheFile() throws {
        let url = try Fixtures.temporaryDirectory(removedAfter: self).appendingPathComponent("cut.jpg")
        try bytes(of: "colour444_48x32.jpg").prefix(700).write(to: url)
        XCTAssertThrowsError(try JPEGReader.read(contentsOf: url)) { error in
            XCTAssertEqual((error as? ImagingError)?.file, url.path)
            XCTAssertTrue("\(error)".hasPrefix("\(url.path): is truncated or corrupt"), "\(error)")
        }
    }
}
