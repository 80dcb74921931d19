import FileAccess
import Foundation
import TestSupport
import XCTest

/// The file digest downloads are verified with (`SHA256.Incremental.update(contentsOf:)`), read in
/// blocks, against Python's hashlib (scripts/make_download_fixtures.py).
final class FileDigestTests: XCTestCase {
    func testFileDigestReadInSmallBlocksMatchesHashlib() throws {
        let expected = try String(contentsOf: Fixtures.url("downloads/seeded.bin.sha256"), encoding: .utf8).prefix(64)
        XCTAssertEqual(try SHA256.hex(contentsOf: Fixtures.url("downloads/seeded.bin"), blockSize: 1000), String(expected))
        var hasher = SHA256.Incremental()
        hasher.update([1, 2, 3])
        try hasher.update(contentsOf: Fixtures.url("downloads/seeded.bin"), blockSize: 777)
        let file = try [UInt8](Data(contentsOf: Fixtures.url("downloads/seeded.bin")))
        XCTAssertEqual(hasher.finalize(), SHA256.hex([1, 2, 3] + file))
    }

    func testUnreadableFileIsAnErrorNamingIt() {
        let missing = URL(fileURLWithPath: "/nonexistent/weights.pth")
        XCTAssertThrowsError(try SHA256.hex(contentsOf: missing)) { error in
            XCTAssertEqual((error as? FileError)?.file, missing.path)
        }
    }
}
