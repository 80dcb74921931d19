/// A pickle virtual machine that never executes code: the subset of pickle protocols 1–5 that a
/// `torch.save`d state dict uses, with globals resolved only from a fixed allow-list.
///
/// Python's `pickle.load` imports any module and calls any callable a pickle names (`os.system`,
/// `builtins.eval`, ...), so loading an untrusted checkpoint with it runs the checkpoint's code.
/// This machine knows a handful of globals by name (`PickleGlobal`) and interprets them itself:
/// `collections.OrderedDict` makes a dict, `torch._utils._rebuild_tensor_v2` records where a
/// tensor's elements are, the `torch.*Storage` types only name element types. Any other global is
/// refused the moment the pickle names it, before anything could call it.
///
/// Tensors come out as `TensorReference`s (storage key + offset + shape + strides); the checkpoint
/// reader materialises them once it has the storages (in the legacy format those follow the pickle).

/// A value on the pickle machine's stack.
enum PickleValue {
    case none
    case bool(Bool)
    case int(Int)
    /// An integer too wide for `Int`: little-endian two's complement bytes, as LONG1/LONG4 store them.
    case bigInt([UInt8])
    case float(Double)
    case string(String)
    case bytes([UInt8])
    case tuple([PickleValue])
    /// Lists, sets and frozensets (mutable and shared through the memo, hence a class).
    case list(PickleList)
    case dict(PickleDict)
    /// An allow-listed global, named but never imported or called.
    case global(PickleGlobal)
    case storage(StorageReference)
    case tensor(TensorReference)

    /// Short description for error messages.
    var kind: String {
        switch self {
        case .none: "None"
        case .bool: "a bool"
        case .int, .bigInt: "an int"
        case .float: "a float"
        case .string: "a string"
        case .bytes: "bytes"
        case .tuple: "a tuple"
        case .list: "a list"
        case .dict: "a dict"
        case .global(let g): g.qualifiedName
        case .storage: "a storage"
        case .tensor: "a tensor"
        }
    }
}

final class PickleList {
    var items: [PickleValue]
    init(_ items: [PickleValue] = []) { self.items = items }
}

/// An insertion-ordered dict; a key set twice keeps its first position and its last value, as in Python.
final class PickleDict {
    private(set) var entries: [(key: PickleValue, value: PickleValue)] = []
    private var positions: [HashableKey: Int] = [:]

    private enum HashableKey: Hashable {
        case string(String), int(Int), bigInt([UInt8]), bool(Bool), none, bytes([UInt8])
    }

    private static func hashable(_ key: PickleValue) -> HashableKey? {
        switch key {
        case .string(let s): .string(s)
        // Python: True == 1 and False == 0 as dict keys.
        case .int(let i): .int(i)
        case .bool(let b): .int(b ? 1 : 0)
        case .bigInt(let b): .bigInt(b)
        case .none: HashableKey.none
        case .bytes(let b): .bytes(b)
        default: nil
        }
    }

    func set(_ key: PickleValue, _ value: PickleValue) {
        if let h = Self.hashable(key) {
            if let at = positions[h] { entries[at].value = value; return }
            positions[h] = entries.count
        }
        entries.append((key, value))
    }
}

/// The globals a state dict needs, resolved by name only.
enum PickleGlobal: Equatable {
    case orderedDict
    case rebuildTensorV2
    case rebuildTensor
    case rebuildParameter
    case rebuildParameterWithState
    /// `torch.FloatStorage` and friends: only name an element type.
    case storageType(name: String, elementType: ElementType)

    /// Storage type names → element types (`torch.<name>`).
    static let storageTypes: [String: ElementType] = [
        "FloatStorage": .float32, "HalfStorage": .float16, "BFloat16Storage": .bfloat16,
        "DoubleStorage": .float64, "LongStorage": .int64, "IntStorage": .int32, "ShortStorage": .int16,
        "CharStorage": .int8, "ByteStorage": .uint8, "BoolStorage": .bool,
    ]

