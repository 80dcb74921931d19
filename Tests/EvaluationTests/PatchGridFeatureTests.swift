import Datasets
import Evaluation
import XCTest

/// `PatchGridFeature`: the blocks, tokens and width of a store's `patch_grid`, older `[N, D]` stores read as one block.
final class PatchGridFeatureTests: XCTestCase {
    func plan(_ features: [FeatureSpec]) throws -> FeatureStorePlan {
        try FeatureStorePlan(key: FeatureStoreKeyTests.key(patchTokens: .grid), dataset: "synthetic", labelSpace: .segmentation(classes: ["background", "organ"]),
                             items: [FeatureStoreItem(id: "a", patient: "p", labels: [], officialPart: nil)],
                             features: features, chunkSize: 1, radProbeVersion: "0.1.0")
    }

    func testLayoutsOfPatchGrids() throws {
        let cls = FeatureSpec(name: "cls", itemShape: [3, 8])
        let current = PatchGridFeature(blocks: 3, tokens: 16, width: 8)
        XCTAssertEqual(current.spec, FeatureSpec(name: "patch_grid", itemShape: [3, 16, 8]))
        XCTAssertEqual(try PatchGridFeature(plan: try plan([cls, current.spec]), store: "s"), current)
        XCTAssertEqual(try PatchGridFeature(plan: try plan([cls, FeatureSpec(name: "patch_grid", itemShape: [16, 8])]), store: "s"),
                       PatchGridFeature(blocks: 1, tokens: 16, width: 8))
        XCTAssertNil(try PatchGridFeature(plan: try plan([cls]), store: "s"))
        XCTAssertThrowsError(try PatchGridFeature(plan: try plan([FeatureSpec(name: "patch_grid", itemShape: [2, 3, 16, 8])]), store: "s")) { error in
            XCTAssertTrue("\(error)".contains("patch_grid of item shape [2, 3, 16, 8]; expected [N, D] or [L, N, D]"), "\(error)")
        }
    }
}
