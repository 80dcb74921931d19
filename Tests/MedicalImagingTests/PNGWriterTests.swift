import Foundation
import MedicalImaging
import TestSupport
import XCTest

/// PNG writing: what `PNGWriter` writes, `PNGReader` (libpng) reads back to the same rounded, clamped values.
final class PNGWriterTests: XCTestCase {
    func roundTrip(_ image: Image2D, depth: PNGWriter.Depth) throws -> Image2D {
        let url = try Fixtures.temporaryDirectory(removedAfter: self).appendingPathComponent("out.png")
        try PNGWriter.write(image, to: url, depth: depth)
        return try PNGReader.read(contentsOf: url)
    }

    func testEightBitGreyRoundsAndClamps() throws {
        let image = Image2D(width: 3, height: 2, channels: 1, pixels: [-5, 0, 1.4, 1.6, 254.5, 300])
        let back = try roundTrip(image, depth: .eight)
        XCTAssertEqual(back.channels, 1)
        XCTAssertEqual(back.bitDepth, 8)
        XCTAssertEqual(back.pixels, [0, 0, 1, 2, 255, 255])
    }

    func testSixteenBitGreyKeepsEveryValue() throws {
        let values: [Float] = (0..<40).map { Float($0 * 1637) }
        let back = try roundTrip(Image2D(width: 8, height: 5, channels: 1, pixels: values), depth: .sixteen)
        XCTAssertEqual(back.bitDepth, 16)
        XCTAssertEqual(back.pixels, values)
    }

    func testRGBStaysPlanar() throws {
        let pixels: [Float] = (0..<(3 * 4 * 3)).map { Float($0 * 7) }
        let back = try roundTrip(Image2D(width: 4, height: 3, channels: 3, pixels: pixels), depth: .eight)
        XCTAssertEqual(back.channels, 3)
        XCTAssertEqual(back.pixels, pixels)
    }

    func testSixteenBitRGBIsRefusedNamingTheFile() throws {
        let image = Image2D(width: 1, height: 1, channels: 3, pixels: [1, 2, 3])
        XCTAssertThrowsError(try PNGWriter.encode(image, depth: .sixteen, file: "x.png")) { error in
            XCTAssertTrue("\(error)".hasPrefix("x.png: cannot be written as a 16-bit RGB PNG"), "\(error)")
        }
    }

    func testUnwritableDestinationLeavesNothingBehind() throws {
        let folder = try Fixtures.temporaryDirectory(removedAfter: self)
        let target = folder.appendingPathComponent("missing/out.png")
        XCTAssertThrowsError(try PNGWriter.write(Image2D(width: 1, height: 1, channels: 1, pixels: [0]), to: target)) { error in
            XCTAssertTrue("\(error)".contains(target.path), "\(error)")
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder.path), [])
    }
}
