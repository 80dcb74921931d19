import Foundation
import TensorCore

/// Reads `torch.save`d state dicts without ever executing code from the file.
///
/// **Formats.** Both layouts `torch.save` writes:
/// - *zip* (the default since torch 1.6): a STORED zip whose single root folder (named after the
///   file's stem by torch 1.x, `archive` by others; any name is accepted) holds `<root>/data.pkl`
///   (the pickled object) and one `<root>/data/<key>` entry per storage, little-endian unless a
///   `<root>/byteorder` entry says `big`. See `ZipArchive` for what the zip reader accepts.
/// - *legacy* (`_use_new_zipfile_serialization=False`, and torch < 1.6): consecutive pickles of the
///   magic number 0x1950a86a20f9469cfc6c, the protocol version 1001, a `sys_info` dict, the object,
///   and the sorted list of storage keys; then, per key in that order, an int64 element count and
///   the storage's raw little-endian bytes (torch writes them little-endian on every host).
///   The pre-0.4 tar layout is refused with a message.
///
/// **Safety.** The pickles run on `SafeUnpickler`, which resolves only the allow-listed globals of
/// `PickleGlobal` (`collections.OrderedDict`, `torch._utils._rebuild_tensor_v2`, `_rebuild_tensor`,
/// `_rebuild_parameter`, `_rebuild_parameter_with_state` and the ten `torch.*Storage` types) and
/// refuses any other (`os.system`, `builtins.eval`, ...) as soon as the pickle names it. Every
/// offset, size and count is bounds-checked; a damaged file gives a `CheckpointError` naming it.
///
/// **What comes out.** Every tensor, whatever its element type (float32/16, bfloat16, float64,
/// int64/32/16/8, uint8, bool), becomes a contiguous row-major `Float` tensor: views (storage
/// offsets, transposes, slices, stride-0 expansions) are materialised, tensors sharing a storage get
/// their own copies, and wide integers round to the nearest `Float`.
///
/// **Which tensors (the flattening rule).** The pickled object must be a dict. Its tensor values are
/// taken under their keys; its dict values are walked recursively with dotted keys, so
/// `{"teacher": {"backbone.cls_token": T}}` gives `teacher.backbone.cls_token` and a training
/// checkpoint's `model`/`state_dict`/`teacher`/`student` sections all come out prefixed by their
/// section name (choosing or stripping a prefix is the key adapter's business, not this reader's).
/// Everything else — ints, floats, strings, None, lists and tuples (even of tensors) — is ignored.
/// Integer keys are written in decimal (`optimizer.state.0.exp_avg`); other non-string keys are
/// ignored. A key produced twice, a dict that contains itself, or a checkpoint without any tensor is
/// an error.
public enum PyTorchCheckpoint {
    /// Reads a `torch.save`d state dict (zip format or legacy non-zip format) without executing code.
    public static func read(contentsOf url: URL) throws -> StateDict {
        let file = url.path
        let data: Data
        do {
            data = try Data(contentsOf: url, options: .alwaysMapped)
        } catch {
            throw CheckpointError(file: file, "cannot read the file (\(error.localizedDescription))")
        }
        let tensors = try data.withUnsafeBytes { try read(bytes: $0, file: file) }
        return StateDict(tensors, source: file)
    }

    /// Reads a checkpoint held in memory; `file` names it in errors.
    static func read(bytes: UnsafeRawBufferPointer, file: String) throws -> [String: Tensor] {
        guard !bytes.isEmpty else { throw CheckpointError(file: file, "the file is empty; not a PyTorch checkpoint") }
        if ZipArchive.looksLikeZip(bytes) { return try readZip(bytes: bytes, file: file) }
        if bytes[0] == 0x80 { return try readLegacy(bytes: bytes, file: file) }
        if bytes.count >= 262, Array(bytes[257..<262]) == Array("ustar".utf8) {
            throw CheckpointError(file: file, "this is the tar-based checkpoint layout of PyTorch < 0.4, which RadProbe "
                + "does not read; load it with torch and save it again with torch.save")
        }
        let head = bytes.prefix(8).map { String(format: "%02x", $0) }.joined(separator: " ")
        throw CheckpointError(file: file, "not a PyTorch checkpoint: neither a zip archive (torch.save's format since "
            + "torch 1.6) nor a legacy torch.save pickle (the file starts with bytes \(head))")
    }

