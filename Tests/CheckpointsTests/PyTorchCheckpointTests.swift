@testable import Checkpoints
import Foundation
import TensorCore
import TestSupport
import XCTest

/// `PyTorchCheckpoint` against the fixtures of `scripts/make_pytorch_fixtures.py` (Tests/Fixtures/pytorch)
/// and the DINOv2 checkpoints of `scripts/make_dinov2_fixtures.py` (Tests/Fixtures/dinov2).
final class PyTorchCheckpointTests: XCTestCase {
    // MARK: Fixtures

    private static func fixture(_ relative: String) -> URL { Fixtures.url(relative) }

    private struct Expected: Decodable {
        struct TensorInfo: Decodable {
            let dtype: String
            let shape: [Int]
            let stride: [Int]
            let storage_offset: Int
            let bits: [UInt32]
        }
        struct FileInfo: Decodable {
            let format: String
            let tensors: [String: TensorInfo]
        }
        let files: [String: FileInfo]
        let damaged: [String: String]
        let forbidden_global_sentinel: String
    }

    private static let expected: Expected = {
        let url = fixture("pytorch/expected.json")
        do {
            return try JSONDecoder().decode(Expected.self, from: Data(contentsOf: url))
        } catch {
            fatalError("cannot read \(url.path): \(error)")
        }
    }()

    private func temporaryDirectory() throws -> URL { try Fixtures.temporaryDirectory(removedAfter: self) }

    /// Reads `url`, which must fail with a `CheckpointError` naming it; returns the problem.
    @discardableResult
    private func assertRefused(_ url: URL, file: StaticString = #filePath, line: UInt = #line) -> String {
        do {
            let dict = try PyTorchCheckpoint.read(contentsOf: url)
            XCTFail("read \(url.lastPathComponent) without error: \(dict.sortedKeys)", file: file, line: line)
            return ""
        } catch let error as CheckpointError {
            XCTAssertEqual(error.file, url.path, "the error must name the file", file: file, line: line)
            XCTAssertFalse(error.problem.isEmpty, file: file, line: line)
            return error.problem
        } catch {
            XCTFail("expected a CheckpointError, got \(error)", file: file, line: line)
            return ""
        }
    }

    /// Every expected tensor is present with its shape and bit-exact values, and nothing else is.
    private func assertMatchesExpected(_ name: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let url = Self.fixture("pytorch/\(name)")
        let dict = try PyTorchCheckpoint.read(contentsOf: url)
        let expected = try XCTUnwrap(Self.expected.files[name], file: file, line: line)
        XCTAssertEqual(dict.source, url.path, file: file, line: line)
        XCTAssertEqual(Set(dict.tensors.keys), Set(expected.tensors.keys), file: file, line: line)
        for (key, info) in expected.tensors {
            guard let tensor = dict[key] else { continue }
            XCTAssertEqual(tensor.shape, info.shape, "\(name) \(key) shape", file: file, line: line)
            let bits = tensor.scalars.map(\.bitPattern)
            XCTAssertEqual(bits, info.bits, "\(name) \(key) (\(info.dtype), stride \(info.stride), offset "
                + "\(info.storage_offset)) values", file: file, line: line)
        }
    }

    // MARK: Formats

    func testZipWithOddRootNameMatchesEveryValue() throws {
        let info = try XCTUnwrap(Self.expected.files["weird_root.pth"])
        // The fixture covers what it claims to.
        let dtypes = Set(info.tensors.values.map(\.dtype))
        XCTAssertTrue(dtypes.isSuperset(of: ["float32", "float16", "bfloat16", "float64", "int64"]))
        XCTAssertEqual(info.tensors["transposed"]?.stride, [1, 4])
        XCTAssertEqual(info.tensors["shared_view"]?.storage_offset, 3)
        try assertMatchesExpected("weird_root.pth")
    }

    func testLegacyFormatMatchesEveryValue() throws {
        try assertMatchesExpected("legacy.pth")
    }

    func testZip64RecordsAndArchiveRoot() throws {
        try assertMatchesExpected("zip64_archive_root.pth")
    }

    func testBigEndianStoragesFlaggedByByteorderEntry() throws {
        try assertMatchesExpected("big_endian.pth")
    }

    func testNestedDictsFlattenWithDottedKeysAndNonTensorsAreIgnored() throws {
        try assertMatchesExpected("nested.pth")
        let dict = try PyTorchCheckpoint.read(contentsOf: Self.fixture("pytorch/nested.pth"))
        XCTAssertEqual(dict.sortedKeys, [
            "model.module.head.weight", "student.backbone.cls_token",
            "teacher.backbone.blocks.0.norm1.weight", "teacher.backbone.cls_token",
        ])
        XCTAssertEqual(dict["teacher.backbone.cls_token"]?.shape, [1, 1, 4])
    }

