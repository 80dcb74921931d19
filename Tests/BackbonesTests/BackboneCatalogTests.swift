import Backbones
import Foundation
import ModelDownloads
import TestSupport
import XCTest

/// The preset catalog against the reference libraries' parameter counts
/// (scripts/make_backbone_catalog_fixture.py) and its published files.
final class BackboneCatalogTests: XCTestCase {
    func testEveryStudyPresetHasItsReferenceParameterCount() throws {
        let counts = try JSONDecoder().decode([String: Int].self, from: Data(contentsOf: Fixtures.url("backbones/parameter_counts.json")))
        for (name, count) in counts {
            let preset = try XCTUnwrap(BackboneCatalog.preset(named: name), name)
            XCTAssertEqual(preset.parameterCount, count, name)
        }
        let registerVariants = BackboneCatalog.presets.filter { $0.name.hasSuffix("-reg") }
        XCTAssertEqual(Set(counts.keys).union(registerVariants.map(\.name)), Set(BackboneCatalog.presets.map(\.name)))
    }

    func testNamesAndCacheFileNamesAreUniqueAndLookupIgnoresCase() {
        let presets = BackboneCatalog.presets
        XCTAssertEqual(Set(presets.map(\.name)).count, presets.count)
        XCTAssertEqual(Set(presets.map(\.file.fileName)).count, presets.count)
        XCTAssertEqual(BackboneCatalog.preset(named: "SAM-ViT-L")?.name, "sam-vit-l")
        XCTAssertNil(BackboneCatalog.preset(named: "vit-l14"))
    }

    /// Pinned files give a download verified by their pin; Hugging Face files need the user's digest.
    func testPinnedFilesGiveDownloadsAndUnpinnedOnesNeedADigest() throws {
        for preset in BackboneCatalog.presets {
            let given = String(repeating: "ab", count: 32)
            XCTAssertEqual(try preset.file.source(sha256: given).sha256.hexDigits, given, preset.name)
            guard preset.file.pin != nil else {
                XCTAssertTrue(preset.file.url.host == "huggingface.co", preset.name)
                XCTAssertThrowsError(try preset.file.source(), preset.name) { error in
                    XCTAssertTrue("\(error)".contains("--sha256"), "\(error)")
                }
                continue
            }
            let source = try preset.file.source()
            XCTAssertEqual(source.url, preset.file.url, preset.name)
            XCTAssertTrue(source.sha256.isSatisfied(byDigest: source.sha256.hexDigits + String(repeating: "0", count: 64 - source.sha256.hexDigits.count)))
        }
        let densenet = try XCTUnwrap(BackboneCatalog.preset(named: "densenet201"))
        XCTAssertEqual(try densenet.file.source().sha256.kind, .prefix)
        XCTAssertThrowsError(try densenet.file.source(sha256: "c1103571"))
    }
}
