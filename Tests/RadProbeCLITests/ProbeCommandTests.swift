import Foundation
import TestSupport
import XCTest

/// `radprobe probe` end to end: extract a manifest dataset with the tiny model, split it, run each
/// protocol, and read its report.
final class ProbeCommandTests: XCTestCase {
    /// A store of 24 labelled images (and one unreadable; class tokens of 2 blocks only) and a stratified split of it.
    func storeAndSplit() throws -> (store: String, split: String, folder: URL) {
        let folder = try temporaryDirectory(), store = folder.appendingPathComponent("store").path
        try CLIFixture.writeManifest(images: 24, in: folder)
        try radprobeSucceeds(["extract", "manifest", "--root", folder.path, "--checkpoint", CLIFixture.plainPTH, "--size", "28",
                              "--layers", "2", "--patch-tokens", "none", "--out", store, "--threads", "2"])
        let split = folder.appendingPathComponent("split.csv").path
        try radprobeSucceeds(["datasets", "split", "manifest", "--root", folder.path, "--out", split, "--method", "stratified",
                              "--seed", "1", "--validation", "0.25", "--test", "0.25"])
        return (store, split, folder)
    }

    func report(_ path: URL) throws -> [String: Any] {
        try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: path)) as? [String: Any])
    }

    func testEveryProtocolWritesAReport() throws {
        let (store, split, folder) = try storeAndSplit()
        let common = ["--split", split, "--bootstrap", "20", "--threads", "2"]
        let runs: [(String, [String])] = [
            ("knn", ["--k", "1,3"]),
            ("linear", ["--learning-rates", "0.01,0.1", "--epochs", "2", "--batch-size", "4"]),
            ("logreg", ["--c-values", "0.1,1", "--blocks", "2"]),
        ]
        for (name, options) in runs {
            let out = folder.appendingPathComponent("\(name).json")
            let run = try radprobeSucceeds(["probe", name, store] + common + options + ["--out", out.path])
            XCTAssertTrue(run.stdout.contains("test      AUROC macro"), run.stdout)
            XCTAssertTrue(run.stderr.contains("have no stored features (skipped during extraction), e.g. broken.png"), run.stderr)
            let json = try report(out)
            let result = try XCTUnwrap(json["result"] as? [String: Any])
            let selection = try XCTUnwrap(result["selection"] as? [String: Any])
            XCTAssertEqual(selection["metric"] as? String, "accuracy", "multi-class data select by accuracy")
            XCTAssertNotNil((result["test"] as? [String: Any])?["accuracy"])
            XCTAssertEqual((json["provenance"] as? [String: Any])?["split_file"] as? String, split)
        }
        let linear = try report(folder.appendingPathComponent("linear.json"))
        let candidates = ((linear["result"] as? [String: Any])?["selection"] as? [String: Any])?["candidates"] as? [[String: Any]]
        XCTAssertEqual(candidates?.count, 2, "2 learning rates × 1 block (4 exceeds the 2 stored) × no patch mean (none stored)")
    }

    func testFewShotReportsEachNumberOfPatients() throws {
        let (store, split, folder) = try storeAndSplit()
        let out = folder.appendingPathComponent("fewshot.json")
        let run = try radprobeSucceeds(["probe", "fewshot", store, "--split", split, "--shots", "1,2", "--draws", "2",
                                        "--learning-rates", "0.1", "--epochs", "2", "--batch-size", "2", "--bootstrap", "5",
                                        "--out", out.path, "--threads", "2"])
        XCTAssertTrue(run.stdout.contains("patients/class"), run.stdout)
        let points = try XCTUnwrap((report(out)["result"] as? [String: Any])?["points"] as? [[String: Any]])
        XCTAssertEqual(points.map { $0["patients_per_class"] as? Int }, [1, 2])
        XCTAssertEqual((points[1]["draws"] as? [[String: Any]])?.map { ($0["patients"] as? [String])?.count }, [4, 4])
    }

    func testBadInputIsRefusedClearly() throws {
        let (store, split, folder) = try storeAndSplit()
        assertFails(try radprobe(["probe", "knn", store, "--split", split, "--k", "1,x"]), mentioning: ["--k must be a comma-separated list"])
        assertFails(try radprobe(["probe", "knn", store, "--split", split, "--k", "500"]), mentioning: ["500"])
        assertFails(try radprobe(["probe", "linear", store, "--split", split, "--block-choices", "4"]),
                    mentioning: ["keeps 2 blocks", "--layers 4"])
        assertFails(try radprobe(["probe", "knn", store, "--split", split, "--patch-mean"]), mentioning: ["--patch-tokens mean"])
        assertFails(try radprobe(["probe", "knn", folder.path, "--split", split]), mentioning: ["not a feature store"])
        try Data("# radprobe split v1 dataset=manifest\n".utf8).write(to: folder.appendingPathComponent("bad.csv"))
        assertFails(try radprobe(["probe", "knn", store, "--split", folder.appendingPathComponent("bad.csv").path]), mentioning: ["bad.csv"])
    }
}
