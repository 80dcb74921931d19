import Checkpoints
import Evaluation
import Foundation
import MedicalImaging
import TensorCore
import TestSupport
import XCTest

/// `radprobe extract` on a manifest replica with the tiny DINOv2 fixture model.
final class ExtractCommandTests: XCTestCase {
    func extract(_ folder: URL, store: URL) throws -> CommandRun {
        try radprobe(["extract", "manifest", "--root", folder.path, "--checkpoint", CLIFixture.plainPTH, "--size", "28",
                      "--layers", "2", "--chunk-size", "2", "--batch-size", "3", "--out", store.path, "--threads", "2"])
    }

    /// Each stored CLS row equals what `embed` gives for that image; the unreadable image is skipped and
    /// recorded; a second run finds every chunk done and changes no byte.
    func testStoreMatchesEmbedAndResumes() throws {
        let folder = try temporaryDirectory(), store = folder.appendingPathComponent("store")
        try CLIFixture.writeManifest(images: 5, in: folder)
        let run = try extract(folder, store: store)
        XCTAssertEqual(run.exitCode, 0, "\(run)")
        XCTAssertTrue(run.stdout.contains("skipped: broken.png:"), run.stdout)
        let opened = try FeatureStore.open(at: store)
        let (ids, cls) = try opened.read(feature: "cls")
        XCTAssertEqual(ids, (0..<5).map { "i\($0).png" })
        XCTAssertEqual(cls.shape, [5, 2, 128])
        for row in [0, 3] {
            let out = try temporaryDirectory()
            XCTAssertEqual(try embed(CLIFixture.plainPTH, .image(folder.appendingPathComponent("i\(row).png").path, size: 28), out: out,
                                     "--layers", "2").exitCode, 0)
            let expected = try output(out, "layers_cls").reshaped([2, 128])
            assertClose(cls.slice(outer: row..<row + 1).reshaped([2, 128]), expected, tolerance: 1e-5, "item \(row)")
        }
        let before = try Self.snapshot(store)
        let again = try extract(folder, store: store)
        XCTAssertEqual(again.exitCode, 0, "\(again)")
        XCTAssertTrue(again.stdout.contains("resuming"), again.stdout)
        XCTAssertEqual(try Self.snapshot(store), before)
    }

    /// With `--patch-tokens grid`, `patch_grid` holds the patch tokens of each of the last `--layers`
    /// blocks, oldest first, as `embed` gives them (`layers_patch`).
    func testPatchGridKeepsEveryKeptBlock() throws {
        let folder = try temporaryDirectory(), store = folder.appendingPathComponent("store")
        try CLIFixture.writeManifest(images: 3, in: folder)
        try radprobeSucceeds(["extract", "manifest", "--root", folder.path, "--checkpoint", CLIFixture.plainPTH, "--size", "28",
                              "--layers", "2", "--patch-tokens", "grid", "--batch-size", "2", "--out", store.path, "--threads", "2"])
        let opened = try FeatureStore.open(at: store)
        XCTAssertEqual(try PatchGridFeature(plan: opened.plan, store: store.path), PatchGridFeature(blocks: 2, tokens: 4, width: 128))
        let (ids, grids) = try opened.read(feature: "patch_grid")
        XCTAssertEqual(ids, (0..<3).map { "i\($0).png" })
        XCTAssertEqual(grids.shape, [3, 2, 4, 128])
        let out = try temporaryDirectory()
        XCTAssertEqual(try embed(CLIFixture.plainPTH, .image(folder.appendingPathComponent("i2.png").path, size: 28), out: out,
                                 "--layers", "2").exitCode, 0)
        let expected = try output(out, "layers_patch") // [L, 1, N, D]
        assertClose(grids.slice(outer: 2..<3).reshaped([2, 4, 128]), expected.reshaped([2, 4, 128]), tolerance: 1e-5, "patch grids of i2.png")
    }

    /// Every file of a folder tree (path relative to `folder`) and its bytes.
    static func snapshot(_ folder: URL) throws -> [String: Data] {
        var files: [String: Data] = [:]
        let enumerator = FileManager.default.enumerator(at: folder, includingPropertiesForKeys: [.isRegularFileKey])
        while let url = enumerator?.nextObject() as? URL {
            if (try url.resourceValues(forKeys: [.isRegularFileKey])).isRegularFile == true {
                files[String(url.path.dropFirst(folder.path.count))] = try Data(contentsOf: url)
            }
        }
        return files
    }
}

