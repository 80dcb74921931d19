import ArgumentParser
import Experiments
import Foundation
import Results

/// `radprobe run EXPERIMENT.yaml [--dry-run]`: the experiment's matrix, each cell run once and recorded in
/// `<output>/results.sqlite` (see docs/experiments.md and docs/results.md).
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run an experiment file's matrix (models × datasets × sizes × protocols × seeds) into its results database.",
        discussion: """
        Each cell's configuration (its settings, the checkpoint's and the split's SHA-256) is hashed; a cell \
        whose configuration already has a successful result in <output>/results.sqlite is skipped. Feature \
        stores of the classification probes are made once per model, dataset and size under <output>/stores \
        (resumed when interrupted). A cell that fails is recorded with its error and the run goes on. \
        --dry-run prints each cell with `cached` or `to run` (and missing inputs) and runs nothing. \
        See docs/experiments.md.
        """
    )

    @Argument(help: ArgumentHelp("The experiment file (YAML).", valueName: "experiment"))
    var experimentFile: String

    @Flag(help: "Print the matrix and what is already in the database; run nothing.")
    var dryRun = false

    @OptionGroup var compute: ComputeOptions

    func run() async throws {
        let experiment = try CommandFailure.wrap {
            try Experiment.read(contentsOf: URL(fileURLWithPath: experimentFile), vocabulary: RunInputs.vocabulary)
        }
        let cells = ExperimentMatrix.cells(of: experiment)
        let inputs = RunInputs(experiment: experiment, writesSplits: !dryRun)
        let databaseURL = experiment.databaseURL
        if dryRun {
            let database = FileManager.default.fileExists(atPath: databaseURL.path)
                ? try CommandFailure.wrap { try ResultsDatabase(url: databaseURL) } : nil
            try RunListing.print(cells, inputs: inputs, database: database)
            return
        }
        let database = try CommandFailure.wrap {
            try FileManager.default.createDirectory(at: experiment.output, withIntermediateDirectories: true)
            return try ResultsDatabase(url: databaseURL)
        }
        let runID = try CommandFailure.wrap {
            try database.beginRun(command: (["radprobe"] + CommandLine.arguments.dropFirst()).joined(separator: " "),
                                  radProbeVersion: RadProbeVersion.current)
        }
        let executor = RunCellExecutor(inputs: inputs, context: compute.context)
        var (done, cached, failed) = (0, 0, 0)
        for (index, cell) in cells.enumerated() {
            let label = "[\(index + 1)/\(cells.count)] \(RunListing.describe(cell))"
            do {
                let configuration = try inputs.configuration(of: cell)
                if try database.hasSucceededResult(configurationHash: configuration.hash) {
                    cached += 1
                    continue
                }
                FileHandle.standardError.write(Data("\(label)\n".utf8))
                let outcome = try executor.run(cell)
                _ = try CommandFailure.wrap {
                    try database.record(ResultRecord(configuration: configuration, model: cell.model, dataset: cell.dataset,
                                                     protocolName: cell.protocolName, seed: cell.seed, metrics: outcome.metrics,
                                                     curves: outcome.curves, timings: outcome.timings, artifacts: outcome.artifacts), runID: runID)
                }
                done += 1
            } catch {
                failed += 1
                let message = String(describing: error)
                FileHandle.standardError.write(Data("\(label): failed: \(message)\n".utf8))
                _ = try CommandFailure.wrap {
                    try database.record(ResultRecord(configuration: try inputs.partialConfiguration(of: cell), model: cell.model,
                                                     dataset: cell.dataset, protocolName: cell.protocolName, seed: cell.seed, error: message),
                                        runID: runID)
                }
            }
        }
        try CommandFailure.wrap { try database.finishRun(runID) }
        print("\(cells.count) cells: \(done) done, \(cached) already there, \(failed) failed")
        print("results   \(databaseURL.path)")
        if failed > 0 { throw ExitCode(1) }
    }
}

/// The dry run's listing: one line per cell, with whether its result is already in the database.
enum RunListing {
    /// `model dataset size protocol settings seed`.
    static func describe(_ cell: ExperimentCell) -> String {
        "\(cell.model) \(cell.dataset) \(cell.size) \(cell.protocolName) \(cell.settingsText) seed=\(cell.seed)"
    }

    static func print(_ cells: [ExperimentCell], inputs: RunInputs, database: ResultsDatabase?) throws {
        var counts = ["cached": 0, "to run": 0, "missing input": 0]
        for cell in cells {
            let state: String
            do {
                let configuration = try inputs.configuration(of: cell)
                let known = try database.map { try $0.hasSucceededResult(configurationHash: configuration.hash) } ?? false
                state = known ? "cached" : "to run"
                counts[state, default: 0] += 1
            } catch {
                state = "to run (will fail: \(error))"
                counts["missing input", default: 0] += 1
            }
            Swift.print("\(describe(cell))  \(state)")
        }
        Swift.print("\(cells.count) cells: \(counts["cached"]!) cached, \(counts["to run"]!) to run, \(counts["missing input"]!) with a missing input")
        Swift.print("results   \(inputs.experiment.databaseURL.path)")
    }
}
