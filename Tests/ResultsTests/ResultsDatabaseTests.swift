import FileAccess
import Foundation
import GRDB
@testable import Results
import TestSupport
import XCTest

final class ResultsDatabaseTests: XCTestCase {
    struct Configuration: Encodable {
        var model = "vits14"
        var dataset = "montgomery"
        var learningRates = [0.1, 0.01]
        var path = "a/b"
    }

    func sampleRecord(_ configuration: CanonicalConfiguration, error: String? = nil) -> ResultRecord {
        ResultRecord(configuration: configuration, model: "vits14", dataset: "nih", protocolName: "linear", seed: 7, error: error,
                     metrics: error == nil ? [MetricValue(name: "auroc_macro", value: 0.81, lower: 0.79, upper: 0.83),
                                              MetricValue(name: "auroc", className: "Effusion", value: 0.9),
                                              MetricValue(name: "auroc", className: "Hernia", value: nil)] : [],
                     curves: [CurvePoint(name: "train_loss", epoch: 0, value: 0.7), CurvePoint(name: "train_loss", epoch: 1, value: 0.5)],
                     timings: [PhaseTiming(phase: "train", seconds: 1.5)],
                     artifacts: [Artifact(kind: "overlay", path: "predictions/case_1.png")])
    }

    func testCanonicalConfigurationIsIndependentOfKeyOrderAndSpacing() throws {
        let a = try CanonicalConfiguration(json: #"{"b": [1, 2], "a": {"y": "p/q", "x": true}}"#)
        let b = try CanonicalConfiguration(json: #"{"a":{"x":true,"y":"p/q"},"b":[1,2]}"#)
        XCTAssertEqual(a, b)
        XCTAssertEqual(a.json, #"{"a":{"x":true,"y":"p/q"},"b":[1,2]}"#)
        XCTAssertEqual(a.hash, SHA256.hex(Array(a.json.utf8)))
        XCTAssertNotEqual(a.hash, try CanonicalConfiguration(json: #"{"a":{"x":false,"y":"p/q"},"b":[1,2]}"#).hash)
        XCTAssertEqual(try CanonicalConfiguration(Configuration()).json,
                       #"{"dataset":"montgomery","learningRates":[0.1,0.01],"model":"vits14","path":"a/b"}"#)
        XCTAssertThrowsError(try CanonicalConfiguration(json: "{not json"))
    }

    func testRecordsReadBackAfterReopening() throws {
        let url = try Fixtures.temporaryDirectory(removedAfter: self).appendingPathComponent("results.sqlite")
        let configuration = try CanonicalConfiguration(Configuration())
        let record = sampleRecord(configuration)
        do {
            let database = try ResultsDatabase(url: url)
            let run = try database.beginRun(command: "radprobe run study.yaml", radProbeVersion: "0.1.0")
            XCTAssertFalse(try database.hasSucceededResult(configurationHash: configuration.hash))
            _ = try database.record(record, runID: run)
            try database.finishRun(run)
        }
        let reopened = try ResultsDatabase(url: url)
        XCTAssertEqual(try reopened.schemaVersions(), ["v1", "v2"])
        XCTAssertTrue(try reopened.hasSucceededResult(configurationHash: configuration.hash))
        XCTAssertEqual(try reopened.results(), [record])
        let status = try DatabaseQueue(path: url.path).read { try String.fetchOne($0, sql: "SELECT status FROM runs") }
        XCTAssertEqual(status, "finished")
    }

    func testAFailedResultDoesNotCountAsDone() throws {
        let url = try Fixtures.temporaryDirectory(removedAfter: self).appendingPathComponent("results.sqlite")
        let database = try ResultsDatabase(url: url)
        let configuration = try CanonicalConfiguration(Configuration())
        let run = try database.beginRun(command: "radprobe run", radProbeVersion: "0.1.0")
        _ = try database.record(sampleRecord(configuration, error: "dataset root missing"), runID: run)
        XCTAssertFalse(try database.hasSucceededResult(configurationHash: configuration.hash))
        XCTAssertEqual(try database.results().map(\.error), ["dataset root missing"])
    }

    /// A result whose rows cannot all be written leaves nothing behind (one transaction).
    func testAResultIsWrittenWhollyOrNotAtAll() throws {
        let url = try Fixtures.temporaryDirectory(removedAfter: self).appendingPathComponent("results.sqlite")
        let database = try ResultsDatabase(url: url)
        let run = try database.beginRun(command: "radprobe run", radProbeVersion: "0.1.0")
        var record = sampleRecord(try CanonicalConfiguration(Configuration()))
        record.curves.append(record.curves[0]) // the same (name, epoch) twice breaks the curves' primary key, after the metrics
        XCTAssertThrowsError(try database.record(record, runID: run))
        XCTAssertEqual(try database.results(), [])
        let counts = try DatabaseQueue(path: url.path).read { db in
            try ["configurations", "results", "metrics", "curves", "timings", "artifacts"].map { try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM \($0)") }
        }
        XCTAssertEqual(counts, [0, 0, 0, 0, 0, 0])
    }

    func testRefusesADatabaseOfANewerSchema() throws {
        let url = try Fixtures.temporaryDirectory(removedAfter: self).appendingPathComponent("results.sqlite")
        _ = try ResultsDatabase(url: url)
        try DatabaseQueue(path: url.path).write { try $0.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('v99')") }
        XCTAssertThrowsError(try ResultsDatabase(url: url)) { error in
            XCTAssertEqual((error as? FileError)?.file, url.path)
            XCTAssertTrue("\(error)".contains("newer RadProbe"), "\(error)")
        }
    }

    /// A database of the first schema (v1 only) is migrated in place, its results kept.
    func testMigratesADatabaseOfTheFirstSchema() throws {
        let url = try Fixtures.temporaryDirectory(removedAfter: self).appendingPathComponent("results.sqlite")
        let queue = try DatabaseQueue(path: url.path)
        try ResultsSchema.migrator.migrate(queue, upTo: "v1")
        try queue.write { db in
            try db.execute(sql: "INSERT INTO runs (radprobe_version, command, started_at, status) VALUES ('0.1.0', 'radprobe run', '2026-01-01T00:00:00Z', 'finished')")
            try db.execute(sql: "INSERT INTO configurations (hash, canonical_json) VALUES ('h', '{}')")
            try db.execute(sql: "INSERT INTO results (run_id, configuration_hash, model, dataset, protocol, status, recorded_at) VALUES (1, 'h', 'm', 'd', 'knn', 'succeeded', '2026-01-01T00:00:00Z')")
        }
        try queue.close()
        let database = try ResultsDatabase(url: url)
        XCTAssertEqual(try database.schemaVersions(), ["v1", "v2"])
        XCTAssertTrue(try database.hasSucceededResult(configurationHash: "h"))
        XCTAssertEqual(try database.results().map(\.artifacts), [[]])
    }

    func testRefusesAFileThatIsNotADatabase() throws {
        let url = try Fixtures.temporaryDirectory(removedAfter: self).appendingPathComponent("results.sqlite")
        try Data("not a database, just text that is long enough to have a header".utf8).write(to: url)
        XCTAssertThrowsError(try ResultsDatabase(url: url)) { error in
            XCTAssertEqual((error as? FileError)?.file, url.path)
        }
        XCTAssertEqual(try String(contentsOf: url, encoding: .utf8), "not a database, just text that is long enough to have a header")
    }
}