    // MARK: Zip format

    private static func readZip(bytes: UnsafeRawBufferPointer, file: String) throws -> [String: Tensor] {
        let archive = try ZipArchive(file: file, bytes: bytes)
        let pickles = archive.entries.filter { entry in
            let parts = entry.name.split(separator: "/", omittingEmptySubsequences: false)
            return parts.last == "data.pkl" && (parts.count == 1 || (parts.count == 2 && !parts[0].isEmpty))
        }
        guard pickles.count == 1 else {
            if pickles.isEmpty {
                if archive.entries.contains(where: { $0.name.hasSuffix("/constants.pkl") || $0.name.contains("/code/") }) {
                    throw CheckpointError(file: file, "this zip is a TorchScript archive (torch.jit.save), not a "
                        + "torch.save state dict; save model.state_dict() with torch.save instead")
                }
                let names = archive.entries.prefix(5).map(\.name).joined(separator: ", ")
                throw CheckpointError(file: file, "zip archive has no <root>/data.pkl, so it is not a torch.save "
                    + "checkpoint (entries: \(names.isEmpty ? "none" : names))")
            }
            throw CheckpointError(file: file, "zip archive holds several pickles (\(pickles.map(\.name).joined(separator: ", "))); "
                + "a torch.save checkpoint has exactly one <root>/data.pkl")
        }
        let pickleEntry = pickles[0]
        let root = String(pickleEntry.name.dropLast("data.pkl".count))  // "" or "name/"

        var bigEndian = false
        if let order = archive.entry(named: root + "byteorder") {
            let text = String(decoding: try archive.contents(of: order), as: UTF8.self)
                .trimmingCharacters(in: .whitespacesAndNewlines)
            switch text {
            case "little": bigEndian = false
            case "big": bigEndian = true
            default:
                throw CheckpointError(file: file, "\(order.name) says the byte order is '\(text)'; expected 'little' or 'big'")
            }
        }

        var unpickler = SafeUnpickler(file: file, context: pickleEntry.name, bytes: try archive.contents(of: pickleEntry),
                                      persistentLoad: { try storageReference($0, legacy: false) })
        let references = try flatten(try unpickler.load(), file: file)

        var tensors: [String: Tensor] = [:]
        for (name, reference) in references {
            let storageName = root + "data/" + reference.storage.key
            guard let entry = archive.entry(named: storageName) else {
                throw CheckpointError(file: file, "storage entry \(storageName), which tensor '\(name)' needs, is missing "
                    + "from the zip archive (the file is damaged or incomplete)")
            }
            tensors[name] = try materialize(reference, name: name, storage: try archive.contents(of: entry),
                                            storageName: storageName, bigEndian: bigEndian, file: file)
        }
        return tensors
    }

    // MARK: Legacy format

    /// 0x1950a86a20f9469cfc6c, as LONG1 stores it (little-endian).
    private static let legacyMagic: [UInt8] = [0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19]
    private static let legacyProtocolVersion = 1001

