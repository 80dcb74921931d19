import ModelDownloads
import XCTest

final class DigestPinTests: XCTestCase {
    private let abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"

    func testFullPinMatchesOnlyTheWholeDigest() throws {
        let pin = try DigestPin.sha256(abc.uppercased())
        XCTAssertEqual(pin.kind, .fullDigest)
        XCTAssertEqual(pin.hexDigits, abc)
        XCTAssertTrue(pin.isSatisfied(byDigest: abc))
        XCTAssertFalse(pin.isSatisfied(byDigest: String(abc.dropLast()) + "e"))
        XCTAssertEqual(pin.summary, "sha256 pinned")
        XCTAssertEqual(pin.description, "sha256 \(abc)")
    }

    func testPrefixPinMatchesDigestsStartingWithIt() throws {
        let pin = try DigestPin.sha256Prefix("BA7816BF")
        XCTAssertEqual(pin.kind, .prefix)
        XCTAssertTrue(pin.isSatisfied(byDigest: abc))
        XCTAssertFalse(pin.isSatisfied(byDigest: "ca7816bf" + abc.dropFirst(8)))
        XCTAssertEqual(pin.summary, "sha256 prefix ba7816bf pinned (torch.hub)")
        XCTAssertEqual(pin.description, "sha256 prefix ba7816bf")
    }

    func testMalformedPinsAreRefused() {
        for text in ["", "xyz123", "ba78 16bf", "ba781", String(abc.dropLast())] {
            XCTAssertThrowsError(try DigestPin.sha256(text), text)
        }
        for text in ["", "ba7816", "ba7816bg", abc] {
            XCTAssertThrowsError(try DigestPin.sha256Prefix(text), text) { error in
                XCTAssertTrue("\(error)".contains("'\(text)' is not a valid SHA-256 pin"), "\(error)")
            }
        }
    }
}
