import FileAccess
import Foundation
import GRDB

/// The results of a study in one SQLite file (`results.sqlite` beside the report), readable with the `sqlite3`
/// shell (the tables: `ResultsSchema`, docs/results.md).
///
/// Opening migrates an older file to the current schema and refuses a file written by a newer RadProbe (one
/// whose applied migrations this version does not know). Every result is written in one transaction with its
/// configuration, metrics, curves and timings, so a crash never leaves half of a result behind.
public final class ResultsDatabase: Sendable {
    /// The database file.
    public let url: URL
    private let queue: DatabaseQueue

    /// Opens (creating when missing) the database at `url`.
    public init(url: URL) throws {
        self.url = url
        let label = url.path
        let migrator = ResultsSchema.migrator
        do {
            var configuration = Configuration()
            configuration.foreignKeysEnabled = true
            queue = try DatabaseQueue(path: url.path, configuration: configuration)
            if try queue.read({ try migrator.hasBeenSuperseded($0) }) {
                let known = Set(migrator.migrations)
                let unknown = try queue.read { try migrator.appliedIdentifiers($0) }.subtracting(known).sorted()
                throw FileError(file: label, problem: "was written by a newer RadProbe (schema \(unknown.joined(separator: ", ")), this version knows \(migrator.migrations.joined(separator: ", "))); use that version or a new database")
            }
            try migrator.migrate(queue)
        } catch let error as FileError {
            throw error
        } catch let error as DatabaseError {
            throw FileError(file: label, problem: "is not a usable results database: \(error.message ?? error.description)")
        }
    }

    /// The schema versions applied to this file, oldest first.
    public func schemaVersions() throws -> [String] {
        try queue.read { try ResultsSchema.migrator.appliedMigrations($0) }
    }

    /// Records the start of a run (`command` is the command line) and returns its id.
    public func beginRun(command: String, radProbeVersion: String, at date: Date = Date()) throws -> Int64 {
        try queue.write { db in
            try db.execute(sql: "INSERT INTO runs (radprobe_version, command, started_at, status) VALUES (?, ?, ?, 'running')",
                           arguments: [radProbeVersion, command, Self.timestamp(date)])
            return db.lastInsertedRowID
        }
    }

    /// Records the end of run `id`.
    public func finishRun(_ id: Int64, failed: Bool = false, at date: Date = Date()) throws {
        try queue.write { db in
            try db.execute(sql: "UPDATE runs SET finished_at = ?, status = ? WHERE id = ?",
                           arguments: [Self.timestamp(date), failed ? "failed" : "finished", id])
        }
    }

    /// Whether a successful result of the configuration with this hash is already stored.
    public func hasSucceededResult(configurationHash: String) throws -> Bool {
        try queue.read { db in
            try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM results WHERE configuration_hash = ? AND status = 'succeeded')",
                              arguments: [configurationHash]) ?? false
        }
    }

    /// Writes `record` under run `runID` in one transaction and returns the result's id.
    public func record(_ record: ResultRecord, runID: Int64, at date: Date = Date()) throws -> Int64 {
        try queue.write { db in
            try db.execute(sql: "INSERT OR IGNORE INTO configurations (hash, canonical_json) VALUES (?, ?)",
                           arguments: [record.configuration.hash, record.configuration.json])
            try db.execute(sql: """
                INSERT INTO results (run_id, configuration_hash, model, dataset, protocol, seed, status, error, recorded_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [runID, record.configuration.hash, record.model, record.dataset, record.protocolName, record.seed,
                                 record.succeeded ? "succeeded" : "failed", record.error, Self.timestamp(date)])
            let id = db.lastInsertedRowID
            for metric in record.metrics {
                try db.execute(sql: "INSERT INTO metrics (result_id, name, class_name, value, ci_lower, ci_upper) VALUES (?, ?, ?, ?, ?, ?)",
                               arguments: [id, metric.name, metric.className ?? "", metric.value, metric.lower, metric.upper])
            }
            for point in record.curves {
                try db.execute(sql: "INSERT INTO curves (result_id, name, epoch, value) VALUES (?, ?, ?, ?)",
                               arguments: [id, point.name, point.epoch, point.value])
            }
            for timing in record.timings {
                try db.execute(sql: "INSERT INTO timings (result_id, phase, seconds) VALUES (?, ?, ?)",
                               arguments: [id, timing.phase, timing.seconds])
            }
            for artifact in record.artifacts {
                try db.execute(sql: "INSERT INTO artifacts (result_id, kind, path) VALUES (?, ?, ?)", arguments: [id, artifact.kind, artifact.path])
            }
            return id
        }
    }

    /// Every stored result, in the order they were recorded, with its metrics, curves and timings.
    public func results() throws -> [ResultRecord] {
        try queue.read { db in
            try Row.fetchAll(db, sql: """
                SELECT r.id, r.model, r.dataset, r.protocol, r.seed, r.error, c.hash, c.canonical_json
                FROM results r JOIN configurations c ON c.hash = r.configuration_hash ORDER BY r.id
                """).map { row in
                let id: Int64 = row["id"]
                let metrics = try Row.fetchAll(db, sql: "SELECT * FROM metrics WHERE result_id = ? ORDER BY rowid", arguments: [id]).map {
                    MetricValue(name: $0["name"], className: ($0["class_name"] as String).isEmpty ? nil : $0["class_name"], value: $0["value"],
                                lower: $0["ci_lower"], upper: $0["ci_upper"])
                }
                let curves = try Row.fetchAll(db, sql: "SELECT * FROM curves WHERE result_id = ? ORDER BY name, epoch", arguments: [id]).map {
                    CurvePoint(name: $0["name"], epoch: $0["epoch"], value: $0["value"])
                }
                let timings = try Row.fetchAll(db, sql: "SELECT * FROM timings WHERE result_id = ? ORDER BY rowid", arguments: [id]).map {
                    PhaseTiming(phase: $0["phase"], seconds: $0["seconds"])
                }
                let artifacts = try Row.fetchAll(db, sql: "SELECT * FROM artifacts WHERE result_id = ? ORDER BY rowid", arguments: [id]).map {
                    Artifact(kind: $0["kind"], path: $0["path"])
                }
                return ResultRecord(configuration: try CanonicalConfiguration(json: row["canonical_json"]), model: row["model"],
                                    dataset: row["dataset"], protocolName: row["protocol"], seed: row["seed"], error: row["error"],
                                    metrics: metrics, curves: curves, timings: timings, artifacts: artifacts)
            }
        }
    }

    /// ISO 8601 in UTC with seconds, e.g. `2026-11-29T16:43:05Z`.
    static func timestamp(_ date: Date) -> String { ISO8601DateFormatter().string(from: date) }
}
