import Foundation
import MedicalImaging
import TestSupport
import XCTest

/// JPEG writing: what `JPEGWriter` writes, `JPEGReader` reads back close to the written values (JPEG is lossy).
final class JPEGWriterTests: XCTestCase {
    /// A smooth ramp per channel (20…204): JPEG at quality 100 keeps it within a few levels.
    func pattern(width: Int, height: Int, channels: Int) -> Image2D {
        var pixels: [Float] = []
        for c in 0..<channels {
            for y in 0..<height {
                for x in 0..<width { pixels.append(Float(20 + x * 2 + y * 2 + c * 30)) }
            }
        }
        return Image2D(width: width, height: height, channels: channels, pixels: pixels)
    }

    func testGreyAndColourRoundTripClosely() throws {
        let folder = try Fixtures.temporaryDirectory(removedAfter: self)
        for channels in [1, 3] {
            let image = pattern(width: 40, height: 24, channels: channels)
            let url = folder.appendingPathComponent("p\(channels).jpg")
            try JPEGWriter.write(image, to: url, quality: 100)
            let back = try JPEGReader.read(contentsOf: url)
            XCTAssertEqual([back.width, back.height, back.channels], [40, 24, channels])
            let worst = zip(back.pixels, image.pixels).map { abs($0 - $1) }.max()!
            XCTAssertLessThanOrEqual(worst, channels == 1 ? 3 : 12, "\(channels) channels: largest error \(worst)")
        }
    }

    func testQualityOutsideOneToHundredIsRefused() {
        XCTAssertThrowsError(try JPEGWriter.encode(pattern(width: 8, height: 8, channels: 1), quality: 0, file: "q.jpg")) { error in
            XCTAssertEqual("\(error)", "q.jpg: cannot be written with JPEG quality 0 (1…100)")
        }
    }
}