/// `radprobe extract --slice-features` on a manifest of NIfTI volumes: each slice's features as `embed`
/// gives them for the volume, the item's row their mean, and the missing volume recorded in the store.
final class ExtractSliceFeatureTests: XCTestCase {
    func testSliceRowsMatchEmbedAndAverageToTheItemRow() throws {
        let folder = try temporaryDirectory(), store = folder.appendingPathComponent("store")
        for (n, depth) in [3, 2].enumerated() {
            let voxels = (0..<(20 * 16 * depth)).map { Float(($0 * (n + 5)) % 97) }
            try NIfTIWriter.write(Volume(size: [20, 16, depth], voxels: voxels, spacing: [1, 1, 2]),
                                  to: folder.appendingPathComponent("v\(n).nii.gz"), as: .float32)
        }
        try Data("path,label,patient\nv0.nii.gz,a,P0\nv1.nii.gz,b,P1\ngone.nii.gz,a,P2\n".utf8)
            .write(to: folder.appendingPathComponent("manifest.csv"))
        let run = try radprobeSucceeds(["extract", "--dataset", "manifest", "--root", folder.path, "--modality", "mri",
                                        "--checkpoint", CLIFixture.plainPTH, "--size", "28", "--layers", "2", "--batch-size", "2",
                                        "--slice-features", "--out", store.path, "--threads", "2"])
        XCTAssertTrue(run.stdout.contains("2 items"), run.stdout)
        XCTAssertTrue(run.stdout.contains("1 entries of the dataset's layout could not be used"), run.stdout)
        let opened = try FeatureStore.open(at: store)
        XCTAssertEqual(opened.plan.layoutProblems.map(\.file), [folder.appendingPathComponent("gone.nii.gz").path])
        let (ids, counts, slices) = try opened.readSlices(feature: "cls")
        XCTAssertEqual(ids, ["v0.nii.gz", "v1.nii.gz"])
        XCTAssertEqual(counts, [3, 2])
        XCTAssertEqual(slices.shape, [5, 2, 128])
        let items = try opened.read(feature: "cls").values
        var first = 0
        for (n, count) in counts.enumerated() {
            let out = try temporaryDirectory()
            XCTAssertEqual(try embed(CLIFixture.plainPTH, .image(folder.appendingPathComponent("v\(n).nii.gz").path, size: 28), out: out,
                                     "--layers", "2", "--modality", "mri").exitCode, 0)
            let own = slices.slice(outer: first..<first + count)
            let embedded = try output(out, "layers_cls") // [L, slices, D]
            let bySlice = Tensor(shape: [count, 2, 128]) { buffer in
                for s in 0..<count { for l in 0..<2 { for c in 0..<128 { buffer[(s * 2 + l) * 128 + c] = embedded[l, s, c] } } }
            }
            assertClose(own, bySlice, tolerance: 1e-5, "slices of v\(n)")
            let mean = Tensor(shape: [1, 2, 128]) { buffer in
                own.withUnsafeBufferPointer { values in
                    for s in 0..<count { for c in 0..<256 { buffer[c] += values[s * 256 + c] / Float(count) } }
                }
            }
            assertClose(items.slice(outer: n..<n + 1), mean, tolerance: 1e-5, "mean of v\(n)")
            first += count
        }
    }
}

/// `radprobe bench extract` on a few tiny generated images: one JSON record with both rates, and the
/// kept folder holding the dataset and a finished store of every item.
final class BenchExtractCommandTests: XCTestCase {
    func testReportsBothRatesAndWritesAFinishedStore() throws {
        let kept = try temporaryDirectory().appendingPathComponent("bench")
        let run = try radprobeSucceeds(["bench", "extract", "--images", "5", "--distinct", "2", "--side", "40",
                                        "--checkpoint", CLIFixture.plainPTH, "--size", "28", "--batch-size", "2", "--chunk-size", "2",
                                        "--keep-files", kept.path, "--json", "--threads", "2"])
        let record = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(record["images"] as? Int, 5)
        XCTAssertGreaterThan(record["forward_images_per_s"] as? Double ?? 0, 0)
        XCTAssertGreaterThan(record["extract_images_per_s"] as? Double ?? 0, 0)
        XCTAssertGreaterThan(record["peak_rss_mib"] as? Double ?? 0, 0)
        let store = try FeatureStore.open(at: kept.appendingPathComponent("store"))
        XCTAssertEqual(store.manifest.rowIDs, (0..<5).map { "item_\($0).png" })
        XCTAssertEqual(try store.read(feature: "cls").values.shape, [5, 1, 128])
    }
}
