import Checkpoints
import Evaluation
import MedicalImaging
import TestSupport
import XCTest

/// The key is a pure function of its fields: the same fields give the same key, any changed field another.
final class FeatureStoreKeyTests: XCTestCase {
    static let checkpointDigest = String(repeating: "ab", count: 32)

    static func key(checkpoint: String = checkpointDigest, preprocessing: String = PreprocessingPipeline.study(size: 224, modality: .xray).description,
                    inputSize: Int = 224, lastBlocks: Int = 4, normed: Bool = true,
                    patchTokens: FeatureStoreKey.PatchTokens = .mean, formatVersion: Int = 1) throws -> FeatureStoreKey {
        try FeatureStoreKey(checkpointSHA256: checkpoint, preprocessing: preprocessing, inputSize: inputSize, lastBlocks: lastBlocks,
                            normed: normed, patchTokens: patchTokens, formatVersion: formatVersion)
    }

    func testCanonicalTextAndDigest() throws {
        let key = try Self.key()
        let text = """
            radprobe-feature-store
            format_version=1
            checkpoint_sha256=\(Self.checkpointDigest)
            preprocessing=\(PreprocessingPipeline.study(size: 224, modality: .xray).description)
            input_size=224
            blocks=last4
            blocks_normed=true
            patch_tokens=mean

            """
        XCTAssertEqual(key.canonicalText, text)
        XCTAssertEqual(key.key, SHA256.hex(Array(text.utf8)))
        XCTAssertEqual(try Self.key().key, key.key, "the same fields give the same key")
    }

    func testEveryFieldChangesTheKey() throws {
        let base = try Self.key().key
        let variants = try [
            Self.key(checkpoint: String(repeating: "ac", count: 32)),
            Self.key(preprocessing: PreprocessingPipeline.study(size: 224, modality: .ct).description),
            Self.key(inputSize: 448),
            Self.key(lastBlocks: 1),
            Self.key(normed: false),
            Self.key(patchTokens: .none),
            Self.key(patchTokens: .grid),
            Self.key(formatVersion: 2),
        ].map(\.key)
        XCTAssertEqual(Set(variants + [base]).count, variants.count + 1, "each field must change the key")
    }

    func testCheckpointFileIsHashed() throws {
        let folder = try Fixtures.temporaryDirectory(removedAfter: self)
        let checkpoint = folder.appendingPathComponent("model.safetensors")
        try Data([1, 2, 3, 4, 5]).write(to: checkpoint)
        let key = try FeatureStoreKey(checkpoint: checkpoint, preprocessing: .study(size: 224, modality: .mri), inputSize: 224,
                                      lastBlocks: 4, normed: true, patchTokens: .none)
        XCTAssertEqual(key.checkpointSHA256, SHA256.hex([1, 2, 3, 4, 5]))
        XCTAssertEqual(key.preprocessing, PreprocessingPipeline.study(size: 224, modality: .mri).description)
    }

    func testInvalidFieldsAreRefused() {
        XCTAssertThrowsError(try Self.key(checkpoint: "xyz"))
        XCTAssertThrowsError(try Self.key(checkpoint: String(repeating: "AB", count: 32)))
        XCTAssertThrowsError(try Self.key(preprocessing: "minmax\ninput_size=1"))
        XCTAssertThrowsError(try Self.key(inputSize: 0))
        XCTAssertThrowsError(try Self.key(lastBlocks: 0))
    }
}
