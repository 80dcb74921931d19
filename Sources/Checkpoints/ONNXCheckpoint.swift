import Foundation
import TensorCore

/// Reads the weights (graph initializers) of an ONNX model, with no protobuf dependency.
///
/// Only what a checkpoint reader needs is decoded: `ModelProto.graph` (field 7) and, in the
/// `GraphProto`, its nodes (field 1: name, op type, inputs, outputs, integer attributes) and
/// initializers (field 5, `TensorProto`). Every other field is skipped. Field numbers follow
/// `onnx.proto` (onnx 1.x): TensorProto 1 dims, 2 data_type, 3 segment, 4 float_data,
/// 5 int32_data, 6 string_data, 7 int64_data, 8 name, 9 raw_data, 10 double_data,
/// 11 uint64_data, 13 external_data, 14 data_location.
///
/// Refused with a `CheckpointError` naming the file (and the tensor where there is one):
/// sparse initializers (GraphProto field 15), tensors stored outside the file (external data),
/// segmented tensors, and element types without a `Float` conversion in `ElementType`
/// (STRING, UINT16/32/64, complex, float8, 4-bit and 2-bit types). Truncated or corrupt files
/// throw instead of crashing.
///
/// ## Names
///
/// `torch.onnx.export` keeps module-path names (`encoder.layer.0.norm1.weight`) for parameters
/// it uses as they are, but not for all of them. Names are recovered from the graph, never from
/// shapes alone, by exactly these rules; everything else keeps its name:
///
/// 1. **Linear weights used by `MatMul`.** A Linear layer applied to a rank-3 input is exported
///    as `MatMul(x, W)` with `W` stored *transposed*, `[in, out]`, under an anonymous name
///    (`onnx::MatMul_1234`, i.e. any name starting with `onnx::`). Such a rank-2 initializer,
///    used only as input 1 of `MatMul` nodes, is renamed `<path>.weight` and transposed to
///    PyTorch's `[out, in]` when every one of those nodes names the same `<path>` by:
///    a. *bias*: the node's output is an input of an `Add` whose other input is an initializer
///       `<path>.bias` of shape `[out]` (either operand order); otherwise
///    b. *node scope*: the node is named `/<m1>/<m2>/…/MatMul` (PyTorch's scope naming, last
///       component exactly `MatMul`), giving `<path>` = `m1.m2.…`
///       (`/encoder/layer.0/attention/attention/query/MatMul` →
///       `encoder.layer.0.attention.attention.query.weight`).
///    If neither rule applies, the nodes disagree, or `<path>.weight` already exists (or is
///    claimed by another weight), the initializer keeps its anonymous name and its `[in, out]`
///    layout, and the binder reports it as unexpected.
/// 2. **Split position embeddings.** Tracing Hugging Face `…Embeddings.interpolate_pos_encoding`
///    at a resolution other than the trained one folds `position_embeddings[:, :1]` and
///    `position_embeddings[:, 1:]` into two anonymous initializers. A `Concat` node with
///    `axis = 1` named `/<p1>/…/<pk>/Concat…` where `<pk>` is `embeddings`, whose input 0 is an
///    anonymous initializer `[1, 1, D]` and whose input 1 is computed from an anonymous
///    initializer `[1, N, D]` through input 0 of `Reshape`/`Transpose`/`Cast`/`Resize` nodes of
///    the same scope only, gives `<path>.position_embeddings` = their concatenation
///    `[1, 1 + N, D]` (`<path>` = `p1.….pk`), provided `<path>.cls_token` is an initializer and
///    `<path>.position_embeddings` is not. Both pieces are then dropped.
public enum ONNXCheckpoint {
    /// Reads the initializers of an ONNX model as a StateDict with PyTorch module-path names.
    ///
    /// Values of every supported element type are converted to `Float` through `ElementType`.
    /// See the type's documentation for the naming rules and for what is refused.
    public static func read(contentsOf url: URL) throws -> StateDict {
        let file = url.path
        let data: Data
        do {
            data = try Data(contentsOf: url, options: .mappedIfSafe)
        } catch {
            throw CheckpointError(file: file, "cannot read the file: \(error.localizedDescription)")
        }
        return try read(data: data, file: file)
    }

