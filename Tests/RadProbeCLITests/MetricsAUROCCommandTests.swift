import Checkpoints
import Foundation
import TensorCore
import TestSupport
import XCTest

/// `radprobe metrics auroc` and `metrics compare` on the scikit-learn and DeLong fixtures of the Metrics
/// tests, written as `.npy` files.
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

    struct DeLongCase: Decodable {
        let labels: [Double]
        let scores_a: [Double]
        let scores_b: [Double]
        let auroc_a: Double
        let auroc_b: Double
        let z: Double
        let p: Double
    }

    /// DeLong's z and p per class equal the fixture's (one class: scores [N]); the macro comparison's
    /// difference is AUROC(A) − AUROC(B) with an interval around it; swapping A and B negates it.
    func testCompareMatchesDeLongFixtures() throws {
        let cases = try JSONDecoder().decode([DeLongCase].self, from: Data(contentsOf: Fixtures.url("metrics/delong.json")))
        for fixture in cases {
            let folder = try temporaryDirectory()
            let a = folder.appendingPathComponent("a.npy"), b = folder.appendingPathComponent("b.npy"), y = folder.appendingPathComponent("y.npy")
            try NumPyArray.write(Tensor(shape: [fixture.labels.count], values: fixture.scores_a.map(Float.init)), to: a)
            try NumPyArray.write(Tensor(shape: [fixture.labels.count], values: fixture.scores_b.map(Float.init)), to: b)
            try NumPyArray.write(Tensor(shape: [fixture.labels.count], values: fixture.labels.map(Float.init)), to: y)
            let run = try radprobeSucceeds(["metrics", "compare", "--scores-a", a.path, "--scores-b", b.path, "--labels", y.path,
                                            "--bootstrap", "200"])
            let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
            let perClass = try XCTUnwrap((json["per_class"] as? [[String: Any]])?.first)
            XCTAssertEqual(perClass["auroc_a"] as? Double ?? -1, fixture.auroc_a, accuracy: 1e-12)
            XCTAssertEqual(perClass["auroc_b"] as? Double ?? -1, fixture.auroc_b, accuracy: 1e-12)
            XCTAssertEqual(perClass["z"] as? Double ?? 0, fixture.z, accuracy: 1e-6)
            XCTAssertEqual(perClass["p_value"] as? Double ?? -1, fixture.p, accuracy: 1e-6)
            let macro = try XCTUnwrap(json["macro"] as? [String: Any])
            let difference = try XCTUnwrap(macro["difference"] as? Double)
            XCTAssertEqual(difference, fixture.auroc_a - fixture.auroc_b, accuracy: 1e-12)
            XCTAssertLessThanOrEqual(macro["lower"] as? Double ?? 1, macro["upper"] as? Double ?? 0)
            let swapped = try radprobeSucceeds(["metrics", "compare", "--scores-a", b.path, "--scores-b", a.path, "--labels", y.path,
                                                "--bootstrap", "200"])
            let other = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(swapped.stdout.utf8)) as? [String: Any])
            XCTAssertEqual((other["macro"] as? [String: Any])?["difference"] as? Double ?? 0, -difference, accuracy: 1e-12)
        }
    }
}
