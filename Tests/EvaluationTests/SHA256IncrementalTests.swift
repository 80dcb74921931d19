import Checkpoints
import TestSupport
import XCTest

/// The incremental SHA-256 against FIPS 180-4 test vectors and the one-shot digest, split anywhere.
final class SHA256IncrementalTests: XCTestCase {
    func testKnownVectors() {
        XCTAssertEqual(SHA256.hex([]), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(SHA256.hex(Array("abc".utf8)), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(SHA256.hex(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)),
                       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
    }

    func testPiecesGiveTheDigestOfTheWhole() {
        var generator = SystemRandomNumberGenerator()
        for length in [0, 1, 55, 56, 63, 64, 65, 127, 128, 1000] {
            let message = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let whole = SHA256.hex(message)
            for cut in Set([0, length / 3, length / 2, length]) {
                for secondCut in Set([cut, (cut + length) / 2, length]) {
                    var hasher = SHA256.Incremental()
                    hasher.update(Array(message[..<cut]))
                    hasher.update(Array(message[cut..<secondCut]))
                    hasher.update(Array(message[secondCut...]))
                    XCTAssertEqual(hasher.finalize(), whole, "length \(length) cut at \(cut), \(secondCut)")
                }
            }
        }
    }

    func testFileDigestReadsInBlocks() throws {
        let folder = try Fixtures.temporaryDirectory(removedAfter: self)
        let file = folder.appendingPathComponent("weights.bin")
        let bytes = (0..<10_000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        try Data(bytes).write(to: file)
        XCTAssertEqual(try SHA256.hex(contentsOf: file, blockSize: 100), SHA256.hex(bytes))
        XCTAssertEqual(try SHA256.hex(contentsOf: file), SHA256.hex(bytes))
        XCTAssertThrowsError(try SHA256.hex(contentsOf: folder.appendingPathComponent("absent.bin"))) { error in
            XCTAssertTrue("\(error)".contains("absent.bin: cannot be read: no such file"), "\(error)")
        }
        XCTAssertThrowsError(try SHA256.hex(contentsOf: folder)) { error in
            XCTAssertTrue("\(error)".contains("is a directory"), "\(error)")
        }
    }
}
