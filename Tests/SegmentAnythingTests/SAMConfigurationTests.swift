import Checkpoints
import SegmentAnything
import TensorCore
import TestSupport
import XCTest

/// Configuration inference from state-dict shapes and the parameter count computed from the configuration.
final class SAMConfigurationTests: XCTestCase {
    /// The keys and shapes of an encoder built from `configuration` (zero tensors).
    private func stateDict(of configuration: SAMEncoderConfiguration) throws -> StateDict {
        Binder.stateDict(of: try SAMImageEncoder(configuration: configuration), source: "synthetic")
    }

    func testTheTinyCheckpointsConfigurationIsInferred() throws {
        let metadata = try FixtureMetadata.read()
        let model = try LoadedSAMEncoder(contentsOf: Fixtures.url("sam/sam_tiny.pth")).model
        let c = model.configuration
        XCTAssertEqual(c.globalBlocks, metadata.tiny.globalAttnIndexes)
        XCTAssertEqual(c.windowSize, metadata.tiny.windowSize)
        XCTAssertEqual(c.heads, metadata.tiny.numHeads)
        XCTAssertEqual(c.imageSize, metadata.tiny.imgSize)
        XCTAssertEqual(c, SAMEncoderConfiguration(imageSize: 112, width: 32, depth: 3, heads: 2, windowSize: 3, globalBlocks: [1], neckChannels: 16))
        XCTAssertEqual(c.parameterCount, metadata.tiny.parameters)
        XCTAssertEqual(model.parameterCount, metadata.tiny.parameters)
    }

    func testPresetParameterCountsEqualSegmentAnythings() throws {
        let counts = try FixtureMetadata.read().officialEncoderParameters
        XCTAssertEqual(SAMEncoderConfiguration.vitB.parameterCount, counts["vit_b"])
        XCTAssertEqual(SAMEncoderConfiguration.vitL.parameterCount, counts["vit_l"])
        XCTAssertEqual(SAMEncoderConfiguration.vitH.parameterCount, counts["vit_h"])
        XCTAssertEqual(SAMEncoderConfiguration.vitL.parameterCount, 308_278_272)
        XCTAssertTrue(SAMEncoderConfiguration.vitL.description.hasPrefix("SAM ViT-L image encoder"), SAMEncoderConfiguration.vitL.description)
        XCTAssertTrue(SAMEncoderConfiguration.vitL.description.contains("308.3M parameters"), SAMEncoderConfiguration.vitL.description)
    }

    func testInferenceRoundTripsWindowsGlobalBlocksAndHeads() throws {
        let configurations = [
            SAMEncoderConfiguration(imageSize: 80, patchSize: 8, width: 24, depth: 4, heads: 3, windowSize: 4, globalBlocks: [0, 3], neckChannels: 8),
            SAMEncoderConfiguration(imageSize: 64, patchSize: 16, width: 16, depth: 2, heads: 1, mlpHidden: 40, windowSize: 0, globalBlocks: [], neckChannels: 4),
        ]
        for configuration in configurations {
            let dict = try stateDict(of: configuration)
            XCTAssertEqual(try SAMEncoderConfiguration(inferringFrom: dict), configuration)
            XCTAssertEqual(configuration.parameterCount, dict.parameterCount)
        }
    }

    func testRelativeTablesOfAnUnexpectedLengthAreRefused() throws {
        var dict = try stateDict(of: SAMEncoderConfiguration(imageSize: 64, width: 16, depth: 2, heads: 2, windowSize: 2, globalBlocks: [1], neckChannels: 4))
        dict["blocks.0.attn.rel_pos_h"] = Tensor(shape: [4, 8])
        XCTAssertThrowsError(try SAMEncoderConfiguration(inferringFrom: dict)) { error in
            XCTAssertTrue(String(describing: error).contains("blocks.0.attn.rel_pos_h has 4 rows"), String(describing: error))
        }
        dict["blocks.0.attn.rel_pos_h"] = Tensor(shape: [9, 8]) // longer than the 7 of the 4×4 grid
        XCTAssertThrowsError(try SAMEncoderConfiguration(inferringFrom: dict)) { error in
            XCTAssertTrue(String(describing: error).contains("would interpolate it"), String(describing: error))
        }
    }

    func testAnInconsistentConfigurationIsRefused() {
        XCTAssertThrowsError(try SAMImageEncoder(configuration: SAMEncoderConfiguration(width: 30, depth: 2, heads: 4, globalBlocks: [1]))) { error in
            XCTAssertTrue(String(describing: error).contains("not divisible by 4 heads"), String(describing: error))
        }
        XCTAssertThrowsError(try SAMImageEncoder(configuration: SAMEncoderConfiguration(width: 32, depth: 2, heads: 4, globalBlocks: [2])))
    }
}
