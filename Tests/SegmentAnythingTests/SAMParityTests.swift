import Checkpoints
import Foundation
import SegmentAnything
import TensorCore
import TensorKernels
import TestSupport
import XCTest

/// A tiny SAM image encoder with random parameters (scripts/make_sam_fixtures.py, segment-anything's own
/// `ImageEncoderViT`: 112² input, 7×7 grid padded to 9×9 for 3×3 windows, block 1 global) against its
/// PyTorch outputs, loaded from a whole-SAM `.pth` as users download it.
final class SAMParityTests: XCTestCase {
    private let context = ComputeContext(threads: 2)

    private func reference() throws -> StateDict {
        try SafetensorsFile.read(contentsOf: Fixtures.url("sam/reference.safetensors"))
    }

    private func loaded() throws -> LoadedSAMEncoder {
        try LoadedSAMEncoder(contentsOf: Fixtures.url("sam/sam_tiny.pth"))
    }

    /// Runs `model` on the fixture input and compares the neck and the outputs of blocks 0 (windowed) and 1 (global).
    private func assertMatchesReference(_ model: SAMImageEncoder, file: StaticString = #filePath, line: UInt = #line) throws {
        let reference = try reference()
        let output = try model.forward(try XCTUnwrap(reference["input"]), keepBlocks: [1, 0], context: context)
        assertClose(output.neck, try XCTUnwrap(reference["neck"]), tolerance: 1e-4, "neck", file: file, line: line)
        XCTAssertEqual(output.blocks.map(\.block), [1, 0], file: file, line: line)
        for kept in output.blocks {
            assertClose(kept.tokens, try XCTUnwrap(reference["block\(kept.block)"]), tolerance: 1e-4, "block \(kept.block)", file: file, line: line)
        }
    }

    func testWholeSAMCheckpointMatchesSegmentAnything() throws {
        let encoder = try loaded()
        XCTAssertEqual(encoder.format, .pytorch)
        try assertMatchesReference(encoder.model)
    }

    func testPromptEncoderAndMaskDecoderKeysAreDroppedAndListed() throws {
        let metadata = try FixtureMetadata.read()
        XCTAssertEqual(try loaded().droppedKeys, metadata.droppedKeys)
    }

    func testEncoderOnlyStateDictLoadsWithoutDroppingAnything() throws {
        let whole = try CheckpointFile.read(contentsOf: Fixtures.url("sam/sam_tiny.pth"))
        let prefix = LoadedSAMEncoder.encoderPrefix
        let encoderOnly = StateDict(Dictionary(uniqueKeysWithValues: whole.tensors.compactMap { key, tensor in
            key.hasPrefix(prefix) ? (String(key.dropFirst(prefix.count)), tensor) : nil
        }), source: "encoder only")
        let url = try Fixtures.temporaryDirectory(removedAfter: self).appendingPathComponent("encoder.safetensors")
        try SafetensorsFile.write(encoderOnly, to: url)
        let encoder = try LoadedSAMEncoder(contentsOf: url)
        XCTAssertEqual(encoder.format, .safetensors)
        XCTAssertEqual(encoder.droppedKeys, [])
        try assertMatchesReference(encoder.model)
    }

    func testNeckTokensAndPooledVectorFollowTheNeck() throws {
        let reference = try reference()
        let output = try loaded().model.forward(try XCTUnwrap(reference["input"]), context: .serial)
        let neck = try XCTUnwrap(reference["neck"]) // [2, 16, 7, 7]
        XCTAssertEqual(output.neckTokens.shape, [2, 49, 16])
        XCTAssertEqual(output.pooled.shape, [2, 16])
        for (item, channel, pixel) in [(0, 0, 0), (1, 15, 48), (0, 7, 23)] {
            XCTAssertEqual(output.neckTokens[item, pixel, channel], neck[item, channel, pixel / 7, pixel % 7], accuracy: 1e-4)
        }
        for (item, channel) in [(0, 0), (1, 9)] {
            let mean = (0..<49).reduce(Float(0)) { $0 + neck[item, channel, $1 / 7, $1 % 7] } / 49
            XCTAssertEqual(output.pooled[item, channel], mean, accuracy: 1e-4)
        }
    }

    func testAnImageOfAnotherSizeIsRefusedWithSAMsPreprocessing() throws {
        let model = try loaded().model
        XCTAssertThrowsError(try model.forward(Tensor(shape: [1, 3, 96, 112]), context: context)) { error in
            let message = String(describing: error)
            XCTAssertTrue(message.contains("112×112"), message)
            XCTAssertTrue(message.contains("96×112"), message)
            XCTAssertTrue(message.contains("longest side") && message.contains("pads"), message)
        }
        XCTAssertThrowsError(try model.forward(Tensor(shape: [1, 1, 112, 112]), context: context)) { error in
            XCTAssertTrue(String(describing: error).contains("[B, 3, 112, 112]"), String(describing: error))
        }
        XCTAssertThrowsError(try model.forward(Tensor(shape: [1, 3, 112, 112]), keepBlocks: [3], context: context)) { error in
            XCTAssertTrue(String(describing: error).contains("block index 3"), String(describing: error))
        }
    }

    func testACheckpointThatIsNotSAMIsRefusedNamingTheFile() throws {
        let url = try Fixtures.temporaryDirectory(removedAfter: self).appendingPathComponent("dinov2.safetensors")
        try SafetensorsFile.write(StateDict(["cls_token": Tensor(shape: [1, 1, 8]), "blocks.0.norm1.weight": Tensor(shape: [8])],
                                            source: "dinov2"), to: url)
        XCTAssertThrowsError(try LoadedSAMEncoder(contentsOf: url)) { error in
            let message = String(describing: error)
            XCTAssertTrue(message.contains(url.path), message)
            XCTAssertTrue(message.contains("not a Segment Anything checkpoint"), message)
            XCTAssertTrue(message.contains("image_encoder.pos_embed"), message)
            XCTAssertTrue(message.contains("blocks.0.norm1.weight"), message)
        }
    }
}

/// `Tests/Fixtures/sam/metadata.json`, written by scripts/make_sam_fixtures.py.
struct FixtureMetadata: Decodable {
    struct Tiny: Decodable {
        let parameters: Int
        let globalAttnIndexes: [Int]
        let windowSize: Int
        let numHeads: Int
        let imgSize: Int
    }

    let tiny: Tiny
    let droppedKeys: [String]
    let officialEncoderParameters: [String: Int]

    static func read() throws -> FixtureMetadata {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(FixtureMetadata.self, from: Data(contentsOf: Fixtures.url("sam/metadata.json")))
    }
}