    /// Reads an ONNX model from bytes in memory; `file` names the source in errors.
    static func read(data: Data, file: String) throws -> StateDict {
        guard !data.isEmpty else {
            throw CheckpointError(file: file, "the file is empty (0 bytes), not an ONNX model")
        }
        let graph: Graph = try data.withUnsafeBytes { bytes in
            var decoder = ProtobufDecoder(bytes: bytes, file: file, context: "ModelProto")
            var graph = Graph()
            var sawGraph = false
            while let field = try decoder.nextField() {
                if field.number == 7 {
                    let range = try decoder.readMessage(field, "graph")
                    var sub = decoder.subdecoder(range, context: "GraphProto")
                    try readGraph(&sub, into: &graph)
                    sawGraph = true
                } else {
                    try decoder.skip(field)
                }
            }
            guard sawGraph else {
                throw CheckpointError(file: file, "no graph (ModelProto field 7) found; this is not an ONNX model")
            }
            return graph
        }
        guard !graph.initializers.isEmpty else {
            throw CheckpointError(file: file, "the ONNX graph has no initializers (weights stored as Constant nodes "
                + "or as graph inputs are not read); export with the weights as initializers")
        }
        var tensors = [String: Tensor](minimumCapacity: graph.initializers.count)
        for (name, tensor) in graph.initializers {
            guard tensors.updateValue(tensor, forKey: name) == nil else {
                throw CheckpointError(file: file, "the ONNX graph has two initializers named '\(name)'")
            }
        }
        recoverModulePaths(&tensors, nodes: graph.nodes)
        return StateDict(tensors, source: file)
    }

    // MARK: - Graph decoding

    /// The parts of a `GraphProto` the reader uses.
    struct Graph {
        var nodes: [Node] = []
        /// Initializers in file order (names may repeat in a corrupt file; checked later).
        var initializers: [(String, Tensor)] = []
    }

    /// The parts of a `NodeProto` the reader uses.
    struct Node {
        var name = ""
        var opType = ""
        var inputs: [String] = []
        var outputs: [String] = []
        /// Integer attributes (`AttributeProto.i`) by name, e.g. `axis` of `Concat`.
        var intAttributes: [String: Int64] = [:]
    }

    private static func readGraph(_ decoder: inout ProtobufDecoder, into graph: inout Graph) throws {
        while let field = try decoder.nextField() {
            switch field.number {
            case 1:
                let range = try decoder.readMessage(field, "node")
                var sub = decoder.subdecoder(range, context: "NodeProto #\(graph.nodes.count)")
                graph.nodes.append(try readNode(&sub))
            case 5:
                let range = try decoder.readMessage(field, "initializer")
                var sub = decoder.subdecoder(range, context: "TensorProto (initializer #\(graph.initializers.count))")
                graph.initializers.append(try readTensor(&sub))
            case 15:
                let range = try decoder.readMessage(field, "sparse_initializer")
                var sub = decoder.subdecoder(range, context: "SparseTensorProto")
                let name = try sparseTensorName(&sub)
                throw CheckpointError(file: decoder.file, "initializer '\(name)' is a sparse tensor "
                    + "(GraphProto.sparse_initializer), which is not supported; densify it before export")
            default:
                try decoder.skip(field)
            }
        }
    }

    private static func readNode(_ decoder: inout ProtobufDecoder) throws -> Node {
        var node = Node()
        while let field = try decoder.nextField() {
            switch field.number {
            case 1: node.inputs.append(try decoder.readString(field, "input"))
            case 2: node.outputs.append(try decoder.readString(field, "output"))
            case 3: node.name = try decoder.readString(field, "name")
            case 4: node.opType = try decoder.readString(field, "op_type")
            case 5:
                let range = try decoder.readMessage(field, "attribute")
                var sub = decoder.subdecoder(range, context: "AttributeProto of node '\(node.name)'")
                if let (name, value) = try readIntAttribute(&sub) { node.intAttributes[name] = value }
            default: try decoder.skip(field)
            }
        }
        return node
    }

