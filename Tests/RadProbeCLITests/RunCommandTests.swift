import Checkpoints
import Foundation
import GRDB
import MedicalImaging
import TestSupport
import XCTest

/// `radprobe run` end to end on tiny data: two tiny models × (a manifest classification dataset with kNN and
/// the linear probe, a Montgomery-layout segmentation dataset with the linear decoder), its database read with
/// GRDB (the queries a user would type into the `sqlite3` shell).
final class RunCommandTests: XCTestCase {
    /// The experiment file in `folder` over the data written there; `knn` is the kNN grid.
    func writeExperiment(in folder: URL, knn: String = "[3, 5]", montgomeryRoot: String = "montgomery") throws -> URL {
        let text = """
            output: out
            bootstrap: 20
            models:
              - {name: plain, checkpoint: \(CLIFixture.path("backprop/plain/model.safetensors"))}
              - {name: swiglu, checkpoint: \(CLIFixture.path("backprop/reg4_swiglu/model.safetensors"))}
            datasets:
              - name: manifest
                root: manifest/manifest.csv
                split: {method: stratified, seed: 1, validation: 0.25, test: 0.25}
                protocols: [knn, linear]
              - name: montgomery
                root: \(montgomeryRoot)
                split: {method: systematic, validation: 0.25, test: 0.25}
                protocols: [segment]
            sizes: [28]
            protocols:
              knn: {k: \(knn)}
              linear: {learning_rates: [0.01, 0.1], epochs: 2, batch_size: 8}
              segment: {decoders: [linear], learning_rates: [0.001, 0.03], epochs: 2, batch_size: 4}
            """
        let url = folder.appendingPathComponent("experiment.yaml")
        try Data(text.utf8).write(to: url)
        return url
    }

    func writeData(in folder: URL) throws {
        let manifest = folder.appendingPathComponent("manifest")
        try FileManager.default.createDirectory(at: manifest, withIntermediateDirectories: true)
        try CLIFixture.writeManifest(images: 24, in: manifest)
        try SegmentationReplicas.writeMontgomery(count: 8, in: folder.appendingPathComponent("montgomery"))
    }

    /// Rows of the SQL `query` on the database, fields separated by `|` as the `sqlite3`
    /// shell prints them (NULL as an empty field).
    func query(_ database: URL, _ query: String) throws -> [String] {
        try DatabaseQueue(path: database.path).write { db in
            try Row.fetchAll(db, sql: query).map { row in
                row.databaseValues.map { value in
                    switch value.storage {
                    case .null: ""
                    case .int64(let integer): String(integer)
                    case .double(let double): String(double)
                    case .string(let text): text
                    case .blob(let data): String(decoding: data, as: UTF8.self)
                    }
                }.joined(separator: "|")
            }
        }
    }