    /// The allow-list: `module.name` → global. Nothing else is ever resolved.
    static func resolve(module: String, name: String) -> PickleGlobal? {
        switch (module, name) {
        case ("collections", "OrderedDict"): return .orderedDict
        case ("torch._utils", "_rebuild_tensor_v2"): return .rebuildTensorV2
        case ("torch._utils", "_rebuild_tensor"): return .rebuildTensor
        case ("torch._utils", "_rebuild_parameter"): return .rebuildParameter
        case ("torch._utils", "_rebuild_parameter_with_state"): return .rebuildParameterWithState
        case ("torch", _):
            if let type = storageTypes[name] { return .storageType(name: name, elementType: type) }
            return nil
        default: return nil
        }
    }

    var qualifiedName: String {
        switch self {
        case .orderedDict: "collections.OrderedDict"
        case .rebuildTensorV2: "torch._utils._rebuild_tensor_v2"
        case .rebuildTensor: "torch._utils._rebuild_tensor"
        case .rebuildParameter: "torch._utils._rebuild_parameter"
        case .rebuildParameterWithState: "torch._utils._rebuild_parameter_with_state"
        case .storageType(let name, _): "torch.\(name)"
        }
    }
}

/// A run of `count` elements of one type: a whole stored storage, or (legacy format) a view into one.
struct StorageReference: Equatable {
    /// Key of the stored storage (`data/<key>` in a zip, the key list in the legacy format).
    let key: String
    let elementType: ElementType
    /// Elements the checkpoint declares for this storage (or view).
    let count: Int
    /// First element within the stored storage (non-zero only for legacy storage views).
    let offset: Int
}

/// Where a tensor's elements are: `element[i₀,…] = storage[offset + Σ iₖ·strides[k]]`.
struct TensorReference: Equatable {
    let storage: StorageReference
    let offset: Int
    let shape: [Int]
    let strides: [Int]
}

/// The pickle machine. `load()` runs one pickle from `position` to its STOP and leaves `position`
/// just after it, so the legacy format's consecutive pickles are read by calling it repeatedly.
struct SafeUnpickler {
    /// File name for errors.
    let file: String
    /// What is being unpickled, for errors ("archive/data.pkl", "the main pickle").
    let context: String
    let bytes: UnsafeRawBufferPointer
    private(set) var position: Int
    /// Called for BINPERSID/PERSID with the persistent id; returns what the id stands for.
    var persistentLoad: (PickleValue) throws -> PickleValue

    init(file: String, context: String, bytes: UnsafeRawBufferPointer, position: Int = 0,
         persistentLoad: @escaping (PickleValue) throws -> PickleValue = { _ in
             throw PickleFailure.message("has a persistent id where none is expected") }) {
        self.file = file
        self.context = context
        self.bytes = bytes
        self.position = position
        self.persistentLoad = persistentLoad
    }

    enum PickleFailure: Error { case message(String) }

    private func fail(_ message: String) -> CheckpointError {
        CheckpointError(file: file, "\(context): \(message)")
    }

    // MARK: Reading the byte stream

    private mutating func take(_ count: Int, for opcode: String) throws -> UnsafeRawBufferPointer {
        guard count >= 0, count <= bytes.count - position else {
            throw fail("pickle is cut short at byte \(position): \(opcode) needs \(count) bytes, "
                + "only \(bytes.count - position) left (the file is truncated or damaged)")
        }
        defer { position += count }
        return UnsafeRawBufferPointer(rebasing: bytes[position..<(position + count)])
    }

    private mutating func uint8(for opcode: String) throws -> Int { Int(try take(1, for: opcode)[0]) }

    private mutating func uint16(for opcode: String) throws -> Int {
        Int(UInt16(littleEndian: try take(2, for: opcode).loadUnaligned(as: UInt16.self)))
    }

    private mutating func uint32(for opcode: String) throws -> Int {
        Int(UInt32(littleEndian: try take(4, for: opcode).loadUnaligned(as: UInt32.self)))
    }