    /// `AttributeProto`: field 1 name, field 3 i (int64). Returns nil for non-integer attributes.
    private static func readIntAttribute(_ decoder: inout ProtobufDecoder) throws -> (String, Int64)? {
        var name: String?
        var value: Int64?
        while let field = try decoder.nextField() {
            switch field.number {
            case 1: name = try decoder.readString(field, "name")
            case 3: value = Int64(bitPattern: try decoder.readVarintField(field, "i"))
            default: try decoder.skip(field)
            }
        }
        guard let name, let value else { return nil }
        return (name, value)
    }

    /// `SparseTensorProto.values` (field 1) is a `TensorProto` whose name (field 8) names the tensor.
    private static func sparseTensorName(_ decoder: inout ProtobufDecoder) throws -> String {
        var name = "(unnamed)"
        while let field = try decoder.nextField() {
            if field.number == 1 {
                let range = try decoder.readMessage(field, "values")
                var values = decoder.subdecoder(range, context: "SparseTensorProto.values")
                while let inner = try values.nextField() {
                    if inner.number == 8 { name = try values.readString(inner, "name") } else { try values.skip(inner) }
                }
            } else {
                try decoder.skip(field)
            }
        }
        return name
    }

    // MARK: - Tensors

    /// ONNX `TensorProto.DataType` values and their names (for messages).
    private static let dataTypeNames: [Int64: String] = [
        0: "UNDEFINED", 1: "FLOAT", 2: "UINT8", 3: "INT8", 4: "UINT16", 5: "INT16", 6: "INT32", 7: "INT64",
        8: "STRING", 9: "BOOL", 10: "FLOAT16", 11: "DOUBLE", 12: "UINT32", 13: "UINT64", 14: "COMPLEX64",
        15: "COMPLEX128", 16: "BFLOAT16", 17: "FLOAT8E4M3FN", 18: "FLOAT8E4M3FNUZ", 19: "FLOAT8E5M2",
        20: "FLOAT8E5M2FNUZ", 21: "UINT4", 22: "INT4", 23: "FLOAT4E2M1", 24: "FLOAT8E8M0", 25: "UINT2", 26: "INT2",
        27: "FLOAT6E2M3", 28: "FLOAT6E3M2",
    ]

    /// Element types RadProbe converts to `Float`.
    private static let elementTypes: [Int64: ElementType] = [
        1: .float32, 2: .uint8, 3: .int8, 5: .int16, 6: .int32, 7: .int64, 9: .bool, 10: .float16, 11: .float64,
        16: .bfloat16,
    ]

