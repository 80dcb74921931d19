import ArgumentParser
import Foundation
import MedicalImaging
import TensorKernels

/// `radprobe bench decode`: how fast RadProbe decodes image files (file MB/s and 2D images/s).
struct BenchDecode: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "decode",
        abstract: "Measure image decoding speed on the standard files (1024² 16-bit PNG, 512² JPEG, 512×512×100 .nii.gz) and any FILES given.",
        discussion: """
        The standard files are made from one synthetic phantom (smooth anatomy-like shapes with noise). \
        Each file is decoded from disk once as a warm-up, then --repeats times; the median is reported. \
        images/s counts 2D images, so a volume of 100 slices decoded once a second is 100 images/s. \
        scripts/bench_decode.py runs the same files through Pillow, nibabel and pydicom.
        """
    )

    @Argument(help: "More files (or DICOM series folders) to measure.")
    var files: [String] = []

    @Option(help: "Timed decodes per file (the median is reported).")
    var repeats: Int = 7

    @Option(help: "Write the standard files to this folder and keep them (default: a temporary folder, removed).")
    var keepFiles: String?

    @Flag(inversion: .prefixedNo, help: "Measure the standard files (with --no-standard, only FILES).")
    var standard = true

    @Flag(help: "Print JSON lines instead of a table.")
    var json = false

    func validate() throws {
        if repeats < 1 { throw ValidationError("--repeats must be at least 1.") }
        if !standard && files.isEmpty { throw ValidationError("--no-standard needs at least one FILE to measure.") }
    }

    func run() async throws {
        // Decoding in `embed` runs beside a ComputeContext, which sets the allocator this way; without it
        // glibc maps every multi-megabyte image buffer afresh and the measurement would not be the same.
        ComputeContext.keepLargeBuffersInTheHeap()
        let manager = FileManager.default
        let folder = keepFiles.map { URL(fileURLWithPath: $0) }
            ?? URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("radprobe-bench-\(UUID().uuidString)")
        var standardFiles: [URL] = []
        defer { if keepFiles == nil { try? manager.removeItem(at: folder) } }
        if standard {
            try CommandFailure.wrap { try manager.createDirectory(at: folder, withIntermediateDirectories: true) }
            standardFiles = try CommandFailure.wrap { try BenchmarkPhantom.writeStandardFiles(to: folder) }
        }
        let all = standardFiles + files.map { URL(fileURLWithPath: $0) }
        let output = BenchOutput(json: json)
        output.emit(nil, text: "file                       format        on disk MB   decoded            images/s   file MB/s")
        for url in all {
            let bytes = try CommandFailure.wrap { try Self.diskSize(url) }
            let (seconds, decoded) = try CommandFailure.wrap {
                try BenchOutput.medianSeconds(repeats: repeats) { try MedicalImageFile.read(contentsOf: url) }
            }
            let (slices, shape) = Self.describe(decoded.content), format = decoded.format
            let megabytes = Double(bytes) / 1e6
            output.emit(["kind": "decode", "file": url.path, "name": url.lastPathComponent, "format": format.rawValue,
                         "file_bytes": bytes, "slices": slices, "shape": shape, "seconds": seconds,
                         "images_per_s": Double(slices) / seconds, "file_mb_per_s": megabytes / seconds],
                        text: [url.lastPathComponent.padding(toLength: 26, withPad: " ", startingAt: 0),
                               format.rawValue.padding(toLength: 13, withPad: " ", startingAt: 0),
                               String(format: "%10.2f   ", megabytes) + shape.padding(toLength: 17, withPad: " ", startingAt: 0),
                               String(format: "%9.1f  %9.1f", Double(slices) / seconds, megabytes / seconds)].joined(separator: " "))
        }
    }

    /// Bytes on disk of a file, or of every file in a folder.
    static func diskSize(_ url: URL) throws -> Int {
        let manager = FileManager.default
        var isDirectory: ObjCBool = false
        guard manager.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
            throw ImagingError(file: url.path, problem: "cannot be read: no such file")
        }
        let paths = isDirectory.boolValue ? try manager.contentsOfDirectory(atPath: url.path).map { url.appendingPathComponent($0).path } : [url.path]
        return try paths.reduce(0) { $0 + ((try manager.attributesOfItem(atPath: $1)[.size] as? Int) ?? 0) }
    }

    /// 2D images and a shape like `512×512×100` for what was decoded.
    static func describe(_ content: ImageContent) -> (slices: Int, shape: String) {
        switch content {
        case .image(let image):
            return (1, image.channels == 1 ? "\(image.width)×\(image.height)" : "\(image.width)×\(image.height)×\(image.channels)")
        case .volume(let volume):
            return (volume.size[2] * volume.frames, volume.size.map(String.init).joined(separator: "×"))
        }
    }
}
