import Foundation

/// Reads any supported checkpoint file, choosing the reader by the file's first bytes:
/// `PK\x03\x04` → PyTorch zip; a pickle starting with the legacy magic number → PyTorch legacy;
/// an 8-byte length followed by `{` → safetensors; otherwise a `.onnx` file → ONNX protobuf.
public enum CheckpointFile {
    /// The formats RadProbe reads.
    public enum Format: String, Sendable {
        case safetensors, pytorch, onnx
    }

    /// Detects the format of the file at `url` from its content (and, for ONNX, its extension).
    public static func format(of url: URL) throws -> Format {
        let file = url.path
        guard let handle = FileHandle(forReadingAtPath: file) else {
            throw CheckpointError(file: file, FileManager.default.fileExists(atPath: file) ? "cannot be opened for reading" : "does not exist")
        }
        defer { try? handle.close() }
        let head = [UInt8]((try? handle.read(upToCount: 16)) ?? Data())
        guard !head.isEmpty else { throw CheckpointError(file: file, "is empty") }
        if head.starts(with: [0x50, 0x4B, 0x03, 0x04]) || head.starts(with: [0x50, 0x4B, 0x05, 0x06]) { return .pytorch }
        if head.starts(with: [0x80, 0x02, 0x8A, 0x0A, 0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19]) { return .pytorch }
        if head.count >= 9, head[8] == UInt8(ascii: "{") { return .safetensors }
        if url.pathExtension.lowercased() == "onnx" { return .onnx }
        let magic = head.prefix(8).map { String(format: "%02x", $0) }.joined(separator: " ")
        throw CheckpointError(file: file, "is not a checkpoint RadProbe reads (first bytes \(magic)); expected safetensors, a PyTorch .pth (zip or legacy) or an .onnx model")
    }

    /// Reads the file's tensors with their stored names.
    public static func read(contentsOf url: URL) throws -> StateDict {
        switch try format(of: url) {
        case .safetensors: try SafetensorsFile.read(contentsOf: url)
        case .pytorch: try PyTorchCheckpoint.read(contentsOf: url)
        case .onnx: try ONNXCheckpoint.read(contentsOf: url)
        }
    }
}