    /// Reads one `TensorProto` and converts it to a `Float` tensor.
    private static func readTensor(_ decoder: inout ProtobufDecoder) throws -> (String, Tensor) {
        var dims: [UInt64] = []
        var dataType: Int64?
        var name: String?
        var rawData: Range<Int>?
        var floatData: [UInt32] = []
        var int32Data: [UInt64] = []
        var int64Data: [UInt64] = []
        var doubleData: [UInt64] = []
        var otherTypedField: String?  // string_data / uint64_data, read only to refuse them
        var externalLocation: String?
        var hasExternalData = false
        var dataLocation: UInt64 = 0
        var hasSegment = false

        while let field = try decoder.nextField() {
            switch field.number {
            case 1: try decoder.readRepeatedVarints(field, "dims", into: &dims)
            case 2: dataType = Int64(Int32(truncatingIfNeeded: try decoder.readVarintField(field, "data_type")))
            case 3: _ = try decoder.readMessage(field, "segment"); hasSegment = true
            case 4: try decoder.readRepeatedFixed(field, "float_data", into: &floatData)
            case 5: try decoder.readRepeatedVarints(field, "int32_data", into: &int32Data)
            case 6: _ = try decoder.readMessage(field, "string_data"); otherTypedField = "string_data"
            case 7: try decoder.readRepeatedVarints(field, "int64_data", into: &int64Data)
            case 8: name = try decoder.readString(field, "name")
            case 9: rawData = try decoder.readMessage(field, "raw_data")
            case 10: try decoder.readRepeatedFixed(field, "double_data", into: &doubleData)
            case 11:
                var ignored: [UInt64] = []
                try decoder.readRepeatedVarints(field, "uint64_data", into: &ignored)
                otherTypedField = "uint64_data"
            case 13:
                hasExternalData = true
                let range = try decoder.readMessage(field, "external_data")
                var entry = decoder.subdecoder(range, context: "\(decoder.context).external_data")
                var key: String?
                var value: String?
                while let inner = try entry.nextField() {
                    switch inner.number {
                    case 1: key = try entry.readString(inner, "key")
                    case 2: value = try entry.readString(inner, "value")
                    default: try entry.skip(inner)
                    }
                }
                if key == "location" { externalLocation = value }
            case 14: dataLocation = try decoder.readVarintField(field, "data_location")
            default: try decoder.skip(field)
            }
        }

        let file = decoder.file
        guard let name, !name.isEmpty else {
            throw CheckpointError(file: file, "\(decoder.context) has no name")
        }
        func fail(_ problem: String) -> CheckpointError {
            CheckpointError(file: file, "initializer '\(name)' \(problem)")
        }
        if dataLocation == 1 || hasExternalData {
            let location = externalLocation.map { " (location '\($0)')" } ?? ""
            throw fail("stores its data outside the ONNX file\(location); external data is not supported, "
                + "re-save the model with onnx.save_model(model, path, save_as_external_data=False)")
        }
        if hasSegment { throw fail("is a segmented tensor (TensorProto.segment), which is not supported") }
        guard let dataType else { throw fail("has no data_type") }
        let typeName = dataTypeNames[dataType] ?? "unknown"
        guard let elementType = elementTypes[dataType] else {
            throw fail("has data type \(typeName) (\(dataType)), which RadProbe cannot convert to Float")
        }
        if let otherTypedField { throw fail("has data type \(typeName) but stores values in \(otherTypedField)") }

        var shape: [Int] = []
        var count = 1
        for dim in dims {
            let value = Int64(bitPattern: dim)
            guard value >= 0, value <= Int64(Int.max) else { throw fail("has a negative or huge dimension in \(dims.map { Int64(bitPattern: $0) })") }
            shape.append(Int(value))
            let (product, overflow) = count.multipliedReportingOverflow(by: Int(value))
            guard !overflow else { throw fail("has too many elements (shape \(shape)…)") }
            count = product
        }

        // Exactly one place holds the values: raw_data or the typed field that goes with the type.
        let typedCounts = [("float_data", floatData.count), ("int32_data", int32Data.count),
                           ("int64_data", int64Data.count), ("double_data", doubleData.count)].filter { $0.1 > 0 }
        if let rawData {
            guard typedCounts.isEmpty else {
                throw fail("holds both raw_data and \(typedCounts[0].0); the file is inconsistent")
            }
            let (expected, overflow) = count.multipliedReportingOverflow(by: elementType.byteCount)
            guard !overflow, rawData.count == expected else {
                throw fail("has shape \(shape) of \(typeName) (\(overflow ? "too many" : String(expected)) bytes) "
                    + "but raw_data holds \(rawData.count) bytes")
            }
            let bytes = decoder.bytes(rawData)
            guard let base = bytes.baseAddress, count > 0 else { return (name, Tensor(shape: shape)) }
            return (name, elementType.tensor(from: base, shape: shape))
        }
        if typedCounts.isEmpty {
            guard count == 0 else { throw fail("has shape \(shape) but no data (neither raw_data nor a typed field)") }
            return (name, Tensor(shape: shape))
        }
        guard typedCounts.count == 1 else {
            throw fail("holds values in both \(typedCounts[0].0) and \(typedCounts[1].0); the file is inconsistent")
        }
        let (field, stored) = typedCounts[0]
        let expectedField: String = switch elementType {
        case .float32: "float_data"
        case .float64: "double_data"
        case .int64: "int64_data"
        default: "int32_data"  // INT32, INT16, INT8, UINT8, BOOL, FLOAT16, BFLOAT16 (as bit patterns)
        }
        guard field == expectedField else { throw fail("has data type \(typeName) but stores values in \(field)") }
        guard stored == count else { throw fail("has shape \(shape) (\(count) values) but \(field) holds \(stored) values") }

        let tensor: Tensor = switch elementType {
        case .float32: tensorFromLittleEndian(floatData, elementType, shape)
        case .float64: tensorFromLittleEndian(doubleData, elementType, shape)
        case .int64: tensorFromLittleEndian(int64Data, elementType, shape)
        case .int32: tensorFromLittleEndian(int32Data.map { Int32(truncatingIfNeeded: $0) }, elementType, shape)
        case .int16: tensorFromLittleEndian(int32Data.map { Int16(truncatingIfNeeded: $0) }, elementType, shape)
        case .int8: tensorFromLittleEndian(int32Data.map { Int8(truncatingIfNeeded: $0) }, elementType, shape)
        case .float16, .bfloat16: tensorFromLittleEndian(int32Data.map { UInt16(truncatingIfNeeded: $0) }, elementType, shape)
        case .uint8, .bool: tensorFromLittleEndian(int32Data.map { UInt8(truncatingIfNeeded: $0) }, elementType, shape)
        }
        return (name, tensor)
    }

