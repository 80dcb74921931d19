import Foundation
@testable import MedicalImaging
import Randomness
import TestSupport
import XCTest

/// `PNGReader`'s fast path (`PNGFastDecoder`, libdeflate) against its libpng path, the reference: the
/// same image for every file it takes, and libpng's result or error for every file it declines.
/// Fixtures: Tests/Fixtures/imaging/png_fast (scripts/make_png_fast_path_fixtures.py), imaging/png and
/// imaging/fuzz/png.
final class PNGFastDecoderTests: XCTestCase {
    /// The outcome of one decode: an image or the error's text.
    enum Outcome: Equatable {
        case image(Image2D)
        case failure(String)
    }

    static func outcome(_ body: () throws -> Image2D) -> Outcome {
        do { return .image(try body()) } catch { return .failure("\(error)") }
    }

    /// What `PNGReader.decode` gives (fast path first).
    static func reader(_ data: Data, source: URL? = nil) -> Outcome {
        outcome { try PNGReader.decode(data, file: "test.png", source: source) }
    }

    /// What the libpng path alone gives.
    static func libpng(_ data: Data, source: URL? = nil) -> Outcome {
        outcome {
            try data.withUnsafeBytes { bytes in
                try PNGReader.checkFraming(bytes, file: "test.png")
                return try PNGReader.decodePixels(bytes, file: "test.png", source: source)
            }
        }
    }

    /// The fast path's image, or nil when it declines the file.
    static func fast(_ data: Data, source: URL? = nil) -> Image2D? {
        data.withUnsafeBytes { PNGFastDecoder.decode($0, source: source) }
    }

    func files(in folder: String) throws -> [URL] {
        let url = Fixtures.url(folder)
        return try FileManager.default.contentsOfDirectory(atPath: url.path).filter { $0.hasSuffix(".png") }.sorted()
            .map { url.appendingPathComponent($0) }
    }

    func assertSameAsLibpng(_ url: URL, file: StaticString = #filePath, line: UInt = #line) throws {
        let data = try Data(contentsOf: url)
        XCTAssertEqual(Self.reader(data, source: url), Self.libpng(data, source: url), url.lastPathComponent, file: file, line: line)
        if let image = Self.fast(data, source: url) {
            XCTAssertEqual(.image(image), Self.libpng(data, source: url), url.lastPathComponent, file: file, line: line)
        }
    }

    func testEveryFixtureDecodesAsLibpngDoes() throws {
        let urls = try files(in: "imaging/png") + files(in: "imaging/png_fast") + files(in: "imaging/fuzz/png")
        XCTAssertGreaterThan(urls.count, 40)
        for url in urls { try assertSameAsLibpng(url) }
    }

    /// Grey and RGB at 8 and 16 bits, every filter type, odd sizes, split IDATs, ancillary chunks,
    /// Pillow's encoder: all taken by the fast path, with libpng's pixels.
    func testFastPathTakesTheCommonFiles() throws {
        let taken = ["grey8_filters", "grey16_filters", "rgb8_filters", "rgb16_filters", "grey8_one_pixel",
                     "rgb16_one_column", "pillow_grey16", "pillow_rgb8"].map { "imaging/png_fast/\($0).png" }
            + ["grey8", "grey16", "grey16_gamma", "rgb8", "rgb16", "rgb8_filters"].map { "imaging/png/\($0).png" }
        for name in taken {
            let url = Fixtures.url(name)
            let data = try Data(contentsOf: url)
            let image = try XCTUnwrap(Self.fast(data, source: url), "\(name): declined by the fast path")
            XCTAssertEqual(.image(image), Self.libpng(data, source: url), name)
            XCTAssertEqual(image.source, url, name)
        }
    }

    /// Interlaced, palette, alpha, low bit depths, unusual framing and corrupt files go to libpng.
    func testFastPathDeclinesOtherAndCorruptFiles() throws {
        let declined = ["grey16_interlaced", "palette8", "grey_alpha8", "rgba16", "grey4", "grey1", "corrupt_idat"]
            .map { "imaging/png/\($0).png" }
            + ["grey16_small_window", "idat_split_by_text", "bad_idat_crc", "bad_filter_type", "short_zlib_stream",
               "bad_adler", "extra_idat_data", "unknown_critical_chunk"].map { "imaging/png_fast/\($0).png" }
        for name in declined {
            XCTAssertNil(Self.fast(try Data(contentsOf: Fixtures.url(name))), name)
        }
    }