    private static func readLegacy(bytes: UnsafeRawBufferPointer, file: String) throws -> [String: Tensor] {
        var magicPickle = SafeUnpickler(file: file, context: "the magic-number pickle", bytes: bytes)
        let magic = try magicPickle.load()
        guard case .bigInt(let value) = magic, value == legacyMagic else {
            throw CheckpointError(file: file, "not a PyTorch checkpoint: the file is a pickle, but it does not start "
                + "with torch.save's magic number 0x1950a86a20f9469cfc6c (it starts with \(magic.kind))")
        }
        var versionPickle = SafeUnpickler(file: file, context: "the protocol-version pickle", bytes: bytes,
                                          position: magicPickle.position)
        let version = try versionPickle.load()
        guard case .int(legacyProtocolVersion) = version else {
            let shown = if case .int(let v) = version { "\(v)" } else { version.kind }
            throw CheckpointError(file: file, "legacy checkpoint has protocol version \(shown); RadProbe reads "
                + "version \(legacyProtocolVersion), the only one torch.save writes")
        }
        var sysInfoPickle = SafeUnpickler(file: file, context: "the sys_info pickle", bytes: bytes,
                                          position: versionPickle.position)
        let sysInfo = try sysInfoPickle.load()
        guard case .dict = sysInfo else {
            throw CheckpointError(file: file, "legacy checkpoint's sys_info is \(sysInfo.kind), not a dict (the file is damaged)")
        }

        // Storages declared by the main pickle: root key -> (element type, element count).
        var declared: [String: (type: ElementType, count: Int)] = [:]
        var mainPickle = SafeUnpickler(file: file, context: "the main pickle", bytes: bytes, position: sysInfoPickle.position,
                                       persistentLoad: { id in
                                           let value = try storageReference(id, legacy: true)
                                           if case .storage(let s) = value, case .tuple(let t) = id, case .int(let rootCount) = t[4] {
                                               if let earlier = declared[s.key], earlier.type != s.elementType || earlier.count != rootCount {
                                                   throw SafeUnpickler.PickleFailure.message(
                                                       "declares storage \(s.key) twice with different types or sizes")
                                               }
                                               declared[s.key] = (s.elementType, rootCount)
                                           }
                                           return value
                                       })
        let references = try flatten(try mainPickle.load(), file: file)

        var keysPickle = SafeUnpickler(file: file, context: "the storage-key pickle", bytes: bytes, position: mainPickle.position)
        let keyList = try keysPickle.load()
        let keyValues: [PickleValue]
        switch keyList {
        case .list(let list): keyValues = list.items
        case .tuple(let items): keyValues = items
        default:
            throw CheckpointError(file: file, "legacy checkpoint's storage-key list is \(keyList.kind), not a list (the file is damaged)")
        }

        // The storages follow, in the listed order: int64 element count, then the bytes.
        var reader = CheckpointByteReader(file: file, bytes: bytes, what: "legacy storage data", position: keysPickle.position)
        var storages: [String: UnsafeRawBufferPointer] = [:]
        for keyValue in keyValues {
            let key: String
            switch keyValue {
            case .string(let s): key = s
            case .int(let i): key = String(i)
            default: throw CheckpointError(file: file, "legacy checkpoint lists \(keyValue.kind) as a storage key (the file is damaged)")
            }
            guard let storage = declared[key] else {
                throw CheckpointError(file: file, "legacy checkpoint lists storage \(key), which its pickle never declares "
                    + "(the file is damaged)")
            }
            let start = reader.position
            let count = try reader.int64(what: "element count of legacy storage \(key)")
            guard count == storage.count else {
                throw CheckpointError(file: file, "legacy storage \(key) (byte \(start)) holds \(count) elements, but the "
                    + "pickle declares \(storage.count) (the file is damaged)")
            }
            let (byteCount, overflow) = count.multipliedReportingOverflow(by: storage.type.byteCount)
            guard !overflow, byteCount <= reader.remaining else {
                throw CheckpointError(file: file, "legacy storage \(key) needs \(count) \(storage.type.rawValue) elements "
                    + "from byte \(reader.position), but the file ends after \(reader.remaining) more bytes (it is truncated)")
            }
            storages[key] = try reader.bytes(byteCount)
        }

        var tensors: [String: Tensor] = [:]
        for (name, reference) in references {
            guard let storage = storages[reference.storage.key] else {
                throw CheckpointError(file: file, "storage \(reference.storage.key), which tensor '\(name)' needs, is missing "
                    + "from the legacy checkpoint's storage list (the file is damaged)")
            }
            tensors[name] = try materialize(reference, name: name, storage: storage,
                                            storageName: "legacy storage \(reference.storage.key)", bigEndian: false, file: file)
        }
        return tensors
    }

