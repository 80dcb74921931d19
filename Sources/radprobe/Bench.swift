import ArgumentParser
import Foundation
import Models
import TensorCore
import TensorKernels

/// `radprobe bench`: how fast this machine runs RadProbe's models and decodes images.
struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure speed on this machine: DINOv2 forward passes (bench models, the default), image decoding, end-to-end extraction, the classification probes, fine-tuning steps, segmentation and the backbones of every family.",
        subcommands: [BenchModels.self, BenchDecode.self, BenchExtract.self, BenchProbes.self, BenchFineTune.self, BenchSegment.self, BenchBackbones.self],
        defaultSubcommand: BenchModels.self
    )
}

/// `radprobe bench models`: throughput of the BLAS and of DINOv2 forward passes on this machine.
struct BenchModels: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "models",
        abstract: "Measure SGEMM GFLOP/s and DINOv2 images/s (random weights; speed does not depend on them).",
        discussion: "Reports the median of --repeats timed runs after one warm-up; --json prints one JSON object per line for scripts."
    )

    @Option(parsing: .upToNextOption, help: "Model sizes: s, b, l, g.")
    var models: [VisionTransformerConfiguration.Size] = [.small, .base]

    @Option(parsing: .upToNextOption, help: "Square input sizes (multiples of 14).")
    var sizes: [Int] = [224, 448]

    @Option(parsing: .upToNextOption, help: "Batch sizes.")
    var batches: [Int] = [1, 32]

    @Option(help: "Timed runs per shape (the median is reported).")
    var repeats: Int = 3

    @Flag(help: "Print JSON lines instead of a table.")
    var json = false

    @OptionGroup var compute: ComputeOptions

    func validate() throws {
        if repeats < 1 { throw ValidationError("--repeats must be at least 1.") }
        if let bad = sizes.first(where: { $0 % 14 != 0 || $0 <= 0 }) { throw ValidationError("size \(bad) is not a positive multiple of 14.") }
        if let bad = batches.first(where: { $0 < 1 }) { throw ValidationError("batch \(bad) must be at least 1.") }
    }

    func run() async throws {
        let context = compute.context
        let output = BenchOutput(json: json)
        let peak = Self.sgemmGFLOPs(context: context, repeats: repeats)
        output.emit(["kind": "sgemm", "shape": "4096x1536x384 (rows split over threads)", "gflops": peak, "threads": context.threads, "backend": BLAS.backend],
             text: String(format: "SGEMM (%@, %d threads): %.1f GFLOP/s", BLAS.backend, context.threads, peak))
        output.emit(nil, text: "model      size  batch   images/s   GFLOP/s   % of SGEMM   peak RSS MiB")
        for size in models {
            let configuration = VisionTransformerConfiguration.dinov2(size)
            let model = Self.randomModel(configuration)
            for side in sizes {
                for batch in batches {
                    let input = Tensor(shape: [batch, 3, side, side], repeating: 0.5)
                    let seconds = try BenchOutput.medianSeconds(repeats: repeats) { _ = try model.features(input, context: context) }.seconds
                    let imagesPerSecond = Double(batch) / seconds
                    let gflops = configuration.flops(height: side, width: side) * imagesPerSecond / 1e9
                    let rss = Self.peakResidentMiB()
                    output.emit(["kind": "vit", "model": configuration.sizeName, "size": side, "batch": batch, "images_per_s": imagesPerSecond,
                          "gflops": gflops, "fraction_of_sgemm": gflops / peak, "peak_rss_mib": rss, "threads": context.threads],
                         text: String(format: "%-9@ %5d  %5d  %9.2f  %8.1f  %10.0f%%  %12.0f", configuration.sizeName, side, batch, imagesPerSecond, gflops, 100 * gflops / peak, rss))
                }
            }
        }
    }

    /// A model of the given architecture with small random weights.
    static func randomModel(_ configuration: VisionTransformerConfiguration) -> VisionTransformer {
        var model = VisionTransformer(configuration: configuration)
        var filler = RandomFiller()
        model.visitParameters(&filler, scope: ParameterScope())
        return model
    }

    /// SGEMM throughput on the shape of a ViT-S MLP layer (`[4096, 384] · [384, 1536]`), rows split over the workers.
    static func sgemmGFLOPs(context: ComputeContext, repeats: Int) -> Double {
        let (m, n, k) = (4096, 1536, 384)
        let a = Tensor(shape: [m, k], repeating: 0.01), b = Tensor(shape: [n, k], repeating: 0.01)
        var c = Tensor(shape: [m, n])
        var best = Double.infinity
        for _ in 0..<(repeats + 1) {
            let start = DispatchTime.now().uptimeNanoseconds
            for _ in 0..<10 {
                c.withUnsafeMutableBufferPointer { out in
                    MatrixKernels.linear(a.storage.pointer, rows: m, inFeatures: k, weight: b.storage.pointer, bias: nil,
                                         outFeatures: n, into: out.baseAddress!, context: context)
                }
            }
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 / 10)
        }
        return 2 * Double(m * n * k) / best / 1e9
    }

    /// Peak resident set size of this process so far, in MiB.
    static func peakResidentMiB() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_maxrss) / 1024
    }
}

extension VisionTransformerConfiguration.Size: ExpressibleByArgument {}

/// Result lines of a benchmark: a table row on a terminal, or one JSON object per line (`--json`).
struct BenchOutput {
    let json: Bool

    /// Writes `record` as JSON, or `text`, unbuffered so a long benchmark shows each result as it
    /// finishes; a nil `record` (a table heading) is written only as text.
    func emit(_ record: [String: Any]?, text: String) {
        let line: String
        if json {
            guard let record else { return }
            line = String(decoding: try! JSONSerialization.data(withJSONObject: record, options: [.sortedKeys]), as: UTF8.self)
        } else {
            line = text
        }
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }

    /// Runs `body` once as a warm-up, then `repeats` timed times; the median wall time in seconds and
    /// what the last run returned.
    static func medianSeconds<Result>(repeats: Int, _ body: () throws -> Result) rethrows -> (seconds: Double, result: Result) {
        var result = try body()
        var times: [Double] = []
        for _ in 0..<repeats {
            let start = DispatchTime.now().uptimeNanoseconds
            result = try body()
            times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        return (times.sorted()[times.count / 2], result)
    }
}

/// Fills parameters with small deterministic pseudo-random values (xorshift), LayerScale and norms near 1.
struct RandomFiller: ParameterVisitor {
    var state: UInt64 = 0x9E37_79B9_7F4A_7C15

    mutating func visit(_ key: String, _ parameter: inout Tensor) {
        parameter.withUnsafeMutableBufferPointer { values in
            for i in values.indices {
                state ^= state << 13; state ^= state >> 7; state ^= state << 17
                values[i] = (Float(state >> 40) / Float(1 << 24) - 0.5) * 0.04
            }
        }
    }
}