    func testTransposedAndSharedStorageTensors() throws {
        let dict = try PyTorchCheckpoint.read(contentsOf: Self.fixture("pytorch/weird_root.pth"))
        let base = try XCTUnwrap(dict["shared_base"]).scalars
        XCTAssertEqual(try XCTUnwrap(dict["shared_view"]).scalars, Array(base[3..<9]))
        let transposed = try XCTUnwrap(dict["transposed"])
        XCTAssertEqual(transposed.shape, [4, 3])
        let expanded = try XCTUnwrap(dict["expanded"])
        XCTAssertEqual(expanded.shape, [3, 4])
        for row in 0..<3 { for column in 1..<4 { XCTAssertEqual(expanded[row, column], expanded[row, 0]) } }
        XCTAssertEqual(try XCTUnwrap(dict["scalar"]).shape, [])
        XCTAssertEqual(try XCTUnwrap(dict["scalar"]).scalars, [3.25])
        XCTAssertEqual(try XCTUnwrap(dict["empty"]).shape, [0, 3])
        XCTAssertEqual(try XCTUnwrap(dict["i64"]).scalars, [0, -1, 16_777_216, 1_099_511_627_776, -0x1p62])
    }

    // MARK: Refusals

    func testForbiddenGlobalIsRefusedWithoutSideEffect() throws {
        let sentinel = Self.expected.forbidden_global_sentinel
        try? FileManager.default.removeItem(atPath: sentinel)
        let url = Self.fixture("pytorch/forbidden_global.pth")
        let problem = assertRefused(url)
        XCTAssertEqual(problem, "pickle asks for the global os.system, which a state dict never needs; refusing to load "
            + "it (RadProbe never executes code from a checkpoint)")
        XCTAssertFalse(FileManager.default.fileExists(atPath: sentinel), "the checkpoint's command ran")
    }

    func testOtherDangerousGlobalsAreRefused() throws {
        func refusal(_ pickle: [UInt8]) -> String? {
            pickle.withUnsafeBytes { bytes in
                var unpickler = SafeUnpickler(file: "test.pkl", context: "data.pkl", bytes: bytes)
                do { _ = try unpickler.load(); return nil } catch let error as CheckpointError {
                    XCTAssertEqual(error.file, "test.pkl")
                    return error.problem
                } catch { return "\(error)" }
            }
        }
        func text(_ s: String) -> [UInt8] { Array(s.utf8) }
        // Protocol 2 GLOBAL
        for (module, name) in [("posix", "system"), ("builtins", "eval"), ("__builtin__", "getattr"),
                               ("torch", "load"), ("collections", "defaultdict"), ("torch._utils", "_rebuild_qtensor")] {
            let pickle = [0x80, 0x02] + text("c\(module)\n\(name)\n") + text("X") + [1, 0, 0, 0] + text("x") + [0x85, 0x52, 0x2E]
            XCTAssertEqual(refusal(pickle), "pickle asks for the global \(module).\(name), which a state dict never "
                + "needs; refusing to load it (RadProbe never executes code from a checkpoint)")
        }
        // Protocol 4 STACK_GLOBAL inside a FRAME, memoized
        let eval: [UInt8] = [0x80, 0x04, 0x95, 30, 0, 0, 0, 0, 0, 0, 0, 0x8C, 8] + text("builtins") + [0x94, 0x8C, 4]
            + text("eval") + [0x94, 0x93, 0x94, 0x8C, 1] + text("1") + [0x85, 0x52, 0x2E]
        let evalProblem = refusal(eval) ?? ""
        XCTAssertTrue(evalProblem.hasPrefix("pickle asks for the global builtins.eval,"), evalProblem)
        // INST names a global too
        XCTAssertEqual(refusal([0x28] + text("ios\nsystem\n") + [0x2E])?.contains("os.system"), true)
        // Unknown opcode: names the byte and the offset
        let unknown = refusal([0x80, 0x02, 0x4E, 0xFF, 0x2E]) ?? ""
        XCTAssertTrue(unknown.contains("0xff") && unknown.contains("byte 3"), unknown)
        // Truncated pickle, stack underflow, bad memo
        XCTAssertTrue(refusal([0x80, 0x02, 0x58, 9, 0, 0, 0, 0x41])?.contains("cut short") ?? false)
        XCTAssertTrue(refusal([0x80, 0x02, 0x2E])?.contains("empty stack") ?? false)
        XCTAssertTrue(refusal([0x80, 0x02, 0x68, 7, 0x2E])?.contains("memo 7") ?? false)
        XCTAssertTrue(refusal([0x80, 0x02])?.contains("cut short") ?? false)
        // A storage type is a name, not something to call
        XCTAssertTrue(refusal([0x80, 0x02] + text("ctorch\nFloatStorage\n") + [0x29, 0x52, 0x2E])?.contains("never does") ?? false)
    }