    private mutating func int32(for opcode: String) throws -> Int {
        Int(Int32(littleEndian: try take(4, for: opcode).loadUnaligned(as: Int32.self)))
    }

    private mutating func length64(for opcode: String) throws -> Int {
        let raw = UInt64(littleEndian: try take(8, for: opcode).loadUnaligned(as: UInt64.self))
        guard raw <= UInt64(Int.max) else { throw fail("\(opcode) at byte \(position - 8) has length \(raw)") }
        return Int(raw)
    }

    /// A text line up to "\n" (GLOBAL, INT, ...), without the newline.
    private mutating func line(for opcode: String) throws -> String {
        let rest = UnsafeRawBufferPointer(rebasing: bytes[position..<min(bytes.count, position + 4096)])
        guard let newline = rest.firstIndex(of: 0x0A) else {
            throw fail("pickle is cut short at byte \(position): \(opcode) needs a text line ending in a newline")
        }
        defer { position += newline + 1 }
        return String(decoding: rest[..<newline], as: UTF8.self)
    }

    private static func utf8(_ raw: UnsafeRawBufferPointer) -> String { String(decoding: raw, as: UTF8.self) }

    // MARK: The machine

    /// Runs the pickle at `position` up to and including its STOP; returns the value it leaves.
    mutating func load() throws -> PickleValue {
        var stack: [PickleValue] = []
        var marks: [[PickleValue]] = []
        var memo: [Int: PickleValue] = [:]

        func pop(_ opcode: String) throws -> PickleValue {
            guard let value = stack.popLast() else { throw fail("\(opcode) at byte \(position) finds an empty stack") }
            return value
        }
        func popMark(_ opcode: String) throws -> [PickleValue] {
            guard let outer = marks.popLast() else { throw fail("\(opcode) at byte \(position) has no MARK to pop to") }
            defer { stack = outer }
            return stack
        }
        func top(_ opcode: String) throws -> PickleValue {
            guard let value = stack.last else { throw fail("\(opcode) at byte \(position) finds an empty stack") }
            return value
        }
        func memoGet(_ key: Int, _ opcode: String) throws -> PickleValue {
            guard let value = memo[key] else { throw fail("\(opcode) at byte \(position) asks for memo \(key), never stored") }
            return value
        }
        func memoPut(_ key: Int, _ opcode: String) throws {
            memo[key] = try top(opcode)
        }
        func global(module: String, name: String) throws -> PickleValue {
            guard let resolved = PickleGlobal.resolve(module: module, name: name) else {
                throw CheckpointError(file: file, "pickle asks for the global \(module).\(name), which a state dict "
                    + "never needs; refusing to load it (RadProbe never executes code from a checkpoint)")
            }
            return .global(resolved)
        }
        func listTarget(_ opcode: String) throws -> PickleList {
            guard case .list(let list) = try top(opcode) else {
                throw fail("\(opcode) at byte \(position) appends to \(try top(opcode).kind), not a list")
            }
            return list
        }
        func dictTarget(_ opcode: String) throws -> PickleDict {
            guard case .dict(let dict) = try top(opcode) else {
                throw fail("\(opcode) at byte \(position) sets items on \(try top(opcode).kind), not a dict")
            }
            return dict
        }
        func persistent(_ id: PickleValue) throws -> PickleValue {
            do { return try persistentLoad(id) } catch let PickleFailure.message(message) {
                throw fail("persistent id at byte \(position) \(message)")
            }
        }

        while true {
            let at = position
            let opcode = try uint8(for: "an opcode")
            switch opcode {
            case 0x80:  // PROTO
                let version = try uint8(for: "PROTO")
                guard version <= 5 else { throw fail("pickle protocol \(version) (byte \(at)) is newer than 5") }
            case 0x95:  // FRAME: a length prefix for buffering; the opcodes follow as usual.
                _ = try take(8, for: "FRAME")
            case 0x2E:  // STOP
                let result = try pop("STOP")
                return result

            // Stack manipulation
            case 0x28: marks.append(stack); stack = []  // MARK
            case 0x30: _ = try pop("POP")  // POP
            case 0x31: _ = try popMark("POP_MARK")  // POP_MARK
            case 0x32: stack.append(try top("DUP"))  // DUP

            // Numbers
            case 0x4E: stack.append(.none)  // NONE
            case 0x88: stack.append(.bool(true))  // NEWTRUE
            case 0x89: stack.append(.bool(false))  // NEWFALSE
            case 0x4A: stack.append(.int(try int32(for: "BININT")))  // BININT
            case 0x4B: stack.append(.int(try uint8(for: "BININT1")))  // BININT1
            case 0x4D: stack.append(.int(try uint16(for: "BININT2")))  // BININT2
            case 0x8A:  // LONG1
                let count = try uint8(for: "LONG1")
                stack.append(Self.integer(Array(try take(count, for: "LONG1"))))
            case 0x8B:  // LONG4
                let count = try int32(for: "LONG4")
                stack.append(Self.integer(Array(try take(count, for: "LONG4"))))
            case 0x49:  // INT (text): "00"/"01" are False/True in protocol 0
                let text = try line(for: "INT")
                if text == "00" { stack.append(.bool(false)) } else if text == "01" { stack.append(.bool(true)) } else {
                    guard let value = Int(text) else { throw fail("INT at byte \(at) is not an integer: \(text)") }
                    stack.append(.int(value))
                }
            case 0x4C:  // LONG (text)
                var text = try line(for: "LONG")
                if text.hasSuffix("L") { text.removeLast() }
                guard let value = Int(text) else { throw fail("LONG at byte \(at) is not a 64-bit integer: \(text)") }
                stack.append(.int(value))
            case 0x47:  // BINFLOAT: big-endian IEEE double
                let bits = UInt64(bigEndian: try take(8, for: "BINFLOAT").loadUnaligned(as: UInt64.self))
                stack.append(.float(Double(bitPattern: bits)))
            case 0x46:  // FLOAT (text)
                let text = try line(for: "FLOAT")
                guard let value = Double(text) else { throw fail("FLOAT at byte \(at) is not a number: \(text)") }
                stack.append(.float(value))

            // Strings and bytes
            case 0x58:  // BINUNICODE
                let count = try uint32(for: "BINUNICODE")
                stack.append(.string(Self.utf8(try take(count, for: "BINUNICODE"))))
            case 0x8C:  // SHORT_BINUNICODE
                let count = try uint8(for: "SHORT_BINUNICODE")
                stack.append(.string(Self.utf8(try take(count, for: "SHORT_BINUNICODE"))))
            case 0x8D:  // BINUNICODE8
                let count = try length64(for: "BINUNICODE8")
                stack.append(.string(Self.utf8(try take(count, for: "BINUNICODE8"))))
            case 0x54:  // BINSTRING (Python 2 str; latin-1 like Python 3's default "ASCII"/"latin1" decoding)
                let count = try int32(for: "BINSTRING")
                stack.append(.string(String(try take(count, for: "BINSTRING").map { Character(Unicode.Scalar($0)) })))
            case 0x55:  // SHORT_BINSTRING
                let count = try uint8(for: "SHORT_BINSTRING")
                stack.append(.string(String(try take(count, for: "SHORT_BINSTRING").map { Character(Unicode.Scalar($0)) })))
            case 0x42:  // BINBYTES
                let count = try uint32(for: "BINBYTES")
                stack.append(.bytes(Array(try take(count, for: "BINBYTES"))))
            case 0x43:  // SHORT_BINBYTES
                let count = try uint8(for: "SHORT_BINBYTES")
                stack.append(.bytes(Array(try take(count, for: "SHORT_BINBYTES"))))
            case 0x8E, 0x96:  // BINBYTES8, BYTEARRAY8
                let name = opcode == 0x8E ? "BINBYTES8" : "BYTEARRAY8"
                let count = try length64(for: name)
                stack.append(.bytes(Array(try take(count, for: name))))

            // Containers
            case 0x29: stack.append(.tuple([]))  // EMPTY_TUPLE
            case 0x74: stack.append(.tuple(try popMark("TUPLE")))  // TUPLE
            case 0x85: stack.append(.tuple([try pop("TUPLE1")]))  // TUPLE1
            case 0x86:  // TUPLE2
                let b = try pop("TUPLE2"), a = try pop("TUPLE2")
                stack.append(.tuple([a, b]))
            case 0x87:  // TUPLE3
                let c = try pop("TUPLE3"), b = try pop("TUPLE3"), a = try pop("TUPLE3")
                stack.append(.tuple([a, b, c]))
            case 0x5D, 0x8F: stack.append(.list(PickleList()))  // EMPTY_LIST, EMPTY_SET
            case 0x6C: stack.append(.list(PickleList(try popMark("LIST"))))  // LIST
            case 0x91: stack.append(.list(PickleList(try popMark("FROZENSET"))))  // FROZENSET
            case 0x61:  // APPEND
                let value = try pop("APPEND")
                try listTarget("APPEND").items.append(value)
            case 0x65, 0x90:  // APPENDS, ADDITEMS
                let name = opcode == 0x65 ? "APPENDS" : "ADDITEMS"
                let values = try popMark(name)
                try listTarget(name).items.append(contentsOf: values)
            case 0x7D: stack.append(.dict(PickleDict()))  // EMPTY_DICT
            case 0x64:  // DICT
                let items = try popMark("DICT")
                guard items.count % 2 == 0 else { throw fail("DICT at byte \(at) has an odd number of items") }
                let dict = PickleDict()
                for i in stride(from: 0, to: items.count, by: 2) { dict.set(items[i], items[i + 1]) }
                stack.append(.dict(dict))
            case 0x73:  // SETITEM
                let value = try pop("SETITEM"), key = try pop("SETITEM")
                try dictTarget("SETITEM").set(key, value)
            case 0x75:  // SETITEMS
                let items = try popMark("SETITEMS")
                guard items.count % 2 == 0 else { throw fail("SETITEMS at byte \(at) has an odd number of items") }
                let dict = try dictTarget("SETITEMS")
                for i in stride(from: 0, to: items.count, by: 2) { dict.set(items[i], items[i + 1]) }

            // Memo
            case 0x71: try memoPut(try uint8(for: "BINPUT"), "BINPUT")  // BINPUT
            case 0x72: try memoPut(try uint32(for: "LONG_BINPUT"), "LONG_BINPUT")  // LONG_BINPUT
            case 0x94: try memoPut(memo.count, "MEMOIZE")  // MEMOIZE
            case 0x70:  // PUT (text)
                let text = try line(for: "PUT")
                guard let key = Int(text) else { throw fail("PUT at byte \(at) has a bad index: \(text)") }
                try memoPut(key, "PUT")
            case 0x68: stack.append(try memoGet(try uint8(for: "BINGET"), "BINGET"))  // BINGET
            case 0x6A: stack.append(try memoGet(try uint32(for: "LONG_BINGET"), "LONG_BINGET"))  // LONG_BINGET
            case 0x67:  // GET (text)
                let text = try line(for: "GET")
                guard let key = Int(text) else { throw fail("GET at byte \(at) has a bad index: \(text)") }
                stack.append(try memoGet(key, "GET"))

            // Globals and object construction: only allow-listed globals, interpreted here.
            case 0x63:  // GLOBAL "module\nname\n"
                let module = try line(for: "GLOBAL")
                let name = try line(for: "GLOBAL")
                stack.append(try global(module: module, name: name))
            case 0x93:  // STACK_GLOBAL
                let name = try pop("STACK_GLOBAL"), module = try pop("STACK_GLOBAL")
                guard case .string(let n) = name, case .string(let m) = module else {
                    throw fail("STACK_GLOBAL at byte \(at) needs two strings, got \(module.kind) and \(name.kind)")
                }
                stack.append(try global(module: m, name: n))
            case 0x52:  // REDUCE: callable(*args)
                let args = try pop("REDUCE"), callable = try pop("REDUCE")
                stack.append(try apply(callable, args, opcode: "REDUCE", at: at))
            case 0x81:  // NEWOBJ: cls.__new__(cls, *args)
                let args = try pop("NEWOBJ"), cls = try pop("NEWOBJ")
                stack.append(try newObject(cls, args, opcode: "NEWOBJ", at: at))
            case 0x92:  // NEWOBJ_EX: cls.__new__(cls, *args, **kwargs)
                let kwargs = try pop("NEWOBJ_EX"), args = try pop("NEWOBJ_EX"), cls = try pop("NEWOBJ_EX")
                if case .dict(let d) = kwargs, !d.entries.isEmpty {
                    throw fail("NEWOBJ_EX at byte \(at) passes keyword arguments to \(cls.kind)")
                }
                stack.append(try newObject(cls, args, opcode: "NEWOBJ_EX", at: at))
            case 0x62:  // BUILD: obj.__setstate__(state). Dicts (OrderedDict._metadata) and tensors keep none.
                let state = try pop("BUILD")
                let target = try top("BUILD")
                switch target {
                case .dict, .tensor: _ = state
                default: throw fail("BUILD at byte \(at) sets the state of \(target.kind), which a state dict never does")
                }
            case 0x69:  // INST "module\nname\n": resolve (refusing unknown globals), then refuse the opcode.
                let module = try line(for: "INST")
                let name = try line(for: "INST")
                _ = try global(module: module, name: name)
                throw fail("INST at byte \(at) (protocol 0 object creation) is not supported")
            case 0x6F:  // OBJ
                let items = try popMark("OBJ")
                throw fail("OBJ at byte \(at) creates \(items.first?.kind ?? "an object"), which a state dict never does")
            case 0x51:  // BINPERSID
                let id = try pop("BINPERSID")
                stack.append(try persistent(id))
            case 0x50:  // PERSID (text id)
                stack.append(try persistent(.string(try line(for: "PERSID"))))
            case 0x82, 0x83, 0x84:  // EXT1, EXT2, EXT4
                throw fail("pickle opcode EXT\(opcode == 0x82 ? 1 : opcode == 0x83 ? 2 : 4) at byte \(at) uses the "
                    + "copyreg extension registry, which a state dict never needs; refusing to load it")
            case 0x97, 0x98:  // NEXT_BUFFER, READONLY_BUFFER
                throw fail("pickle opcode 0x\(Self.hex(opcode)) at byte \(at) needs out-of-band buffers, "
                    + "which torch.save never writes")
            case 0x53, 0x56:  // STRING, UNICODE (protocol 0 text)
                throw fail("pickle opcode '\(Character(Unicode.Scalar(UInt8(opcode))))' (0x\(Self.hex(opcode))) "
                    + "at byte \(at) is a protocol 0 text string, which torch.save never writes; not supported")
            default:
                throw fail("unknown pickle opcode 0x\(Self.hex(opcode)) at byte \(at)")
            }
        }
    }