    func testRunRecordsEveryCellAndASecondRunSkipsThem() throws {
        let folder = try temporaryDirectory()
        try writeData(in: folder)
        let experiment = try writeExperiment(in: folder)
        let database = folder.appendingPathComponent("out/results.sqlite")

        let dry = try radprobeSucceeds(["run", experiment.path, "--dry-run"])
        XCTAssertEqual(dry.stdout.split(separator: "\n").filter { $0.hasSuffix("  to run") }.count, 6, dry.stdout)
        XCTAssertTrue(dry.stdout.contains("plain manifest 28 knn blocks=1 k=3,5 patch_mean=false temperature=0.07 seed=0  to run"), dry.stdout)
        XCTAssertFalse(FileManager.default.fileExists(atPath: database.path), "a dry run writes nothing")

        let first = try radprobeSucceeds(["run", experiment.path, "--threads", "2"])
        XCTAssertTrue(first.stdout.contains("6 cells: 6 done, 0 already there, 0 failed"), first.stdout)
        XCTAssertTrue(first.stdout.contains("results   \(database.path)"), first.stdout)
        XCTAssertEqual(try query(database, "SELECT model, dataset, protocol, status FROM results ORDER BY id"), [
            "plain|manifest|knn|succeeded", "plain|manifest|linear|succeeded", "plain|montgomery|segment-linear|succeeded",
            "swiglu|manifest|knn|succeeded", "swiglu|manifest|linear|succeeded", "swiglu|montgomery|segment-linear|succeeded",
        ])
        let aurocs = try query(database, """
            SELECT m.value IS NOT NULL, m.ci_lower <= m.value AND m.value <= m.ci_upper FROM metrics m JOIN results r ON r.id = m.result_id
            WHERE r.protocol = 'knn' AND m.name = 'auroc_macro'
            """)
        XCTAssertEqual(aurocs, ["1|1", "1|1"])
        XCTAssertEqual(try query(database, "SELECT DISTINCT class_name FROM metrics WHERE name = 'auroc' ORDER BY class_name"), ["a", "b"])
        XCTAssertEqual(try query(database, "SELECT count(*) FROM metrics WHERE name = 'dice' AND class_name = 'lung'"), ["2"])
        let configuration = try XCTUnwrap(try query(database, """
            SELECT c.canonical_json FROM configurations c JOIN results r ON r.configuration_hash = c.hash
            WHERE r.protocol = 'segment-linear' AND r.model = 'plain'
            """).first)
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(configuration.utf8)) as? [String: Any])
        for key in ["model", "dataset", "protocol", "size", "seed", "checkpoint_sha256", "split_sha256", "learning_rates", "epochs"] {
            XCTAssertNotNil(object[key], "configuration lacks \(key): \(configuration)")
        }
        XCTAssertEqual(object["checkpoint_sha256"] as? String, try SHA256.hex(contentsOf: Fixtures.url("backprop/plain/model.safetensors")))
        let overlays = try query(database, "SELECT path FROM artifacts WHERE kind = 'overlay'")
        XCTAssertEqual(overlays.count, 4, "2 test cases × 2 models")
        for path in overlays {
            XCTAssertTrue(FileManager.default.fileExists(atPath: folder.appendingPathComponent("out/\(path)").path), path)
        }
        XCTAssertEqual(try query(database, "SELECT count(*) FROM curves WHERE name = 'train_loss'"), ["4"])

        let second = try radprobeSucceeds(["run", experiment.path, "--threads", "2"])
        XCTAssertTrue(second.stdout.contains("6 cells: 0 done, 6 already there, 0 failed"), second.stdout)
        let cachedListing = try radprobeSucceeds(["run", experiment.path, "--dry-run"])
        XCTAssertTrue(cachedListing.stdout.contains("6 cells: 6 cached, 0 to run"), cachedListing.stdout)

        // A changed kNN grid is a new configuration for the kNN cells only; the stores are reused.
        let changed = try writeExperiment(in: folder, knn: "[2, 4]")
        let third = try radprobeSucceeds(["run", changed.path, "--threads", "2"])
        XCTAssertTrue(third.stdout.contains("6 cells: 2 done, 4 already there, 0 failed"), third.stdout)
        XCTAssertFalse(third.stderr.contains("extracting features"), third.stderr)
        XCTAssertEqual(try query(database, "SELECT count(*) FROM runs WHERE status = 'finished'"), ["3"])
    }

    /// The protocols the first test leaves out — logistic regression, few-shot draws, the three fine-tuning
    /// modes and the U-Net trained from scratch (whose sides must be multiples of 16, hence size 112) — each
    /// record their results, with the metrics docs/results.md names.
    func testEveryOtherProtocolRecordsItsResults() throws {
        let folder = try temporaryDirectory()
        try writeData(in: folder) // its manifest lists an unreadable picture, which extraction and fine-tuning leave out
        let text = """
            output: out
            bootstrap: 20
            models:
              - {name: plain, checkpoint: \(CLIFixture.path("backprop/plain/model.safetensors"))}
            datasets:
              - name: manifest
                root: manifest/manifest.csv
                split: {method: stratified, seed: 1, validation: 0.25, test: 0.25}
                protocols: [logreg, fewshot, finetune]
              - name: montgomery
                root: montgomery
                split: {method: systematic, validation: 0.25, test: 0.25}
                protocols: [segment]
            sizes: [112]
            protocols:
              logreg: {c: [0.1, 1]}
              fewshot: {shots: [1, 2], draws: 2, learning_rates: [0.1], epochs: 2, batch_size: 8}
              finetune: {modes: [full, lora, bitfit], backbone_learning_rates: [0.0001], epochs: 2, batch_size: 8, lora_rank: 2}
              segment: {decoders: [scratch], learning_rates: [0.01], epochs: 1, batch_size: 4, scratch_width: 2}
            """
        let experiment = folder.appendingPathComponent("experiment.yaml")
        try Data(text.utf8).write(to: experiment)
        let run = try radprobeSucceeds(["run", experiment.path, "--threads", "2"])
        XCTAssertTrue(run.stdout.contains("9 cells: 9 done, 0 already there, 0 failed"), run.stdout)
        let database = folder.appendingPathComponent("out/results.sqlite")
        XCTAssertEqual(try query(database, "SELECT model, protocol, count(*) FROM results WHERE status = 'succeeded' GROUP BY model, protocol ORDER BY protocol"), [
            "plain|fewshot|4", "plain|finetune-bitfit|1", "plain|finetune-full|1", "plain|finetune-lora|1", "plain|logreg|1", "scratch|segment-scratch|1",
        ])
        XCTAssertEqual(try query(database, """
            SELECT r.protocol FROM results r JOIN metrics m ON m.result_id = r.id
            WHERE m.name = 'auroc_macro' AND m.value IS NOT NULL ORDER BY r.protocol
            """), ["fewshot", "fewshot", "fewshot", "fewshot", "finetune-bitfit", "finetune-full", "finetune-lora", "logreg"])
        let trainable = try query(database, """
            SELECT r.protocol, m.value < t.value FROM results r JOIN metrics m ON m.result_id = r.id AND m.name = 'trainable_parameters'
            JOIN metrics t ON t.result_id = r.id AND t.name = 'total_parameters' WHERE r.protocol LIKE 'finetune-%' ORDER BY r.protocol
            """)
        XCTAssertEqual(trainable, ["finetune-bitfit|1", "finetune-full|0", "finetune-lora|1"])
        XCTAssertEqual(try query(database, "SELECT count(*) FROM metrics m JOIN results r ON r.id = m.result_id WHERE r.protocol = 'segment-scratch' AND m.name = 'dice_mean'"), ["1"])
        let draws = try query(database, """
            SELECT json_extract(c.canonical_json, '$.shots') || '/' || json_extract(c.canonical_json, '$.draw') FROM results r
            JOIN configurations c ON c.hash = r.configuration_hash WHERE r.protocol = 'fewshot' ORDER BY 1
            """)
        XCTAssertEqual(draws, ["1/0", "1/1", "2/0", "2/1"])
    }

    /// A VGG and a SAM encoder in the matrix: their features (one level, VGG's patch means narrower than its
    /// pooled vector) go through kNN and the linear probe; fine-tuning cells fail naming the family.
    func testOtherFamiliesRunTheClassificationProtocols() throws {
        let folder = try temporaryDirectory()
        try writeData(in: folder)
        let text = """
            output: out
            bootstrap: 20
            models:
              - {name: vgg, checkpoint: \(CLIFixture.path("cnn/vgg.pth"))}
              - {name: sam, checkpoint: \(CLIFixture.path("sam/sam_tiny.pth"))}
            datasets:
              - name: manifest
                root: manifest/manifest.csv
                split: {method: stratified, seed: 1, validation: 0.25, test: 0.25}
            sizes: [112]
            protocols:
              knn: {k: [3]}
              linear: {learning_rates: [0.01], epochs: 2, batch_size: 8}
              finetune: {modes: [full], backbone_learning_rates: [0.0001], epochs: 1, batch_size: 8}
            """
        let experiment = folder.appendingPathComponent("experiment.yaml")
        try Data(text.utf8).write(to: experiment)
        let run = try radprobe(["run", experiment.path, "--threads", "2"])
        XCTAssertEqual(run.exitCode, 1, "\(run)")
        XCTAssertTrue(run.stdout.contains("6 cells: 4 done, 0 already there, 2 failed"), run.stdout)
        let database = folder.appendingPathComponent("out/results.sqlite")
        XCTAssertEqual(try query(database, """
            SELECT r.model, r.protocol FROM results r JOIN metrics m ON m.result_id = r.id
            WHERE m.name = 'auroc_macro' AND m.value IS NOT NULL ORDER BY r.model, r.protocol
            """), ["sam|knn", "sam|linear", "vgg|knn", "vgg|linear"])
        XCTAssertEqual(try query(database, "SELECT model, error LIKE '%runs on DINOv2 backbones%' FROM results WHERE status = 'failed' ORDER BY model"),
                       ["sam|1", "vgg|1"])
    }

    func testMissingDatasetRootFailsItsCellsOnly() throws {
        let folder = try temporaryDirectory()
        try writeData(in: folder)
        let experiment = try writeExperiment(in: folder, montgomeryRoot: "no-such-folder")
        let dry = try radprobeSucceeds(["run", experiment.path, "--dry-run"])
        XCTAssertTrue(dry.stdout.contains("plain montgomery 28 segment-linear"), dry.stdout)
        XCTAssertTrue(dry.stdout.contains("will fail: the root \(folder.appendingPathComponent("no-such-folder").path) of dataset montgomery does not exist"),
                      dry.stdout)
        let run = try radprobe(["run", experiment.path, "--threads", "2"])
        XCTAssertEqual(run.exitCode, 1, "\(run)")
        XCTAssertTrue(run.stdout.contains("6 cells: 4 done, 0 already there, 2 failed"), run.stdout)
        let database = folder.appendingPathComponent("out/results.sqlite")
        XCTAssertEqual(try query(database, "SELECT protocol, status, error LIKE '%no-such-folder of dataset montgomery does not exist' FROM results WHERE status = 'failed'"),
                       ["segment-linear|failed|1", "segment-linear|failed|1"])
        XCTAssertEqual(try query(database, "SELECT count(*) FROM results WHERE status = 'succeeded'"), ["4"])
    }

    func testBadExperimentFilesAreRefusedWithTheirPosition() throws {
        let folder = try temporaryDirectory()
        let experiment = try writeExperiment(in: folder)
        let text = try String(contentsOf: experiment, encoding: .utf8)
        try Data(text.replacingOccurrences(of: "epochs: 2, batch_size: 8", with: "epochs: 2, batch: 8").utf8).write(to: experiment)
        assertFails(try radprobe(["run", experiment.path]), mentioning: ["\(experiment.path):18:", "unknown key 'batch' in protocol linear"])
        try Data(text.replacingOccurrences(of: "sizes: [28]", with: "sizes: [large]").utf8).write(to: experiment)
        assertFails(try radprobe(["run", experiment.path]), mentioning: ["\(experiment.path):15:9: 'sizes' must be an integer (got 'large')"])
        try Data("output: [\n".utf8).write(to: experiment)
        assertFails(try radprobe(["run", experiment.path]), mentioning: ["is not valid YAML"])
        assertFails(try radprobe(["run", folder.appendingPathComponent("none.yaml").path]), mentioning: ["none.yaml: cannot be read"])
    }

    func testDatabaseOfANewerSchemaIsRefusedUntouched() throws {
        let folder = try temporaryDirectory()
        try writeData(in: folder)
        let experiment = try writeExperiment(in: folder)
        let database = folder.appendingPathComponent("out/results.sqlite")
        try FileManager.default.createDirectory(at: database.deletingLastPathComponent(), withIntermediateDirectories: true)
        try DatabaseQueue(path: database.path).write { db in
            try db.execute(sql: "CREATE TABLE grdb_migrations (identifier TEXT NOT NULL PRIMARY KEY); INSERT INTO grdb_migrations VALUES ('v1'), ('v2'), ('v99');")
        }
        let before = try Data(contentsOf: database)
        assertFails(try radprobe(["run", experiment.path]), mentioning: [database.path, "newer RadProbe", "v99"])
        XCTAssertEqual(try Data(contentsOf: database), before)
    }

    /// The study's experiment file is valid: its matrix is listed (every input missing here).
    func testStudyExperimentFileIsValid() throws {
        let run = try radprobeSucceeds(["run", Fixtures.packageRoot.appendingPathComponent("experiments/study.yaml").path, "--dry-run"])
        XCTAssertTrue(run.stdout.contains("dinov2-vitg14 msd-spleen 448 segment-unet"), run.stdout)
        XCTAssertTrue(run.stdout.contains("dinov2-vits14 nih-chestxray14 224 finetune-lora"), run.stdout)
        XCTAssertTrue(run.stdout.contains("sam-vit-l chexpert 1024 linear"), run.stdout)
        XCTAssertFalse(run.stdout.contains("resnet152 montgomery"), "the comparison backbones run the probes only")
    }
}