    // MARK: Shared steps

    /// Interprets a persistent id: zip `('storage', type, key, location, numel)`; legacy adds a sixth
    /// element, `view_metadata`, None or `(view_key, offset, view_numel)` for a view into the storage.
    private static func storageReference(_ id: PickleValue, legacy: Bool) throws -> PickleValue {
        typealias Failure = SafeUnpickler.PickleFailure
        let arity = legacy ? 6 : 5
        guard case .tuple(let t) = id, t.count == arity, case .string("storage") = t[0] else {
            throw Failure.message("is \(id.kind), not the \(arity)-tuple ('storage', type, key, location, size"
                + (legacy ? ", view" : "") + ") that torch.save writes")
        }
        guard case .global(.storageType(_, let type)) = t[1] else {
            throw Failure.message("names \(t[1].kind) as its storage type")
        }
        let key: String
        switch t[2] {
        case .string(let s): key = s
        case .int(let i): key = String(i)
        default: throw Failure.message("has \(t[2].kind) as its storage key")
        }
        guard case .int(let count) = t[4], count >= 0 else { throw Failure.message("has a bad storage size (\(t[4].kind))") }
        var offset = 0
        var viewCount = count
        if legacy {
            switch t[5] {
            case .none:
                break
            case .tuple(let view):
                guard view.count == 3, case .int(let start) = view[1], case .int(let length) = view[2],
                      start >= 0, length >= 0, start <= count, length <= count - start else {
                    throw Failure.message("has view metadata that does not fit inside its \(count)-element storage")
                }
                offset = start
                viewCount = length
            default:
                throw Failure.message("has \(t[5].kind) as its view metadata")
            }
        }
        return .storage(StorageReference(key: key, elementType: type, count: viewCount, offset: offset))
    }

    /// Applies the flattening rule (see the type's documentation) to the unpickled object.
    static func flatten(_ object: PickleValue, file: String) throws -> [(name: String, reference: TensorReference)] {
        guard case .dict(let top) = object else {
            throw CheckpointError(file: file, "the checkpoint holds \(object.kind), not a dict of tensors (a state dict); "
                + "save model.state_dict() instead")
        }
        var result: [(name: String, reference: TensorReference)] = []
        var seen: Set<String> = []
        func walk(_ dict: PickleDict, prefix: String, path: [ObjectIdentifier]) throws {
            let id = ObjectIdentifier(dict)
            guard !path.contains(id) else {
                throw CheckpointError(file: file, "the dict under '\(prefix.dropLast())' contains itself; not a state dict")
            }
            guard path.count < 64 else {
                throw CheckpointError(file: file, "dicts are nested more than 64 deep under '\(prefix.dropLast())'; not a state dict")
            }
            for (key, value) in dict.entries {
                let name: String
                switch key {
                case .string(let s): name = prefix + s
                case .int(let i): name = prefix + String(i)
                default: continue
                }
                switch value {
                case .tensor(let reference):
                    guard seen.insert(name).inserted else {
                        throw CheckpointError(file: file, "the key '\(name)' occurs twice once nested dicts are "
                            + "flattened with dotted keys")
                    }
                    result.append((name, reference))
                case .dict(let inner):
                    try walk(inner, prefix: name + ".", path: path + [id])
                default:
                    continue
                }
            }
        }
        try walk(top, prefix: "", path: [])
        guard !result.isEmpty else {
            throw CheckpointError(file: file, "the checkpoint's dict holds no tensors (not at the top level, not in nested dicts)")
        }
        return result
    }

    /// Largest element count a stride-0 (expanded) tensor may blow up to beyond its stored elements.
    private static let expansionLimit = 1 << 28