    private static func hex(_ byte: Int) -> String { byte < 16 ? "0" + String(byte, radix: 16) : String(byte, radix: 16) }

    /// LONG1/LONG4 bytes (little-endian two's complement) as `.int` when they fit, else `.bigInt`.
    static func integer(_ raw: [UInt8]) -> PickleValue {
        guard let last = raw.last else { return .int(0) }
        let negative = last & 0x80 != 0
        // Drop redundant sign-extension bytes.
        var bytes = raw
        let filler: UInt8 = negative ? 0xFF : 0x00
        while bytes.count > 1, bytes[bytes.count - 1] == filler, (bytes[bytes.count - 2] & 0x80 != 0) == negative {
            bytes.removeLast()
        }
        guard bytes.count <= 8 else { return .bigInt(bytes) }
        var value: UInt64 = negative ? ~0 : 0
        for (i, byte) in bytes.enumerated() {
            value &= ~(UInt64(0xFF) << (8 * UInt64(i)))
            value |= UInt64(byte) << (8 * UInt64(i))
        }
        return .int(Int(Int64(bitPattern: value)))
    }

    // MARK: Allow-listed callables

    private func apply(_ callable: PickleValue, _ args: PickleValue, opcode: String, at: Int) throws -> PickleValue {
        guard case .global(let function) = callable else {
            throw fail("\(opcode) at byte \(at) calls \(callable.kind), which is not callable")
        }
        guard case .tuple(let a) = args else {
            throw fail("\(opcode) at byte \(at) calls \(function.qualifiedName) with \(args.kind) instead of an argument tuple")
        }
        let name = function.qualifiedName
        switch function {
        case .orderedDict:
            let dict = PickleDict()
            if a.isEmpty { return .dict(dict) }
            guard a.count == 1 else { throw fail("\(name) at byte \(at) gets \(a.count) arguments") }
            let pairs: [PickleValue]
            switch a[0] {
            case .list(let list): pairs = list.items
            case .tuple(let items): pairs = items
            case .dict(let other): for (k, v) in other.entries { dict.set(k, v) }; return .dict(dict)
            default: throw fail("\(name) at byte \(at) gets \(a[0].kind) instead of key-value pairs")
            }
            for pair in pairs {
                guard case .tuple(let kv) = pair, kv.count == 2 else {
                    throw fail("\(name) at byte \(at) gets \(pair.kind) where a (key, value) pair belongs")
                }
                dict.set(kv[0], kv[1])
            }
            return .dict(dict)
        case .rebuildTensorV2, .rebuildTensor:
            let expected = function == .rebuildTensor ? 4...4 : 6...7
            guard expected.contains(a.count) else {
                throw fail("\(name) at byte \(at) gets \(a.count) arguments instead of \(expected.lowerBound)"
                    + (expected.count > 1 ? "–\(expected.upperBound)" : ""))
            }
            guard case .storage(let storage) = a[0] else {
                throw fail("\(name) at byte \(at) gets \(a[0].kind) instead of a storage")
            }
            guard case .int(let offset) = a[1], offset >= 0 else {
                throw fail("\(name) at byte \(at) gets a bad storage offset (\(a[1].kind))")
            }
            let shape = try intTuple(a[2], "size", name, at)
            let strides = try intTuple(a[3], "stride", name, at)
            guard shape.count == strides.count else {
                throw fail("\(name) at byte \(at) gets size \(shape) and stride \(strides) of different lengths")
            }
            return .tensor(TensorReference(storage: storage, offset: offset, shape: shape, strides: strides))
        case .rebuildParameter, .rebuildParameterWithState:
            let count = function == .rebuildParameter ? 3 : 4
            guard a.count == count else { throw fail("\(name) at byte \(at) gets \(a.count) arguments instead of \(count)") }
            guard case .tensor = a[0] else { throw fail("\(name) at byte \(at) gets \(a[0].kind) instead of a tensor") }
            return a[0]
        case .storageType:
            throw fail("\(opcode) at byte \(at) calls \(name), which a state dict never does")
        }
    }

    private func newObject(_ cls: PickleValue, _ args: PickleValue, opcode: String, at: Int) throws -> PickleValue {
        guard case .global(.orderedDict) = cls else {
            throw fail("\(opcode) at byte \(at) creates \(cls.kind), which a state dict never does")
        }
        return .dict(PickleDict())
    }

    private func intTuple(_ value: PickleValue, _ what: String, _ name: String, _ at: Int) throws -> [Int] {
        let items: [PickleValue]
        switch value {
        case .tuple(let t): items = t
        case .list(let l): items = l.items
        default: throw fail("\(name) at byte \(at) gets \(value.kind) as its \(what) instead of a tuple of ints")
        }
        return try items.map {
            guard case .int(let i) = $0, i >= 0 else {
                throw fail("\(name) at byte \(at) gets a \(what) with a bad entry (\($0.kind))")
            }
            return i
        }
    }
}
