import Checkpoints
import Foundation
import TensorCore
import TestSupport
import XCTest

/// `radprobe metrics auroc` on the scikit-learn fixtures of the Metrics tests, written as `.npy` files.
final class MetricsAUROCCommandTests: XCTestCase {
    struct Case: Decodable {
        let rows: Int
        let columns: Int
        let scores: [Double]
        let labels: [Double?]
        let per_class: [Double?]
        let macro: Double?
    }

    func cases(_ name: String) throws -> [Case] {
        try JSONDecoder().decode([Case].self, from: Data(contentsOf: Fixtures.url("metrics/\(name).json")))
    }

    func run(_ fixture: Case, labelShape: [Int], multiclass: Bool) throws -> [String: Any] {
        let folder = try temporaryDirectory()
        let scores = folder.appendingPathComponent("s.npy"), labels = folder.appendingPathComponent("y.npy")
        try NumPyArray.write(Tensor(shape: [fixture.rows, fixture.columns], values: fixture.scores.map(Float.init)), to: scores)
        try NumPyArray.write(Tensor(shape: labelShape, values: fixture.labels.map { $0.map(Float.init) ?? .nan }), to: labels)
        let output = try radprobeSucceeds(["metrics", "auroc", "--scores", scores.path, "--labels", labels.path] + (multiclass ? ["--multiclass"] : []))
        return try XCTUnwrap(JSONSerialization.jsonObject(with: Data(output.stdout.utf8)) as? [String: Any])
    }

    func assertMatches(_ json: [String: Any], _ fixture: Case) {
        let perClass = json["per_class"] as? [Any] ?? []
        XCTAssertEqual(perClass.count, fixture.per_class.count)
        for (actual, expected) in zip(perClass, fixture.per_class) {
            if let expected { XCTAssertEqual((actual as? Double) ?? -1, expected, accuracy: 1e-12) } else { XCTAssertTrue(actual is NSNull) }
        }
        XCTAssertEqual((json["macro"] as? Double) ?? -1, fixture.macro ?? -1, accuracy: 1e-12)
    }

    func testMultiLabelMatchesScikitLearnWithUndefinedClassesNull() throws {
        for fixture in try cases("multilabel") {
            assertMatches(try run(fixture, labelShape: [fixture.rows, fixture.columns], multiclass: false), fixture)
        }
    }

    func testMultiClassOneVsRestMatchesScikitLearn() throws {
        for fixture in try cases("multiclass") {
            assertMatches(try run(fixture, labelShape: [fixture.rows], multiclass: true), fixture)
        }
    }

    func testMismatchedShapesAreRefused() throws {
        let fixture = try cases("multiclass")[0]
        let folder = try temporaryDirectory()
        let scores = folder.appendingPathComponent("s.npy"), labels = folder.appendingPathComponent("y.npy")
        try NumPyArray.write(Tensor(shape: [fixture.rows, fixture.columns], values: fixture.scores.map(Float.init)), to: scores)
        try NumPyArray.write(Tensor(shape: [fixture.rows], values: fixture.labels.map { Float($0 ?? 0) }), to: labels)
        assertFails(try radprobe(["metrics", "auroc", "--scores", scores.path, "--labels", labels.path]), mentioning: ["need --multiclass"])
        try NumPyArray.write(Tensor(shape: [3], values: [0, 1, 0.5]), to: labels)
        assertFails(try radprobe(["metrics", "auroc", "--scores", scores.path, "--labels", labels.path, "--multiclass"]),
                    mentioning: ["y.npy", "label rows"])
    }
}