    /// Lays integer (or bit-pattern) values out little-endian and decodes them through `ElementType`.
    private static func tensorFromLittleEndian<T: FixedWidthInteger>(_ values: [T], _ type: ElementType, _ shape: [Int]) -> Tensor {
        precondition(MemoryLayout<T>.size == type.byteCount, "storage width does not match \(type)")
        let stored = values.map { $0.littleEndian }
        return stored.withUnsafeBytes { bytes in
            guard let base = bytes.baseAddress, !stored.isEmpty else { return Tensor(shape: shape) }
            return type.tensor(from: base, shape: shape)
        }
    }

    // MARK: - Names

    /// True for names the exporter invented (`onnx::MatMul_1234`), as opposed to module paths.
    static func isAnonymous(_ name: String) -> Bool { name.hasPrefix("onnx::") }

    /// Module scope of a PyTorch-exported node name: `/encoder/layer.0/mlp/fc1/MatMul` →
    /// (`["encoder", "layer.0", "mlp", "fc1"]`, `"MatMul"`). Nil unless the name has that form.
    static func scope(ofNode name: String) -> (modules: [String], last: String)? {
        guard name.hasPrefix("/") else { return nil }
        let parts = name.dropFirst().split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard parts.count >= 2, parts.allSatisfy({ !$0.isEmpty }) else { return nil }
        return (Array(parts.dropLast()), parts.last!)
    }

