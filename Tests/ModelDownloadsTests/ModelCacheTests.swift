import ModelDownloads
import XCTest

final class ModelCacheTests: XCTestCase {
    func testDirectoryComesFromXDGCacheHomeThenHome() throws {
        XCTAssertEqual(
            try ModelCache.defaultDirectory(environment: ["XDG_CACHE_HOME": "/var/cache/me", "HOME": "/home/me"]).path,
            "/var/cache/me/radprobe")
        XCTAssertEqual(try ModelCache.defaultDirectory(environment: ["HOME": "/home/me"]).path, "/home/me/.cache/radprobe")
        // The XDG rule: a relative XDG_CACHE_HOME is ignored.
        XCTAssertEqual(
            try ModelCache.defaultDirectory(environment: ["XDG_CACHE_HOME": "cache", "HOME": "/home/me"]).path,
            "/home/me/.cache/radprobe")
        XCTAssertEqual(try ModelCache.standard(environment: ["HOME": "/home/me"]).directory.path, "/home/me/.cache/radprobe")
    }

    func testNoHomeAndNoXDGIsAnError() {
        XCTAssertThrowsError(try ModelCache.defaultDirectory(environment: [:])) { error in
            XCTAssertEqual(error as? ModelDownloadError, .noCacheDirectory)
        }
    }

    func testSourcesRefuseOtherSchemesAndPathLikeNames() throws {
        let pin = try DigestPin.sha256Prefix("abcdef12")
        XCTAssertThrowsError(try DownloadSource(url: URL(string: "ftp://host/a.pth")!, fileName: "a.pth", sha256: pin))
        for name in ["", "../a.pth", "a/b.pth", ".hidden"] {
            XCTAssertThrowsError(try DownloadSource(url: URL(string: "https://host/a.pth")!, fileName: name, sha256: pin), name)
        }
        XCTAssertNoThrow(try DownloadSource(url: URL(fileURLWithPath: "/mirror/a.pth"), fileName: "a.pth", sha256: pin))
    }
}