    func testAllowListedPickleBuildsAnOrderedDict() throws {
        // OrderedDict() with SETITEMS and a BUILD of its _metadata; ints, floats, big ints.
        func text(_ s: String) -> [UInt8] { Array(s.utf8) }
        let pickle: [UInt8] = [0x80, 0x02] + text("ccollections\nOrderedDict\n") + [0x71, 0x00, 0x29, 0x52, 0x71, 0x01, 0x28]
            + [0x58, 1, 0, 0, 0] + text("a") + [0x4A, 0xFE, 0xFF, 0xFF, 0xFF]
            + [0x58, 1, 0, 0, 0] + text("b") + [0x47, 0x3F, 0xF8, 0, 0, 0, 0, 0, 0]
            + [0x58, 1, 0, 0, 0] + text("c") + [0x8A, 0x09, 1, 0, 0, 0, 0, 0, 0, 0, 1]
            + [0x58, 1, 0, 0, 0] + text("d") + [0x8A, 0x02, 0xFF, 0xFF]
            + [0x75, 0x7D, 0x62, 0x2E]
        let value = try pickle.withUnsafeBytes { bytes in
            var unpickler = SafeUnpickler(file: "test.pkl", context: "data.pkl", bytes: bytes)
            return try unpickler.load()
        }
        guard case .dict(let dict) = value else { return XCTFail("not a dict: \(value.kind)") }
        XCTAssertEqual(dict.entries.count, 4)
        if case .int(let a) = dict.entries[0].value { XCTAssertEqual(a, -2) } else { XCTFail("a") }
        if case .float(let b) = dict.entries[1].value { XCTAssertEqual(b, 1.5) } else { XCTFail("b") }
        if case .bigInt(let c) = dict.entries[2].value { XCTAssertEqual(c.count, 9) } else { XCTFail("c") }
        if case .int(let d) = dict.entries[3].value { XCTAssertEqual(d, -1) } else { XCTFail("d") }
    }

    /// Reads in-memory bytes (no file I/O, so every length can be tried); nil when they were accepted.
    private func problem(reading bytes: Data, as name: String) -> String? {
        bytes.withUnsafeBytes { buffer in
            do { _ = try PyTorchCheckpoint.read(bytes: buffer, file: name); return nil } catch let error as CheckpointError {
                XCTAssertEqual(error.file, name)
                return error.problem
            } catch {
                XCTFail("expected a CheckpointError, got \(error)")
                return "\(error)"
            }
        }
    }

    func testTruncatedCheckpointsAreRefusedAtEveryLength() throws {
        for name in ["weird_root.pth", "legacy.pth", "zip64_archive_root.pth", "nested.pth", "big_endian.pth"] {
            let whole = try Data(contentsOf: Self.fixture("pytorch/\(name)"))
            XCTAssertNil(problem(reading: whole, as: name))
            for length in 0..<whole.count where problem(reading: whole.prefix(length), as: name) == nil {
                XCTFail("\(name) cut to \(length) of \(whole.count) bytes was accepted")
                break
            }
        }
        // Through a file, and the messages say what happened.
        let directory = try temporaryDirectory()
        let whole = try Data(contentsOf: Self.fixture("pytorch/weird_root.pth"))
        let url = directory.appendingPathComponent("half.pth")
        try whole.prefix(whole.count / 2).write(to: url)
        XCTAssertTrue(assertRefused(url).contains("truncated"))
        let legacy = try Data(contentsOf: Self.fixture("pytorch/legacy.pth"))
        try legacy.prefix(legacy.count - 3).write(to: url)
        let problem = assertRefused(url)
        XCTAssertTrue(problem.contains("legacy storage") && problem.contains("truncated"), problem)
    }

