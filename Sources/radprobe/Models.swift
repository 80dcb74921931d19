import ArgumentParser
import Checkpoints
import Foundation
import Models

/// `radprobe models`: inspect and convert checkpoints.
struct Models: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Inspect and convert model checkpoints.",
        subcommands: [Inspect.self, Convert.self]
    )

    /// `radprobe models inspect FILE`.
    struct Inspect: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the architecture inferred from a checkpoint and its parameter count.")

        @Argument(help: "Checkpoint: .pth (zip or legacy), .safetensors, or .onnx.")
        var file: String

        func run() async throws {
            let backbone = try CommandFailure.wrap { try LoadedBackbone(contentsOf: URL(fileURLWithPath: file)) }
            let model = backbone.model
            print("""
            file        \(file)
            format      \(backbone.format.rawValue), \(backbone.layout) key names
            \(model.configuration)
            parameters  \(model.parameterCount.formatted()) (\(String(format: "%.1f", Double(model.parameterCount) * 4 / 1_048_576)) MiB as float32)
            GFLOP/image \(String(format: "%.2f at 224×224, %.2f at 448×448", model.configuration.flops(height: 224, width: 224) / 1e9, model.configuration.flops(height: 448, width: 448) / 1e9))
            """)
            if !backbone.droppedKeys.isEmpty {
                print("not part of the backbone (\(backbone.droppedKeys.count) keys, ignored): " + backbone.droppedKeys.prefix(8).joined(separator: ", ") + (backbone.droppedKeys.count > 8 ? ", …" : ""))
            }
        }
    }

    /// `radprobe models convert IN --out OUT.safetensors`.
    struct Convert: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Write any readable DINOv2 checkpoint as safetensors with official DINOv2 key names.")

        @Argument(help: "Checkpoint to convert: .pth (zip or legacy), .safetensors, or .onnx.")
        var input: String

        @Option(help: "Output .safetensors file (written atomically).")
        var out: String

        func run() async throws {
            let backbone = try CommandFailure.wrap { try LoadedBackbone(contentsOf: URL(fileURLWithPath: input)) }
            let stateDict = Binder.stateDict(of: backbone.model, source: out)
            let metadata = [
                "format": "pt",
                "converted_by": "radprobe \(RadProbeVersion.current)",
                "source_file": URL(fileURLWithPath: input).lastPathComponent,
                "source_layout": backbone.layout,
                VisionTransformerConfiguration.PositionInterpolation.metadataKey: backbone.model.configuration.interpolation.name,
            ]
            try CommandFailure.wrap { try SafetensorsFile.write(stateDict, to: URL(fileURLWithPath: out), metadata: metadata) }
            print("wrote \(out): \(backbone.model.configuration.sizeName), \(stateDict.tensors.count) tensors, \(stateDict.parameterCount.formatted()) parameters (official DINOv2 names)")
        }
    }
}