    /// Copies a tensor's elements, honouring offset and strides, into a new contiguous `Float` tensor.
    static func materialize(_ reference: TensorReference, name: String, storage: UnsafeRawBufferPointer,
                            storageName: String, bigEndian: Bool, file: String) throws -> Tensor {
        let type = reference.storage.elementType
        let size = type.byteCount
        let root = reference.storage
        func damaged(_ message: String) -> CheckpointError { CheckpointError(file: file, message) }

        // The declared storage (or legacy view) must be present in full.
        let (end, overflowA) = root.offset.addingReportingOverflow(root.count)
        let (declaredBytes, overflowB) = end.multipliedReportingOverflow(by: size)
        guard !overflowA, !overflowB, declaredBytes <= storage.count else {
            throw damaged("\(storageName) holds \(storage.count) bytes, but tensor '\(name)' needs its \(root.count) "
                + "\(type.rawValue) elements" + (root.offset > 0 ? " from element \(root.offset)" : "")
                + " (\(overflowA || overflowB ? "too many" : "\(declaredBytes)") bytes); the file is truncated or damaged")
        }

        // Element count, and the furthest storage element the view reaches.
        var count = 1
        var last = reference.offset
        var overflow = false
        for (extent, stride) in zip(reference.shape, reference.strides) {
            let (c, o1) = count.multipliedReportingOverflow(by: extent)
            count = c
            overflow = overflow || o1
            if extent > 0 {
                let (step, o2) = (extent - 1).multipliedReportingOverflow(by: stride)
                let (l, o3) = last.addingReportingOverflow(step)
                last = l
                overflow = overflow || o2 || o3
            }
        }
        let description = "size \(reference.shape), stride \(reference.strides), storage offset \(reference.offset)"
        guard !overflow else { throw damaged("tensor '\(name)' has an impossible layout (\(description))") }
        if count == 0 { return Tensor(shape: reference.shape) }
        guard last < root.count else {
            throw damaged("tensor '\(name)' (\(description)) reaches element \(last) of \(storageName), which has only "
                + "\(root.count) elements (the file is damaged)")
        }
        guard count <= max(root.count, expansionLimit) else {
            throw damaged("tensor '\(name)' (\(description)) expands \(root.count) stored elements to \(count); refusing")
        }
        guard let storageBase = storage.baseAddress else { throw damaged("\(storageName) is empty") }
        let base = storageBase + (root.offset + reference.offset) * size

        // Contiguous when the strides are row-major (extent-1 dimensions may carry any stride).
        var expected = 1
        var contiguous = true
        for (extent, stride) in zip(reference.shape, reference.strides).reversed() where extent != 1 {
            if stride != expected { contiguous = false; break }
            expected *= extent
        }
        if contiguous { return type.tensor(from: base, shape: reference.shape, bigEndian: bigEndian) }

        let shape = reference.shape
        let strides = reference.strides
        let rank = shape.count  // >= 1 here: a 0-d tensor is contiguous
        let inner = shape[rank - 1]
        let innerStride = strides[rank - 1]
        return Tensor(shape: shape) { out in
            var index = [Int](repeating: 0, count: rank - 1)
            var source = 0  // element offset from `base` of the current row
            var written = 0
            while written < count {
                let destination = out.baseAddress! + written
                if innerStride == 1 {
                    type.decode(base + source * size, count: inner, into: destination, bigEndian: bigEndian)
                } else {
                    for j in 0..<inner {
                        type.decode(base + (source + j * innerStride) * size, count: 1, into: destination + j, bigEndian: bigEndian)
                    }
                }
                written += inner
                // Odometer over the outer dimensions.
                var d = rank - 2
                while d >= 0 {
                    index[d] += 1
                    source += strides[d]
                    if index[d] < shape[d] { break }
                    source -= strides[d] * shape[d]
                    index[d] = 0
                    d -= 1
                }
            }
        }
    }
}