    /// Corrupt files give libpng's message (`PNGReader` adds nothing of its own).
    func testCorruptFilesGiveLibpngErrors() throws {
        for name in ["bad_idat_crc", "bad_filter_type", "short_zlib_stream", "unknown_critical_chunk"] {
            let data = try Data(contentsOf: Fixtures.url("imaging/png_fast/\(name).png"))
            guard case .failure(let message) = Self.reader(data) else { return XCTFail("\(name) decoded") }
            XCTAssertTrue(message.contains("libpng"), "\(name): \(message)")
            XCTAssertEqual(.failure(message), Self.libpng(data), name)
        }
    }

    /// PNGWriter's files (libpng's encoder, adaptive filters): grey at 8 and 16 bits, RGB at 8 (all it
    /// writes), odd sizes.
    func testPNGWriterFilesRoundTripThroughTheFastPath() throws {
        var random = SeededGenerator(seed: 7)
        for (channels, width, height) in [(1, 37, 29), (3, 23, 41), (1, 1, 5), (3, 300, 7), (1, 301, 9)] {
            for depth in channels == 1 ? [PNGWriter.Depth.eight, .sixteen] : [.eight] {
                let top = Float((1 << depth.rawValue) - 1)
                let pixels = (0..<channels * width * height).map { index -> Float in
                    // smooth ramps with noise, so the encoder picks different filters row by row
                    let ramp = Float(index % width) / Float(width) * top * 0.5
                    return (ramp + Float(random.integer(below: Int(top * 0.5) + 1))).rounded()
                }
                let image = Image2D(width: width, height: height, channels: channels, pixels: pixels)
                let data = try PNGWriter.encode(image, depth: depth)
                let label = "\(channels)×\(width)×\(height) at \(depth.rawValue) bits"
                let decoded = try XCTUnwrap(Self.fast(data), "\(label): declined by the fast path")
                XCTAssertEqual(decoded.pixels, pixels, label)
                XCTAssertEqual(decoded.bitDepth, depth.rawValue, label)
                XCTAssertEqual(.image(decoded), Self.libpng(data), label)
            }
        }
    }

    /// Seeded random byte changes in fast-path files, with chunk CRCs left alone (caught by the CRC
    /// check) or recomputed (reaching the zlib stream, filters and header): `PNGReader` must always give
    /// what libpng alone gives.
    func testMutatedFilesDecodeOrFailAsLibpngDoes() throws {
        var random = SeededGenerator(seed: 2026)
        let names = ["imaging/png_fast/grey16_filters.png", "imaging/png_fast/rgb8_filters.png",
                     "imaging/png_fast/grey8_filters.png", "imaging/png/rgb16.png"]
        var taken = 0, declined = 0
        for name in names {
            let original = [UInt8](try Data(contentsOf: Fixtures.url(name)))
            for trial in 0..<150 {
                var bytes = original
                let at = 8 + random.integer(below: bytes.count - 8)
                bytes[at] ^= UInt8(1 + random.integer(below: 255))
                if trial % 3 != 0 { Self.recomputeCRCs(&bytes) }
                let data = Data(bytes)
                XCTAssertEqual(Self.reader(data), Self.libpng(data), "\(name): byte \(at) changed (trial \(trial))")
                if Self.fast(data) == nil { declined += 1 } else { taken += 1 }
            }
        }
        XCTAssertGreaterThan(taken, 0, "no mutant reached the end of the fast path")
        XCTAssertGreaterThan(declined, 0, "no mutant was declined")
    }

    /// Rewrites every chunk's CRC-32 (bitwise, as the PNG specification defines it) where the framing allows.
    static func recomputeCRCs(_ bytes: inout [UInt8]) {
        var offset = 8
        while offset + 12 <= bytes.count {
            let length = bytes[offset..<offset + 4].reduce(0) { $0 << 8 | Int($1) }
            guard length <= bytes.count - offset - 12 else { return }
            var crc: UInt32 = 0xFFFF_FFFF
            for byte in bytes[offset + 4 ..< offset + 8 + length] {
                crc ^= UInt32(byte)
                for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
            }
            crc = ~crc
            for k in 0..<4 { bytes[offset + 8 + length + k] = UInt8(truncatingIfNeeded: crc >> (24 - 8 * k)) }
            offset += 12 + length
        }
    }
}
