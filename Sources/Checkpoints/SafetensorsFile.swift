import Foundation
import TensorCore

/// Reads and writes safetensors files: an 8-byte little-endian header length `n`, an `n`-byte JSON
/// header `{"key": {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}, "__metadata__": {...}}`,
/// then the raw little-endian tensor bytes (offsets relative to the end of the header).
public enum SafetensorsFile {
    static let elementTypes: [String: ElementType] = [
        "F32": .float32, "F64": .float64, "F16": .float16, "BF16": .bfloat16, "I64": .int64,
        "I32": .int32, "I16": .int16, "I8": .int8, "U8": .uint8, "BOOL": .bool,
    ]

    /// Reads every tensor of a safetensors file (memory-mapped) as `Float` tensors.
    public static func read(contentsOf url: URL) throws -> StateDict {
        let file = url.path
        let data: Data
        do { data = try Data(contentsOf: url, options: .alwaysMapped) } catch {
            throw CheckpointError(file: file, "cannot be read (\(error.localizedDescription))")
        }
        return try data.withUnsafeBytes { bytes -> StateDict in
            guard bytes.count >= 8 else { throw CheckpointError(file: file, "is too short to be a safetensors file (\(bytes.count) bytes)") }
            let headerLength = Int(min(UInt64(littleEndian: bytes.loadUnaligned(as: UInt64.self)), UInt64(Int32.max)))
            guard headerLength > 1, headerLength <= bytes.count - 8 else {
                throw CheckpointError(file: file, "is not a safetensors file or is truncated (header length \(headerLength), file size \(bytes.count))")
            }
            let headerData = Data(bytes[8..<8 + headerLength])
            guard let header = try? JSONSerialization.jsonObject(with: headerData) as? [String: Any] else {
                throw CheckpointError(file: file, "has a safetensors header that is not a JSON object")
            }
            let dataStart = 8 + headerLength
            let dataLength = bytes.count - dataStart
            var tensors: [String: Tensor] = [:]
            for (key, entry) in header where key != "__metadata__" {
                guard let info = entry as? [String: Any], let dtypeName = info["dtype"] as? String,
                      let shape = info["shape"] as? [Int], let offsets = info["data_offsets"] as? [Int], offsets.count == 2 else {
                    throw CheckpointError(file: file, "has a malformed header entry for '\(key)'")
                }
                guard let type = elementTypes[dtypeName] else {
                    throw CheckpointError(file: file, "tensor '\(key)' has dtype \(dtypeName), which RadProbe does not read")
                }
                let needed = Tensor.elementCount(shape) * type.byteCount
                guard offsets[0] >= 0, offsets[1] - offsets[0] == needed else {
                    throw CheckpointError(file: file, "tensor '\(key)' of shape \(describeShape(shape)) needs \(needed) bytes, its offsets \(offsets) span \(offsets[1] - offsets[0])")
                }
                guard offsets[1] <= dataLength else {
                    throw CheckpointError(file: file, "is truncated: tensor '\(key)' ends at byte \(offsets[1]) of the data section, which has \(dataLength)")
                }
                tensors[key] = type.tensor(from: bytes.baseAddress! + dataStart + offsets[0], shape: shape)
            }
            let metadata = (header["__metadata__"] as? [String: Any])?.compactMapValues { $0 as? String } ?? [:]
            return StateDict(tensors, source: file, metadata: metadata)
        }
    }

    /// Writes `stateDict` as float32 safetensors, keys sorted, atomically (temporary file, then rename).
    public static func write(_ stateDict: StateDict, to url: URL, metadata: [String: String] = [:]) throws {
        var entries: [String] = []
        var offset = 0
        let keys = stateDict.sortedKeys
        for key in keys {
            let tensor = stateDict.tensors[key]!
            let end = offset + tensor.count * 4
            entries.append("\(jsonString(key)):{\"dtype\":\"F32\",\"shape\":[\(tensor.shape.map(String.init).joined(separator: ","))],\"data_offsets\":[\(offset),\(end)]}")
            offset = end
        }
        if !metadata.isEmpty {
            let pairs = metadata.keys.sorted().map { "\(jsonString($0)):\(jsonString(metadata[$0]!))" }
            entries.insert("\"__metadata__\":{\(pairs.joined(separator: ","))}", at: 0)
        }
        var header = Array("{\(entries.joined(separator: ","))}".utf8)
        header += Array(repeating: UInt8(ascii: " "), count: (8 - header.count % 8) % 8)
        var data = Data(capacity: 8 + header.count + offset)
        withUnsafeBytes(of: UInt64(header.count).littleEndian) { data.append(contentsOf: $0) }
        data.append(contentsOf: header)
        for key in keys {
            stateDict.tensors[key]!.withUnsafeBufferPointer { data.append(UnsafeBufferPointer(start: UnsafeRawPointer($0.baseAddress!).assumingMemoryBound(to: UInt8.self), count: $0.count * 4)) }
        }
        try AtomicFile.write(data, to: url)
    }

    static func jsonString(_ text: String) -> String {
        let encoded = try! JSONSerialization.data(withJSONObject: [text], options: [.fragmentsAllowed])
        return String(decoding: encoded.dropFirst().dropLast(), as: UTF8.self)
    }
}
