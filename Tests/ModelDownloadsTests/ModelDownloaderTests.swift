import FileAccess
import Foundation
import ModelDownloads
import TestSupport
import XCTest

/// Downloads from a server on the loopback address; nothing reaches the internet.
final class ModelDownloaderTests: XCTestCase {
    /// 300 000 bytes that no simple pattern repeats (a multiplicative hash of the index).
    private let payload = Data((0..<300_000).map { UInt8(truncatingIfNeeded: (UInt64($0) &* 0x9E37_79B9_7F4A_7C15) >> 56) })
    private var server: LoopbackHTTPServer!
    private var cache: ModelCache!

    override func setUpWithError() throws {
        server = try LoopbackHTTPServer()
        cache = ModelCache(directory: try Fixtures.temporaryDirectory(removedAfter: self).appendingPathComponent("cache"))
    }

    override func tearDown() {
        server.stop()
    }

    private func source(_ path: String = "/weights.pth", pin: DigestPin? = nil, expectedBytes: Int64? = nil) throws -> DownloadSource {
        try DownloadSource(
            url: server.url(path), fileName: "weights.pth", sha256: pin ?? DigestPin.sha256(sha256(payload)),
            expectedBytes: expectedBytes)
    }

    private func cachedFiles() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: cache.directory.path).sorted()
    }

    func testDownloadPutsTheVerifiedFileInTheCache() async throws {
        server.setRoute(.payload(payload), for: "/weights.pth")
        let progress = ProgressLog()
        let file = try await ModelDownloader(cache: cache).download(try source(), progress: progress.record)
        XCTAssertEqual(file, cache.fileURL(for: try source()))
        XCTAssertEqual(try Data(contentsOf: file), payload)
        XCTAssertEqual(try cachedFiles(), ["weights.pth"])
        XCTAssertEqual(server.requests.map(\.range), [nil])
        XCTAssertEqual(progress.last, DownloadProgress(bytesDone: 300_000, totalBytes: 300_000))
    }

    func testDroppedConnectionKeepsThePartialFileAndTheNextCallResumesFromIt() async throws {
        server.setRoute(.payload(payload, cutAfter: 100_000), for: "/weights.pth")
        let downloader = ModelDownloader(cache: cache)
        do {
            _ = try await downloader.download(try source())
            XCTFail("a cut connection must fail")
        } catch let ModelDownloadError.interrupted(url, partial, bytesKept, _) {
            XCTAssertEqual(url, server.url("/weights.pth"))
            XCTAssertEqual(partial, cache.partialURL(for: try source()))
            XCTAssertEqual(bytesKept, 100_000)
        }
        XCTAssertEqual(cache.entry(for: try source()), .partial(bytes: 100_000))

        server.setRoute(.payload(payload), for: "/weights.pth")
        let file = try await downloader.download(try source())
        XCTAssertEqual(server.requests.map(\.range), [nil, "bytes=100000-"])
        XCTAssertEqual(try SHA256.hex(contentsOf: file), sha256(payload))
        XCTAssertEqual(try cachedFiles(), ["weights.pth"])
    }

    func testResumeThroughARedirectStillAsksForTheRest() async throws {
        try FileManager.default.createDirectory(at: cache.directory, withIntermediateDirectories: true)
        try payload.prefix(1234).write(to: cache.partialURL(for: try source("/resolve")))
        server.setRoute(.redirect(to: "/cdn/weights.pth"), for: "/resolve")
        server.setRoute(.payload(payload), for: "/cdn/weights.pth")
        let file = try await ModelDownloader(cache: cache).download(try source("/resolve"))
        XCTAssertEqual(server.requests.map(\.path), ["/resolve", "/cdn/weights.pth"])
        XCTAssertEqual(server.requests.last?.range, "bytes=1234-")
        XCTAssertEqual(try Data(contentsOf: file), payload)
    }

    func testServerIgnoringTheRangeStillYieldsTheRightFile() async throws {
        try FileManager.default.createDirectory(at: cache.directory, withIntermediateDirectories: true)
        try Data(repeating: 0xEE, count: 5000).write(to: cache.partialURL(for: try source()))
        server.setRoute(.payload(payload, ignoresRange: true), for: "/weights.pth")
        let file = try await ModelDownloader(cache: cache).download(try source())
        XCTAssertEqual(server.requests.map(\.range), ["bytes=5000-"])
        XCTAssertEqual(try Data(contentsOf: file), payload)
    }

    func testPartialFileAsLongAsTheServersFileStartsOver() async throws {
        try FileManager.default.createDirectory(at: cache.directory, withIntermediateDirectories: true)
        try Data(repeating: 0xEE, count: payload.count + 10).write(to: cache.partialURL(for: try source()))
        server.setRoute(.payload(payload), for: "/weights.pth")
        let file = try await ModelDownloader(cache: cache).download(try source())
        XCTAssertEqual(server.requests.map(\.range), ["bytes=300010-", nil])
        XCTAssertEqual(try Data(contentsOf: file), payload)
    }

    func testCompletePartialFileOfThePublishedSizeIsPutInPlaceWithoutARequest() async throws {
        try FileManager.default.createDirectory(at: cache.directory, withIntermediateDirectories: true)
        let source = try source(expectedBytes: Int64(payload.count))
        try payload.write(to: cache.partialURL(for: source))
        let file = try await ModelDownloader(cache: cache).download(source)
        XCTAssertEqual(server.requests, [])
        XCTAssertEqual(try Data(contentsOf: file), payload)
    }

    func testDigestMismatchIsRefusedAndLeavesNoFile() async throws {
        server.setRoute(.payload(payload), for: "/weights.pth")
        let wrong = String(repeating: "0", count: 64)
        do {
            _ = try await ModelDownloader(cache: cache).download(try source(pin: DigestPin.sha256(wrong)))
            XCTFail("a wrong digest must be refused")
        } catch let error as ModelDownloadError {
            let text = "\(error)"
            XCTAssertTrue(text.contains(server.url("/weights.pth").absoluteString), text)
            XCTAssertTrue(text.contains("sha256 \(wrong)"), text)
            XCTAssertTrue(text.contains(sha256(payload)), text)
        }
        XCTAssertEqual(try cachedFiles(), [])
    }

    func testSizeMismatchIsRefusedAndLeavesNoFile() async throws {
        server.setRoute(.payload(payload), for: "/weights.pth")
        do {
            _ = try await ModelDownloader(cache: cache).download(try source(expectedBytes: 299_999))
            XCTFail("a wrong size must be refused")
        } catch let error as ModelDownloadError {
            XCTAssertEqual(error, .sizeMismatch(url: server.url("/weights.pth"), expected: 299_999, got: 300_000))
        }
        XCTAssertEqual(try cachedFiles(), [])
    }

    func testPrefixPinIsAcceptedOrRefused() async throws {
        server.setRoute(.payload(payload), for: "/weights.pth")
        let digest = sha256(payload)
        let downloader = ModelDownloader(cache: cache)
        let file = try await downloader.download(try source(pin: DigestPin.sha256Prefix(String(digest.prefix(8)))))
        XCTAssertEqual(try Data(contentsOf: file), payload)

        let wrongPrefix = digest.hasPrefix("00000000") ? "11111111" : "00000000"
        do {
            _ = try await downloader.download(try source(pin: DigestPin.sha256Prefix(wrongPrefix)), redownload: true)
            XCTFail("a wrong prefix must be refused")
        } catch let error as ModelDownloadError {
            XCTAssertEqual(error, .digestMismatch(url: server.url("/weights.pth"), expected: try DigestPin.sha256Prefix(wrongPrefix), got: digest))
            XCTAssertTrue("\(error)".contains("sha256 prefix \(wrongPrefix)"), "\(error)")
        }
        XCTAssertEqual(try cachedFiles(), [])
    }

    func testHTTPErrorNamesTheURLAndStatus() async throws {
        for (path, status) in [("/missing.pth", 404), ("/broken.pth", 500)] {
            if status != 404 { server.setRoute(.status(status), for: path) }
            do {
                _ = try await ModelDownloader(cache: cache).download(try source(path))
                XCTFail("HTTP \(status) must fail")
            } catch let error as ModelDownloadError {
                XCTAssertEqual(error, .httpStatus(url: server.url(path), status: status))
                XCTAssertTrue("\(error)".contains("\(server.url(path).absoluteString): the server answered HTTP \(status)"), "\(error)")
            }
        }
        XCTAssertEqual(cache.entry(for: try source()), .absent)
    }

    func testCachedFileIsVerifiedAndNotFetchedAgain() async throws {
        server.setRoute(.payload(payload), for: "/weights.pth")
        let downloader = ModelDownloader(cache: cache)
        let first = try await downloader.download(try source())
        let second = try await downloader.download(try source())
        XCTAssertEqual(first, second)
        XCTAssertEqual(server.requests.count, 1)
    }

    func testCorruptedCachedFileIsReportedNotReplaced() async throws {
        server.setRoute(.payload(payload), for: "/weights.pth")
        let downloader = ModelDownloader(cache: cache)
        let file = try await downloader.download(try source())
        var corrupted = payload
        corrupted[1000] ^= 0xFF
        try corrupted.write(to: file)
        do {
            _ = try await downloader.download(try source())
            XCTFail("a corrupted cached file must be reported")
        } catch let error as ModelDownloadError {
            XCTAssertEqual(
                error, .cachedFileFailsVerification(file: file, expected: try source().sha256, got: sha256(corrupted)))
            XCTAssertTrue("\(error)".contains("redownload"), "\(error)")
        }
        XCTAssertEqual(try Data(contentsOf: file), corrupted)
        XCTAssertEqual(server.requests.count, 1)

        let replaced = try await downloader.download(try source(), redownload: true)
        XCTAssertEqual(try Data(contentsOf: replaced), payload)
        XCTAssertEqual(server.requests.count, 2)
    }

    func testFileURLIsCopiedWithTheSameVerification() async throws {
        let mirror = try Fixtures.temporaryDirectory(removedAfter: self).appendingPathComponent("weights-mirror.pth")
        try payload.write(to: mirror)
        let digest = sha256(payload)
        let good = try DownloadSource(url: mirror, fileName: "weights.pth", sha256: DigestPin.sha256(digest))
        let progress = ProgressLog()
        let file = try await ModelDownloader(cache: cache).download(good, progress: progress.record)
        XCTAssertEqual(try Data(contentsOf: file), payload)
        XCTAssertEqual(progress.last, DownloadProgress(bytesDone: 300_000, totalBytes: 300_000))

        let bad = try DownloadSource(url: mirror, fileName: "other.pth", sha256: DigestPin.sha256(String(repeating: "a", count: 64)))
        do {
            _ = try await ModelDownloader(cache: cache).download(bad)
            XCTFail("a wrong digest must be refused")
        } catch let error as ModelDownloadError {
            XCTAssertEqual(error, .digestMismatch(url: mirror, expected: bad.sha256, got: digest))
        }
        XCTAssertEqual(try cachedFiles(), ["weights.pth"])
    }

    func testUnreachableServerFailsWithoutAPartialFile() async throws {
        let url = server.url("/weights.pth")
        server.stop()
        let source = try DownloadSource(url: url, fileName: "weights.pth", sha256: DigestPin.sha256Prefix("abcdef12"))
        do {
            _ = try await ModelDownloader(cache: cache).download(source)
            XCTFail("a stopped server must fail")
        } catch let ModelDownloadError.transferFailed(failedURL, _) {
            XCTAssertEqual(failedURL, url)
        }
        XCTAssertEqual(cache.entry(for: source), .absent)
    }
}

/// Collects progress reports from the downloader's thread.
private final class ProgressLog: @unchecked Sendable {
    private let lock = NSLock()
    private var reports: [DownloadProgress] = []

    var last: DownloadProgress? { lock.withLock { reports.last } }

    func record(_ progress: DownloadProgress) {
        lock.withLock { reports.append(progress) }
    }
}

/// The SHA-256 of `data`, as 64 lowercase hex digits.
private func sha256(_ data: Data) -> String { SHA256.hex([UInt8](data)) }
