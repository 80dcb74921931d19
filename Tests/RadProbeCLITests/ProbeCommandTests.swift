import Checkpoints
import Foundation
import TensorCore
import TestSupport
import XCTest

/// `radprobe knn|linear|logreg|fewshot` end to end: extract a manifest dataset with the tiny model, split
/// it, run each protocol, and read its report; and the same protocols on plain `.npy` arrays.
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

    /// Writes `values` as a float32 `.npy` of `shape` named `name` in `folder`; returns its path.
    static func writeArray(_ values: [Float], shape: [Int], to folder: URL, _ name: String) throws -> String {
        let url = folder.appendingPathComponent(name)
        try NumPyArray.write(Tensor(shape: shape, values: values), to: url)
        return url.path
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
            let run = try radprobeSucceeds([name, store] + common + options + ["--out", out.path])
            XCTAssertTrue(run.stdout.contains("test      AUROC macro"), run.stdout)
            XCTAssertTrue(run.stderr.contains("have no stored features (skipped during extraction), e.g. broken.png"), run.stderr)
            let phase = ["linear": "training 2 heads", "logreg": "fitting one model per C value"][name]
            if let phase { XCTAssertTrue(run.stderr.contains("progress: ") && run.stderr.contains(phase), "no progress lines:\n\(run.stderr)") }
            let json = try report(out)
            let result = try XCTUnwrap(json["result"] as? [String: Any])
            let selection = try XCTUnwrap(result["selection"] as? [String: Any])
            XCTAssertEqual(selection["metric"] as? String, "accuracy", "multi-class data select by accuracy")
            XCTAssertNotNil((result["test"] as? [String: Any])?["accuracy"])
            XCTAssertEqual((json["store"] as? [String: Any])?["split_file"] as? String, split)
        }
        let linear = try report(folder.appendingPathComponent("linear.json"))
        let candidates = ((linear["result"] as? [String: Any])?["selection"] as? [String: Any])?["candidates"] as? [[String: Any]]
        XCTAssertEqual(candidates?.count, 2, "2 learning rates × 1 block (4 exceeds the 2 stored) × no patch mean (none stored)")
    }

    func testFewShotReportsEachNumberOfPatients() throws {
        let (store, split, folder) = try storeAndSplit()
        let out = folder.appendingPathComponent("fewshot.json")
        let run = try radprobeSucceeds(["fewshot", store, "--split", split, "--shots", "1,2", "--draws", "2",
                                        "--learning-rates", "0.1", "--epochs", "2", "--batch-size", "2", "--bootstrap", "5",
                                        "--out", out.path, "--threads", "2"])
        XCTAssertTrue(run.stdout.contains("patients/class"), run.stdout)
        let points = try XCTUnwrap((report(out)["result"] as? [String: Any])?["points"] as? [[String: Any]])
        XCTAssertEqual(points.map { $0["patients_per_class"] as? Int }, [1, 2])
        XCTAssertEqual((points[1]["draws"] as? [[String: Any]])?.map { ($0["patients"] as? [String])?.count }, [4, 4])
    }

    func testBadInputIsRefusedClearly() throws {
        let (store, split, folder) = try storeAndSplit()
        assertFails(try radprobe(["knn", store, "--split", split, "--k", "1,x"]), mentioning: ["--k must be a comma-separated list"])
        assertFails(try radprobe(["knn", store, "--split", split, "--k", "500"]), mentioning: ["500"])
        assertFails(try radprobe(["linear", store, "--split", split, "--block-choices", "4"]),
                    mentioning: ["hold 2 blocks", "--layers 4"])
        assertFails(try radprobe(["knn", store, "--split", split, "--patch-mean"]), mentioning: ["--patch-tokens mean"])
        assertFails(try radprobe(["knn", folder.path, "--split", split]), mentioning: ["not a feature store"])
        try Data("# radprobe split v1 dataset=manifest\n".utf8).write(to: folder.appendingPathComponent("bad.csv"))
        assertFails(try radprobe(["knn", store, "--split", folder.appendingPathComponent("bad.csv").path]), mentioning: ["bad.csv"])
    }

    /// The example: kNN on arrays without test labels writes class probabilities [N_test, C]
    /// equal to DINOv2's vote (the softmax over the k neighbours' similarities / T, summed per class).
    func testKNNOnArraysWritesProbabilities() throws {
        let folder = try temporaryDirectory()
        let train: [[Float]] = [[1, 0, 0], [0.9, 0.1, 0], [0, 1, 0], [0.1, 0.9, 0.1], [0, 0, 1], [0.1, 0, 0.95]]
        let labels: [Float] = [0, 0, 1, 1, 2, 2]
        let test: [[Float]] = [[0.8, 0.3, 0], [0, 0.2, 1]]
        func write(_ rows: [[Float]], _ name: String) throws -> String {
            try Self.writeArray(rows.flatMap { $0 }, shape: [rows.count, rows[0].count], to: folder, name)
        }
        let labelFile = folder.appendingPathComponent("labels.npy")
        try NumPyArray.write(Tensor(shape: [6], values: labels), to: labelFile)
        let out = folder.appendingPathComponent("p.npy")
        let run = try radprobeSucceeds(["knn", "--train-features", try write(train, "f.npy"), "--train-labels", labelFile.path,
                                        "--test-features", try write(test, "g.npy"), "--k", "2", "--temperature", "0.07",
                                        "--probabilities-out", out.path])
        XCTAssertTrue(run.stdout.contains("no labels given"), run.stdout)
        let probabilities = try NumPyArray.read(contentsOf: out)
        XCTAssertEqual(probabilities.shape, [2, 3])
        func cosine(_ a: [Float], _ b: [Float]) -> Float {
            zip(a, b).map(*).reduce(0, +) / (a.map { $0 * $0 }.reduce(0, +).squareRoot() * b.map { $0 * $0 }.reduce(0, +).squareRoot())
        }
        for (row, query) in test.enumerated() {
            let ranked = train.indices.sorted { cosine(query, train[$0]) > cosine(query, train[$1]) }.prefix(2)
            let weights = ranked.map { exp(cosine(query, train[$0]) / 0.07) }
            var expected = [Float](repeating: 0, count: 3)
            for (index, weight) in zip(ranked, weights) { expected[Int(labels[index])] += weight / weights.reduce(0, +) }
            for c in 0..<3 { XCTAssertEqual(probabilities[row, c], expected[c], accuracy: 1e-5) }
        }
        assertFails(try radprobe(["knn", "--train-features", try write(train, "f2.npy"), "--train-labels", labelFile.path,
                                  "--test-features", try write(test, "g2.npy"), "--k", "1,2"]),
                    mentioning: ["2 candidates of knn need validation rows"])
        assertFails(try radprobe(["knn", "--train-features", try write(train, "f3.npy"), "--train-labels", labelFile.path,
                                  "--test-features", try write([[1, 2]], "g3.npy"), "--k", "1"]),
                    mentioning: ["g3.npy", "widths must agree"])
    }

    /// Arrays with validation rows choose among candidates; with test labels, metrics over rows.
    func testLinearOnArraysWithValidation() throws {
        let folder = try temporaryDirectory()
        let write = { (name: String, shape: [Int], values: [Float]) in try Self.writeArray(values, shape: shape, to: folder, name) }
        func rows(_ count: Int, shift: Int) -> ([Float], [Float]) {
            let labels = (0..<count).map { Float(($0 + shift) % 2) }
            var features: [Float] = []
            for (row, label) in labels.enumerated() {
                let jitter = Float(row % 3) * 0.1
                features += [label * 2 - 1 + jitter, Float(row % 5) * 0.1]
            }
            return (features, labels)
        }
        let (trainX, trainY) = rows(20, shift: 0), (valX, valY) = rows(8, shift: 1), (testX, testY) = rows(10, shift: 0)
        let out = folder.appendingPathComponent("r.json")
        try radprobeSucceeds(["linear", "--train-features", try write("a.npy", [20, 2], trainX), "--train-labels", try write("b.npy", [20], trainY),
                              "--val-features", try write("c.npy", [8, 2], valX), "--val-labels", try write("d.npy", [8], valY),
                              "--test-features", try write("e.npy", [10, 2], testX), "--test-labels", try write("f.npy", [10], testY),
                              "--learning-rates", "0.1,1", "--epochs", "5", "--batch-size", "4", "--bootstrap", "20", "--out", out.path])
        let json = try report(out)
        XCTAssertNotNil((json["arrays"] as? [String: Any])?["sha256"])
        let result = try XCTUnwrap(json["result"] as? [String: Any])
        XCTAssertEqual(((result["selection"] as? [String: Any])?["candidates"] as? [Any])?.count, 2)
        XCTAssertEqual(((result["test"] as? [String: Any])?["bootstrap"] as? [String: Any])?["units"] as? String, "rows")
        XCTAssertEqual(((result["test"] as? [String: Any])?["auroc_macro"] as? [String: Any])?["value"] as? Double, 1)
    }

    /// Documented behaviour for a finding without training positives (the linear head still ranks the
    /// test rows; logistic regression refuses it, naming the finding) and refusal of NaN features.
    func testFindingWithoutPositivesAndNaNFeatures() throws {
        let folder = try temporaryDirectory()
        let write = { (name: String, shape: [Int], values: [Float]) in try Self.writeArray(values, shape: shape, to: folder, name) }
        let features = (0..<40).map { Float(sin(Double($0))) }
        let labels: [Float] = (0..<20).flatMap { row -> [Float] in [Float(row % 2), 0] }
        let testLabels: [Float] = (0..<5).flatMap { row -> [Float] in [Float(row % 2), Float((row / 2) % 2)] }
        let arrays = ["--train-features", try write("x.npy", [20, 2], features), "--train-labels", try write("y.npy", [20, 2], labels),
                      "--test-features", try write("t.npy", [5, 2], Array(features.prefix(10))),
                      "--test-labels", try write("ty.npy", [5, 2], testLabels), "--bootstrap", "5"]
        let linear = try radprobeSucceeds(["linear"] + arrays + ["--learning-rates", "0.1", "--epochs", "2", "--batch-size", "4"])
        XCTAssertTrue(linear.stdout.contains("AUROC macro"), linear.stdout)
        assertFails(try radprobe(["logreg"] + arrays + ["--c-values", "1"]), mentioning: ["label 1", "positive and negative"])
        var broken = features
        broken[7] = .nan
        assertFails(try radprobe(["knn", "--train-features", try write("n.npy", [20, 2], broken), "--train-labels", folder.appendingPathComponent("y.npy").path,
                                  "--test-features", folder.appendingPathComponent("t.npy").path, "--k", "3"]),
                    mentioning: ["n.npy", "non-finite value at item 3"])
    }
}
