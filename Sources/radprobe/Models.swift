import ArgumentParser
import Backbones
import Checkpoints
import Foundation
import ModelDownloads
import Models

/// `radprobe models`: the preset catalog, downloads, and inspecting and converting checkpoints.
struct Models: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the backbone presets, download their official weights, inspect and convert checkpoints.",
        subcommands: [List.self, Download.self, Inspect.self, Convert.self]
    )

    /// `radprobe models inspect FILE`.
    struct Inspect: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the architecture inferred from a checkpoint and its parameter count.")

        @Argument(help: "Checkpoint: .pth (zip or legacy), .safetensors, or .onnx, of any family radprobe models list shows.")
        var file: String

        @Option(help: "Preset the checkpoint must fit (default: the family is inferred from its keys).")
        var model: String?

        func run() async throws {
            let preset = try model.map { name in
                guard let preset = BackboneCatalog.preset(named: name) else { throw CommandFailure("unknown preset \(name); radprobe models list shows them") }
                return preset
            }
            let backbone = try CommandFailure.wrap { try Backbone(contentsOf: URL(fileURLWithPath: file), preset: preset) }
            let parameters = backbone.parameterCount
            print("""
            file        \(file)
            backbone    \(backbone.summary)
            parameters  \(parameters.formatted()) (\(String(format: "%.1f", Double(parameters) * 4 / 1_048_576)) MiB as float32)
            features    class-like vector \(backbone.featureWidth), patch tokens \(backbone.patchWidth), \(backbone.layerCount) selectable layer\(backbone.layerCount == 1 ? "" : "s"), input \(backbone.defaultInputSize)×\(backbone.defaultInputSize) by default
            preprocess  \(backbone.preprocessing(size: backbone.defaultInputSize, modality: .other))
            """)
            if let model = backbone.visionTransformer {
                print("""
                \(model.configuration)
                GFLOP/image \(String(format: "%.2f at 224×224, %.2f at 448×448", model.configuration.flops(height: 224, width: 224) / 1e9, model.configuration.flops(height: 448, width: 448) / 1e9))
                """)
            }
            if !backbone.droppedKeys.isEmpty {
                print("not part of the backbone (\(backbone.droppedKeys.count) keys, ignored): " + backbone.droppedKeys.prefix(8).joined(separator: ", ") + (backbone.droppedKeys.count > 8 ? ", …" : ""))
            }
        }
    }

    /// `radprobe models convert IN --out OUT.safetensors`.
    struct Convert: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write any readable Vision Transformer checkpoint as safetensors with official DINOv2 / timm key names.",
            discussion: "The file records the family, heads, LayerNorm eps, activation and position interpolation in its metadata, so it reads back as the same model."
        )

        @Argument(help: "Checkpoint to convert: .pth (zip or legacy), .safetensors, or .onnx.")
        var input: String

        @Option(help: "Output .safetensors file (written atomically).")
        var out: String

        func run() async throws {
            let backbone = try CommandFailure.wrap { try LoadedBackbone(contentsOf: URL(fileURLWithPath: input)) }
            let stateDict = Binder.stateDict(of: backbone.model, source: out)
            let metadata = backbone.model.configuration.metadata(family: backbone.family).merging([
                "format": "pt",
                "converted_by": "radprobe \(RadProbeVersion.current)",
                "source_file": URL(fileURLWithPath: input).lastPathComponent,
                "source_layout": backbone.layout,
            ]) { $1 }
            try CommandFailure.wrap { try SafetensorsFile.write(stateDict, to: URL(fileURLWithPath: out), metadata: metadata) }
            print("wrote \(out): \(backbone.model.configuration.sizeName), \(stateDict.tensors.count) tensors, \(stateDict.parameterCount.formatted()) parameters (\(backbone.family) as official DINOv2 / timm names)")
        }
    }

    /// `radprobe models list`.
    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the backbone presets: family, parameters, input size, official weights, licence and digest.",
            discussion: """
            Parameters are those of the backbone as RadProbe runs it (heads, projections and decoders of the \
            published files left out). The cache column tells whether radprobe models download has fetched the file.
            """
        )

        @Flag(help: "Print JSON lines instead of a table.")
        var json = false

        func run() async throws {
            let cache = try? ModelCache.standard()
            let output = BenchOutput(json: json)
            output.emit(nil, text: "preset               family                         parameters  input  cached  weights")
            for preset in BackboneCatalog.presets {
                let cached = cache.flatMap(preset.cachedFile(in:)) != nil
                let record: [String: Any] = [
                    "preset": preset.name, "family": preset.family.rawValue, "parameters": preset.parameterCount, "input_size": preset.inputSize,
                    "weights": preset.weights, "licence": preset.licence, "url": preset.file.url.absoluteString, "file": preset.file.fileName,
                    "digest": preset.file.pinSummary, "cached": cached,
                ]
                let text = preset.name.padding(toLength: 20, withPad: " ", startingAt: 0) + " "
                    + preset.family.description.padding(toLength: 30, withPad: " ", startingAt: 0)
                    + String(format: " %9.1fM  %5d  ", Double(preset.parameterCount) / 1e6, preset.inputSize)
                    + (cached ? "yes" : "no").padding(toLength: 8, withPad: " ", startingAt: 0)
                    + preset.weights + "\n" + String(repeating: " ", count: 21)
                    + "\(preset.licence); \(preset.file.url.absoluteString); \(preset.file.pinSummary)"
                output.emit(record, text: text)
            }
        }
    }

    /// `radprobe models download PRESET`.
    struct Download: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Download a preset's official weights into the cache and verify their SHA-256.",
            discussion: """
            The file goes to --cache-dir (default $XDG_CACHE_HOME/radprobe, else ~/.cache/radprobe) under the \
            name radprobe models list --json shows. An interrupted download resumes where it stopped; a file \
            whose digest differs from the pinned one is refused and deleted. Hugging Face files have no digest \
            pinned in RadProbe: read the file's SHA-256 on its Hub page and pass --sha256. --mirror fetches \
            the same file name from another base URL (http, https or file://), verified the same way. Commands \
            that take --model use the cached file when --checkpoint is not given.
            """
        )

        @Argument(help: "The preset (radprobe models list).")
        var preset: String

        @Option(help: "Cache folder (default $XDG_CACHE_HOME/radprobe, else ~/.cache/radprobe).")
        var cacheDir: String?

        @Option(help: "Base URL of a mirror holding the file under its cache name.")
        var mirror: String?

        @Option(help: "The file's SHA-256 (64 hex digits), for files whose digest RadProbe does not pin; replaces the pinned one.")
        var sha256: String?

        @Flag(help: "Fetch the file again even when the cache holds it.")
        var redownload = false

        func run() async throws {
            guard let preset = BackboneCatalog.preset(named: self.preset) else {
                throw CommandFailure("unknown preset \(self.preset); known: \(BackboneCatalog.presets.map(\.name).joined(separator: ", "))")
            }
            var source = try CommandFailure.wrap { try preset.file.source(sha256: sha256) }
            if let mirror {
                guard let base = URL(string: mirror), base.scheme != nil else { throw CommandFailure("--mirror \(mirror) is not a URL") }
                source = try CommandFailure.wrap {
                    try DownloadSource(url: base.appendingPathComponent(source.fileName), fileName: source.fileName, sha256: source.sha256,
                                       expectedBytes: source.expectedBytes)
                }
            }
            let cache = try CommandFailure.wrap { try cacheDir.map { ModelCache(directory: URL(fileURLWithPath: $0)) } ?? ModelCache.standard() }
            FileHandle.standardError.write(Data("downloading \(source.url.absoluteString) into \(cache.directory.path)\n".utf8))
            let bar = DownloadProgressBar()
            let file = try await CommandFailure.wrapAsync {
                try await ModelDownloader(cache: cache).download(source, redownload: redownload) { bar.update($0) }
            }
            bar.finish()
            print("\(preset.name): \(file.path) (\(source.sha256) verified)")
        }
    }
}

/// A download's progress in MiB on a `ProgressReporter`, created once the total is known.
final class DownloadProgressBar: @unchecked Sendable {
    private var reporter: ProgressReporter?
    private let lock = NSLock()

    func update(_ progress: DownloadProgress) {
        lock.withLock {
            let mebibyte: Int64 = 1 << 20
            let total = progress.totalBytes ?? progress.bytesDone
            if reporter == nil { reporter = ProgressReporter(total: Int((total + mebibyte - 1) / mebibyte), unit: "MiB") }
            guard let reporter else { return }
            let completed = Int(progress.bytesDone / mebibyte)
            if completed > reporter.done { reporter.advance(by: completed - reporter.done) }
        }
    }

    func finish() { lock.withLock { reporter?.finish() } }
}
