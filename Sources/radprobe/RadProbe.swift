import ArgumentParser

/// The `radprobe` command: vision foundation models on radiology benchmarks, on a CPU.
@main
struct RadProbe: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "radprobe",
        abstract: "Measure how well vision foundation models (DINOv2 and peers) serve radiology.",
        version: RadProbeVersion.current,
        subcommands: [RunCommand.self, ReportCommand.self, DemoCommand.self, PCACommand.self, Embed.self, Extract.self, KNNCommand.self, LinearCommand.self, LogisticRegressionCommand.self, FewShotCommand.self, FineTuneCommand.self, SegmentCommand.self, ImageCommand.self, DatasetsCommand.self, Models.self, MetricsCommand.self, Bench.self]
    )
}

/// The version recorded with every result.
enum RadProbeVersion {
    static let current = "0.1.0"
}

/// Options shared by every command that computes.
struct ComputeOptions: ParsableArguments {
    @Option(help: "Worker threads (default: all cores).")
    var threads: Int?

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1 (got \(threads)).") }
    }
}