    func testCorruptedBytesNeverCrash() throws {
        // Deterministic single-byte corruptions: each read either succeeds or throws a CheckpointError.
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next() -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int(truncatingIfNeeded: state >> 33)
        }
        for name in ["weird_root.pth", "legacy.pth", "nested.pth", "zip64_archive_root.pth"] {
            let whole = try Data(contentsOf: Self.fixture("pytorch/\(name)"))
            for _ in 0..<1000 {
                var copy = whole
                for _ in 0..<(1 + next() % 3) { copy[next() % copy.count] = UInt8(truncatingIfNeeded: next()) }
                _ = problem(reading: copy, as: name)
            }
        }
    }

    func testTextFileHasWrongMagic() throws {
        let directory = try temporaryDirectory()
        let text = directory.appendingPathComponent("notes.pth")
        try Data("these are not weights\n".utf8).write(to: text)
        XCTAssertTrue(assertRefused(text).contains("not a PyTorch checkpoint"))
        let empty = directory.appendingPathComponent("empty.pth")
        try Data().write(to: empty)
        XCTAssertTrue(assertRefused(empty).contains("empty"))
        // A pickle that is not torch.save's: pickle.dumps(5, protocol=2)
        let pickle = directory.appendingPathComponent("five.pth")
        try Data([0x80, 0x02, 0x4B, 0x05, 0x2E]).write(to: pickle)
        XCTAssertTrue(assertRefused(pickle).contains("magic number"))
        XCTAssertTrue(assertRefused(directory.appendingPathComponent("absent.pth")).contains("cannot read"))
    }

    func testMissingStorageEntryIsRefused() throws {
        let problem = assertRefused(Self.fixture("pytorch/missing_storage.pth"))
        let entry = try XCTUnwrap(Self.expected.damaged["missing_storage.pth"])
        XCTAssertTrue(problem.contains(entry) && problem.contains("missing"), problem)
    }

    func testStorageShorterThanTheTensorIsRefused() throws {
        let problem = assertRefused(Self.fixture("pytorch/short_storage.pth"))
        let entry = try XCTUnwrap(Self.expected.damaged["short_storage.pth"])
        XCTAssertTrue(problem.contains(entry) && problem.contains("'f32'") && problem.contains("10 bytes"), problem)
    }

    func testCompressedEntriesAreRefused() throws {
        let problem = assertRefused(Self.fixture("pytorch/compressed.pth"))
        XCTAssertTrue(problem.contains("compressed (deflate)"), problem)
    }

    // MARK: DINOv2 fixtures

    func testDINOv2Checkpoints() throws {
        let plainURL = Self.fixture("dinov2/plain/model.pth")
        try XCTSkipUnless(FileManager.default.fileExists(atPath: plainURL.path), "DINOv2 fixtures not generated")
        let plain = try PyTorchCheckpoint.read(contentsOf: plainURL)
        XCTAssertEqual(plain.tensors.count, 49)
        XCTAssertEqual(plain.parameterCount, 674_816)
        XCTAssertEqual(plain["cls_token"]?.shape, [1, 1, 128])
        XCTAssertEqual(plain["pos_embed"]?.shape, [1, 26, 128])
        XCTAssertEqual(plain["patch_embed.proj.weight"]?.shape, [128, 3, 14, 14])
        XCTAssertEqual(plain["blocks.2.mlp.fc1.weight"]?.shape, [512, 128])

        let legacyURL = Self.fixture("dinov2/plain/model_legacy.pth")
        if FileManager.default.fileExists(atPath: legacyURL.path) {
            let legacy = try PyTorchCheckpoint.read(contentsOf: legacyURL)
            XCTAssertEqual(legacy.sortedKeys, plain.sortedKeys)
            for key in plain.sortedKeys { XCTAssertTrue(legacy[key]?.scalars == plain[key]?.scalars, key) }
        }

        // The chunked layout's block names are the key adapter's business; here only what the reader owns.
        let chunkedURL = Self.fixture("dinov2/plain/model_teacher_chunked.pth")
        if FileManager.default.fileExists(atPath: chunkedURL.path) {
            let chunked = try PyTorchCheckpoint.read(contentsOf: chunkedURL)
            XCTAssertEqual(chunked.tensors.count, 49)
            XCTAssertEqual(chunked.parameterCount, plain.parameterCount)
            XCTAssertTrue(chunked.sortedKeys.allSatisfy { $0.hasPrefix("teacher.backbone.") })
            XCTAssertEqual(chunked["teacher.backbone.cls_token"]?.shape, [1, 1, 128])
            XCTAssertTrue(chunked["teacher.backbone.cls_token"]?.scalars == plain["cls_token"]?.scalars)
            let qkv = chunked.sortedKeys.filter { $0.hasSuffix(".attn.qkv.weight") }
            XCTAssertEqual(qkv.count, 3)
            XCTAssertTrue(qkv.allSatisfy { chunked[$0]?.shape == [384, 128] })
        }
    }
}