    /// Applies the naming rules documented on `ONNXCheckpoint` to `tensors`.
    static func recoverModulePaths(_ tensors: inout [String: Tensor], nodes: [Node]) {
        var consumers: [String: [Int]] = [:]
        var producer: [String: Int] = [:]
        for (index, node) in nodes.enumerated() {
            for input in Set(node.inputs) where !input.isEmpty { consumers[input, default: []].append(index) }
            for output in node.outputs where !output.isEmpty { producer[output] = index }
        }

        // Rule 1: Linear weights used by MatMul.
        var renames: [String: String] = [:]  // anonymous name → module-path weight name
        for name in tensors.keys.sorted() where isAnonymous(name) {
            guard let weight = tensors[name], weight.rank == 2, let users = consumers[name], !users.isEmpty else { continue }
            var paths = Set<String>()
            var usable = true
            for index in users {
                let node = nodes[index]
                guard node.opType == "MatMul", node.inputs.count == 2, node.inputs[1] == name, node.inputs[0] != name,
                      let path = linearPath(of: node, outFeatures: weight.shape[1], tensors: tensors, nodes: nodes,
                                            consumers: consumers)
                else { usable = false; break }
                paths.insert(path)
            }
            guard usable, paths.count == 1 else { continue }
            renames[name] = paths.first! + ".weight"
        }
        var claims: [String: Int] = [:]
        for target in renames.values { claims[target, default: 0] += 1 }
        for (name, target) in renames.sorted(by: { $0.key < $1.key }) where claims[target] == 1 && tensors[target] == nil {
            tensors[target] = transposed2D(tensors.removeValue(forKey: name)!)
        }

        // Rule 2: split position embeddings.
        for node in nodes where node.opType == "Concat" && node.intAttributes["axis"] == 1 && node.inputs.count == 2 {
            guard let (modules, _) = scope(ofNode: node.name), modules.last == "embeddings" else { continue }
            let path = modules.joined(separator: ".")
            let target = path + ".position_embeddings"
            let className = node.inputs[0]
            guard tensors[target] == nil, tensors[path + ".cls_token"] != nil, isAnonymous(className),
                  let classPart = tensors[className], classPart.rank == 3, classPart.shape[0] == 1, classPart.shape[1] == 1
            else { continue }
            // Walk back from input 1 through same-scope reshaping/resampling nodes to an initializer.
            var value = node.inputs[1]
            var patchName: String?
            for _ in 0..<32 {
                if tensors[value] != nil { patchName = value; break }
                guard let index = producer[value], ["Reshape", "Transpose", "Cast", "Resize"].contains(nodes[index].opType),
                      let (inner, _) = scope(ofNode: nodes[index].name), inner == modules,
                      let data = nodes[index].inputs.first, !data.isEmpty
                else { break }
                value = data
            }
            guard let patchName, isAnonymous(patchName), patchName != className, let patchPart = tensors[patchName],
                  patchPart.rank == 3, patchPart.shape[0] == 1, patchPart.shape[2] == classPart.shape[2]
            else { continue }
            tensors[target] = concatenated(classPart, patchPart)
            tensors[className] = nil
            tensors[patchName] = nil
        }
    }

    /// Module path of the Linear layer a `MatMul` node implements (rule 1a, then 1b), or nil.
    private static func linearPath(of node: Node, outFeatures: Int, tensors: [String: Tensor], nodes: [Node],
                                   consumers: [String: [Int]]) -> String? {
        if let output = node.outputs.first, let users = consumers[output] {
            var biasPaths = Set<String>()
            for index in users where nodes[index].opType == "Add" && nodes[index].inputs.count == 2 {
                let inputs = nodes[index].inputs
                guard inputs.contains(output) else { continue }
                let other = inputs[0] == output ? inputs[1] : inputs[0]
                guard other.hasSuffix(".bias"), let bias = tensors[other], bias.shape == [outFeatures] else { continue }
                biasPaths.insert(String(other.dropLast(".bias".count)))
            }
            if biasPaths.count == 1, let path = biasPaths.first, !path.isEmpty { return path }
            if biasPaths.count > 1 { return nil }
        }
        if let (modules, last) = scope(ofNode: node.name), last == "MatMul" { return modules.joined(separator: ".") }
        return nil
    }

    /// `[rows, cols]` → `[cols, rows]`.
    static func transposed2D(_ tensor: Tensor) -> Tensor {
        let rows = tensor.shape[0], cols = tensor.shape[1]
        return tensor.withUnsafeBufferPointer { source in
            Tensor(shape: [cols, rows]) { destination in
                for r in 0..<rows {
                    for c in 0..<cols { destination[c * rows + r] = source[r * cols + c] }
                }
            }
        }
    }

    /// `[1, A, D]` and `[1, B, D]` → `[1, A + B, D]`.
    private static func concatenated(_ first: Tensor, _ second: Tensor) -> Tensor {
        let shape = [1, first.shape[1] + second.shape[1], first.shape[2]]
        return Tensor(shape: shape) { destination in
            first.withUnsafeBufferPointer { a in
                second.withUnsafeBufferPointer { b in
                    if let pa = a.baseAddress { destination.baseAddress!.update(from: pa, count: a.count) }
                    if let pb = b.baseAddress { (destination.baseAddress! + a.count).update(from: pb, count: b.count) }
                }
            }
        }
    }
}
