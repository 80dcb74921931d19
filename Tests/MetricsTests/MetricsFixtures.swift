import Foundation
import Metrics
import TestSupport
import XCTest

/// Reads `Tests/Fixtures/metrics/<name>` (written by scripts/make_metrics_fixtures.py) into `T`.
func loadMetricsFixture<T: Decodable>(_ name: String, as type: T.Type = T.self) throws -> T {
    let decoder = JSONDecoder()
    decoder.keyDecodingStrategy = .convertFromSnakeCase
    return try decoder.decode(T.self, from: Data(contentsOf: Fixtures.url("metrics/\(name)")))
}

/// Fails unless both are `nil` or both are numbers within `tolerance`.
func assertClose(_ actual: Double?, _ expected: Double?, tolerance: Double, _ message: @autoclosure () -> String = "",
                 file: StaticString = #filePath, line: UInt = #line) {
    switch (actual, expected) {
    case (nil, nil):
        return
    case let (actual?, expected?):
        XCTAssertLessThanOrEqual(abs(actual - expected), tolerance, "\(message()): \(actual) vs \(expected)", file: file, line: line)
    default:
        XCTFail("\(message()): \(String(describing: actual)) vs \(String(describing: expected))", file: file, line: line)
    }
}

/// Fails unless `body` throws exactly `expected`.
func assertThrows<T>(_ expected: MetricsError, _ body: @autoclosure () throws -> T,
                     file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertThrowsError(try body(), file: file, line: line) { error in
        XCTAssertEqual(error as? MetricsError, expected, file: file, line: line)
    }
}

/// Parity tolerance: the AUROC is exact arithmetic on pair counts here, while scikit-learn integrates the
/// ROC curve with the trapezoid rule and numpy sums in its own order; they agree to rounding (~1e-16).
let parityTolerance = 1e-12
