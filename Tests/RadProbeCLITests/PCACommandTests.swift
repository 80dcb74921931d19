import Foundation
import MedicalImaging
import TestSupport
import XCTest

/// `radprobe pca` on the tiny test model: an RGB PNG of the tiles, and clear errors for bad input.
final class PCACommandTests: XCTestCase {
    func testWritesAnRGBTileOfEachImage() throws {
        let folder = try temporaryDirectory()
        let a = folder.appendingPathComponent("a.png"), out = folder.appendingPathComponent("pca.png")
        try writeGreyPNG(to: a)
        try radprobeSucceeds(["pca", "--checkpoint", CLIFixture.plainSafetensors, "--images", a.path, a.path, a.path,
                              "--size", "56", "--out", out.path, "--threads", "2"])
        guard case .image(let image) = try MedicalImageFile.read(contentsOf: out).content else { return XCTFail("not an image") }
        XCTAssertEqual([image.width, image.height, image.channels], [3 * 56, 56, 3])
        // Identical images give identical tiles.
        for y in stride(from: 0, to: 56, by: 7) {
            for x in stride(from: 0, to: 56, by: 7) {
                XCTAssertEqual(image[channel: 1, y: y, x: x], image[channel: 1, y: y, x: x + 56])
            }
        }
        // The same inputs give the same bytes.
        let again = folder.appendingPathComponent("again.png")
        try radprobeSucceeds(["pca", "--checkpoint", CLIFixture.plainSafetensors, "--images", a.path, a.path, a.path,
                              "--size", "56", "--out", again.path, "--threads", "2"])
        XCTAssertEqual(try Data(contentsOf: out), try Data(contentsOf: again))
    }

    func testBadInputIsAClearError() throws {
        let folder = try temporaryDirectory()
        let a = folder.appendingPathComponent("a.png")
        try writeGreyPNG(to: a)
        assertFails(try radprobe(["pca", "--checkpoint", CLIFixture.plainSafetensors, "--images", a.path, "--size", "50",
                                  "--out", folder.appendingPathComponent("p.png").path]), mentioning: ["not a positive multiple of the model's patch size 14"])
        assertFails(try radprobe(["pca", "--checkpoint", CLIFixture.plainSafetensors, "--images", folder.appendingPathComponent("none.png").path,
                                  "--size", "56", "--out", folder.appendingPathComponent("p.png").path]), mentioning: ["none.png"])
        assertFails(try radprobe(["pca", "--checkpoint", CLIFixture.plainSafetensors, "--images", a.path, "--threshold", "2",
                                  "--out", folder.appendingPathComponent("p.png").path]), mentioning: ["--threshold must lie in [0, 1]"])
    }
}
