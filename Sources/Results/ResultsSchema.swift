import GRDB

/// The tables of the results database and the migrations that build them, oldest first. A migration, once
/// released, is never edited: a change of schema is a new migration appended here.
///
/// - `runs`: one row per `radprobe` invocation that wrote results (version, command line, start and end, status).
/// - `configurations`: canonical JSON of each configuration, keyed by its SHA-256.
/// - `results`: one row per evaluation (model, dataset, protocol, seed, run, configuration; error when failed).
/// - `metrics`: summary (`class_name` = '') and per-class values with confidence bounds.
/// - `curves`: per-epoch training curves.
/// - `timings`: seconds per phase.
/// - `artifacts` (v2): files a result produced (segmentation overlays, predictions, PCA images), by path
///   relative to the database's folder.
enum ResultsSchema {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.create(table: "runs") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("radprobe_version", .text).notNull()
                t.column("command", .text).notNull()
                t.column("started_at", .text).notNull()
                t.column("finished_at", .text)
                t.column("status", .text).notNull().check { ["running", "finished", "failed"].contains($0) }
            }
            try db.create(table: "configurations") { t in
                t.primaryKey("hash", .text)
                t.column("canonical_json", .text).notNull()
            }
            try db.create(table: "results") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("run_id", .integer).notNull().indexed().references("runs", onDelete: .cascade)
                t.column("configuration_hash", .text).notNull().indexed().references("configurations")
                t.column("model", .text).notNull()
                t.column("dataset", .text).notNull()
                t.column("protocol", .text).notNull()
                t.column("seed", .integer)
                t.column("status", .text).notNull().check { ["succeeded", "failed"].contains($0) }
                t.column("error", .text)
                t.column("recorded_at", .text).notNull()
            }
            try db.create(table: "metrics") { t in
                t.column("result_id", .integer).notNull().references("results", onDelete: .cascade)
                t.column("name", .text).notNull()
                t.column("class_name", .text).notNull().defaults(to: "")
                t.column("value", .double)
                t.column("ci_lower", .double)
                t.column("ci_upper", .double)
                t.primaryKey(["result_id", "name", "class_name"])
            }
            try db.create(table: "curves") { t in
                t.column("result_id", .integer).notNull().references("results", onDelete: .cascade)
                t.column("name", .text).notNull()
                t.column("epoch", .integer).notNull()
                t.column("value", .double).notNull()
                t.primaryKey(["result_id", "name", "epoch"])
            }
            try db.create(table: "timings") { t in
                t.column("result_id", .integer).notNull().references("results", onDelete: .cascade)
                t.column("phase", .text).notNull()
                t.column("seconds", .double).notNull()
                t.primaryKey(["result_id", "phase"])
            }
        }
        migrator.registerMigration("v2") { db in
            try db.create(table: "artifacts") { t in
                t.column("result_id", .integer).notNull().references("results", onDelete: .cascade)
                t.column("kind", .text).notNull()
                t.column("path", .text).notNull()
                t.primaryKey(["result_id", "path"])
            }
        }
        return migrator
    }
}
