import Checkpoints
import Foundation
import TensorCore
import XCTest

/// Locates committed test fixtures (`Tests/Fixtures/…`) and assets fetched by the Makefile (`assets/…`)
/// relative to the package root, whatever the working directory of the test run.
public enum Fixtures {
    /// The package root: the nearest folder above this source file that holds `Package.swift`.
    public static let packageRoot: URL = {
        var url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while url.path != "/" {
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url }
            url.deleteLastPathComponent()
        }
        fatalError("no Package.swift above \(#filePath)")
    }()

    /// `Tests/Fixtures/<relative>`.
    public static func url(_ relative: String) -> URL {
        packageRoot.appendingPathComponent("Tests/Fixtures").appendingPathComponent(relative)
    }

    /// `assets/<relative>` (fetched by `make`; may be absent in a bare `swift test`).
    public static func asset(_ relative: String) -> URL {
        packageRoot.appendingPathComponent("assets").appendingPathComponent(relative)
    }

    /// `assets/<relative>`, which `make test` fetches. Missing, it fails the test when the Makefile
    /// asked for it (`RADPROBE_REQUIRE_ASSETS=1`) and skips it in a bare `swift test`.
    public static func requiredAsset(_ relative: String, file: StaticString = #filePath, line: UInt = #line) throws -> URL {
        let url = asset(relative)
        if FileManager.default.fileExists(atPath: url.path) { return url }
        if ProcessInfo.processInfo.environment["RADPROBE_REQUIRE_ASSETS"] == "1" {
            XCTFail("\(url.path) is missing although make test should have fetched it", file: file, line: line)
        }
        throw XCTSkip("\(url.path) is not present: run `make test` to fetch it")
    }

    /// Reads `Tests/Fixtures/<relative>` as a float tensor.
    public static func array(_ relative: String) throws -> Tensor {
        try NumPyArray.read(contentsOf: url(relative))
    }

    /// A fresh empty temporary directory, removed when `testCase` ends.
    public static func temporaryDirectory(removedAfter testCase: XCTestCase) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("radprobe-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        testCase.addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }
}
