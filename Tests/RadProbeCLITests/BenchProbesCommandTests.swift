import Foundation
import XCTest

/// `radprobe bench probes` on tiny sizes: one JSON record per task and variant, with the sizes asked for
/// and results in range (timings are not checked).
final class BenchProbesCommandTests: XCTestCase {
    func testReportsEveryTaskAsJSONLines() throws {
        let run = try radprobeSucceeds(["bench", "probes", "--train", "300", "--test", "40", "--width", "16", "--blocks", "2",
                                        "--labels", "3", "--classes", "3", "--neighbours", "5", "20", "--c-values", "0.1", "1",
                                        "--max-iterations", "50", "--batch-size", "64", "--resamples", "20", "--json", "--threads", "2"])
        let records = try run.stdout.split(separator: "\n").map {
            try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
        XCTAssertEqual(records.map { "\($0["task"] ?? "") \($0["variant"] ?? "")" },
                       ["knn multi_class", "ml-knn multi_label", "linear multi_label", "linear multi_class",
                        "logistic multi_class", "logistic multi_label", "auroc multi_label"])
        for record in records {
            XCTAssertEqual(record["implementation"] as? String, "radprobe")
            XCTAssertEqual(record["train"] as? Int, 300)
            XCTAssertEqual(record["test"] as? Int, 40)
            XCTAssertEqual(record["width"] as? Int, 16)
            XCTAssertEqual(record["blocks"] as? Int, 2)
            XCTAssertEqual(record["threads"] as? Int, 2)
            XCTAssertGreaterThan(record["seconds"] as? Double ?? 0, 0)
        }
        let knn = records[0], linear = records[2], logistic = records[5], auroc = records[6]
        XCTAssertEqual(knn["k"] as? [Int], [5, 20])
        XCTAssertEqual((knn["accuracy"] as? [Double])?.count, 2)
        XCTAssertEqual(linear["heads"] as? Int, 52)
        XCTAssertEqual(linear["steps"] as? Int, 4)
        XCTAssertEqual(linear["outputs"] as? Int, 3)
        XCTAssertEqual(logistic["fits"] as? Int, 3)
        XCTAssertEqual((logistic["iterations"] as? [Int])?.count, 3)
        XCTAssertEqual((logistic["scores"] as? [Double])?.count, 2)
        let interval = try [auroc["lower"], auroc["macro_auroc"], auroc["upper"]].map { try XCTUnwrap($0 as? Double) }
        XCTAssertEqual(interval, interval.sorted())
        XCTAssertEqual(auroc["resamples"] as? Int, 20)
    }

    func testBadSizesAreRefused() throws {
        assertFails(try radprobe(["bench", "probes", "--train", "50", "--batch-size", "128"]), mentioning: ["--batch-size"])
        assertFails(try radprobe(["bench", "probes", "--train", "150", "--batch-size", "100", "--neighbours", "200"]), mentioning: ["200"])
    }
}
