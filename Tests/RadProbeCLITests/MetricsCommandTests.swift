import Checkpoints
import Foundation
import MedicalImaging
import TensorCore
import XCTest

/// `radprobe metrics seg` on NIfTI and `.npy` label maps written here, and its refusals of bad input.
final class MetricsCommandTests: XCTestCase {
    /// A label volume of `size` (i, j, k) with `labels` at the given voxels, written with `writeLabelMap`.
    private func writeNIfTI(_ name: String, size: [Int] = [4, 5, 3], spacing: [Double] = [0.8, 1.2, 2.5],
                            affine: MedicalImaging.AffineTransform? = nil, labels: [([Int], Float)], in folder: URL) throws -> String {
        var voxels = [Float](repeating: 0, count: size.reduce(1, *))
        for (voxel, label) in labels { voxels[(voxel[2] * size[1] + voxel[1]) * size[0] + voxel[0]] = label }
        let url = folder.appendingPathComponent(name)
        try NIfTIWriter.writeLabelMap(Volume(size: size, voxels: voxels, spacing: spacing, affine: affine), to: url)
        return url.path
    }

    /// A float32 `.npy` array of `shape` with `values` at the given flat indices.
    private func writeNumPy(_ name: String, shape: [Int], values: [Int: Float], in folder: URL) throws -> String {
        var scalars = [Float](repeating: 0, count: shape.reduce(1, *))
        for (index, value) in values { scalars[index] = value }
        let url = folder.appendingPathComponent(name)
        try NumPyArray.write(Tensor(shape: shape, values: scalars), to: url)
        return url.path
    }

    /// The cube of voxels `origin…origin + 1` along i, j, k.
    private func cube(at origin: [Int], label: Float) -> [([Int], Float)] {
        [0, 1].flatMap { k in [0, 1].flatMap { j in [0, 1].map { i in ([origin[0] + i, origin[1] + j, origin[2] + k], label) } } }
    }

    private func parse(_ run: CommandRun) throws -> [String: Any] {
        try XCTUnwrap(JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any], run.description)
    }

    private func perClass(_ json: [String: Any], _ label: Int) throws -> [String: Any] {
        try XCTUnwrap((json["per_class"] as? [String: Any])?[String(label)] as? [String: Any], "class \(label) in \(json)")
    }

    func testNIfTIMapsGivePerClassScoresWithTheHeaderSpacing() throws {
        let folder = try temporaryDirectory()
        // Class 1: one voxel each, at (0, 0, 0) and (2, 3, 1): Dice 0, HD95 = |(2·0.8, 3·1.2, 1·2.5)| mm.
        // Class 2: the same cube in both maps. Class 3: in neither (K = 4 asked for).
        let truth = try writeNIfTI("truth.nii.gz", labels: [([2, 3, 1], 1)] + cube(at: [1, 0, 1], label: 2), in: folder)
        let prediction = try writeNIfTI("pred.nii.gz", labels: [([0, 0, 0], 1)] + cube(at: [1, 0, 1], label: 2), in: folder)
        let run = try radprobeSucceeds(["metrics", "seg", "--pred", prediction, "--truth", truth, "--classes", "4"])
        let json = try parse(run)
        let (x, y, z) = (Double(Float(0.8)), Double(Float(1.2)), 2.5)  // the header stores pixdim as float32
        let distance = ((2 * x) * (2 * x) + (3 * y) * (3 * y) + z * z).squareRoot()
        let one = try perClass(json, 1), two = try perClass(json, 2), three = try perClass(json, 3)
        XCTAssertEqual(one["dice"] as? Double, 0)
        XCTAssertEqual(one["jaccard"] as? Double, 0)
        XCTAssertEqual(try XCTUnwrap(one["hd95_mm"] as? Double), distance, accuracy: 1e-12)
        XCTAssertEqual(two["dice"] as? Double, 1)
        XCTAssertEqual(two["jaccard"] as? Double, 1)
        XCTAssertEqual(two["hd95_mm"] as? Double, 0)
        for key in ["dice", "jaccard", "hd95_mm"] { XCTAssertTrue(three[key] is NSNull, "class 3 \(key) should be null: \(three)") }
        XCTAssertEqual(json["mean_dice"] as? Double, 0.5, "classes 1 and 2; class 3 is undefined")
        XCTAssertEqual(json["mean_jaccard"] as? Double, 0.5)
        XCTAssertTrue(run.stderr.contains("class 3 is absent from both prediction and truth"), run.stderr)
        // Keys sorted at every level.
        let keys = ["\"dice\"", "\"hd95_mm\"", "\"jaccard\""].map { run.stdout.range(of: $0)!.lowerBound }
        XCTAssertEqual(keys, keys.sorted(), run.stdout)
        XCTAssertLessThan(run.stdout.range(of: "\"mean_dice\"")!.lowerBound, run.stdout.range(of: "\"per_class\"")!.lowerBound)
    }

    func testSpacingOptionOverridesTheHeaderAlongIJK() throws {
        let folder = try temporaryDirectory()
        let truth = try writeNIfTI("truth.nii.gz", labels: [([2, 3, 1], 1)], in: folder)
        let prediction = try writeNIfTI("pred.nii.gz", labels: [([0, 0, 0], 1)], in: folder)
        let json = try parse(try radprobeSucceeds(["metrics", "seg", "--pred", prediction, "--truth", truth, "--spacing", "1,2,3"]))
        XCTAssertEqual(try XCTUnwrap(try perClass(json, 1)["hd95_mm"] as? Double), (4.0 + 36 + 9).squareRoot(), accuracy: 1e-12)
    }

    func testOneSliceNIfTIIsScoredAsA2DImage() throws {
        let folder = try temporaryDirectory()
        let truth = try writeNIfTI("truth.nii", size: [6, 4, 1], labels: [([5, 3, 0], 1)], in: folder)
        let prediction = try writeNIfTI("pred.nii", size: [6, 4, 1], labels: [([1, 0, 0], 1)], in: folder)
        let json = try parse(try radprobeSucceeds(["metrics", "seg", "--pred", prediction, "--truth", truth, "--spacing", "0.5,2"]))
        XCTAssertEqual(try XCTUnwrap(try perClass(json, 1)["hd95_mm"] as? Double), (4.0 + 36).squareRoot(), accuracy: 1e-12)
    }

    func testNumPyMapsUseUnitSpacingUnlessGiven() throws {
        let folder = try temporaryDirectory()
        // 5 × 6 arrays: class 1 at (0, 0) vs (3, 4); class 2 the same pixel in both.
        let truth = try writeNumPy("truth.npy", shape: [5, 6], values: [3 * 6 + 4: 1, 7: 2], in: folder)
        let prediction = try writeNumPy("pred.npy", shape: [5, 6], values: [0: 1, 7: 2], in: folder)
        let unit = try parse(try radprobeSucceeds(["metrics", "seg", "--pred", prediction, "--truth", truth]))
        XCTAssertEqual(try perClass(unit, 1)["hd95_mm"] as? Double, 5)
        XCTAssertEqual(try perClass(unit, 2)["dice"] as? Double, 1)
        XCTAssertEqual((unit["per_class"] as? [String: Any])?.count, 2, "K defaults to the largest label + 1")
        let scaled = try parse(try radprobeSucceeds(["metrics", "seg", "--pred", prediction, "--truth", truth, "--spacing", "2,0.5"]))
        XCTAssertEqual(try XCTUnwrap(try perClass(scaled, 1)["hd95_mm"] as? Double), (36.0 + 4).squareRoot(), accuracy: 1e-12)
    }

    func testMissingAndUnreadableFilesAreNamed() throws {
        let folder = try temporaryDirectory()
        let truth = try writeNumPy("truth.npy", shape: [2, 2], values: [0: 1], in: folder)
        let missing = folder.appendingPathComponent("absent.nii.gz").path
        assertFails(try radprobe(["metrics", "seg", "--pred", missing, "--truth", truth]), mentioning: [missing, "no such file"])
        let missingArray = folder.appendingPathComponent("absent.npy").path
        assertFails(try radprobe(["metrics", "seg", "--pred", missingArray, "--truth", truth]), mentioning: [missingArray, "cannot be read"])
        let text = folder.appendingPathComponent("notes.nii")
        try Data("not an image".utf8).write(to: text)
        assertFails(try radprobe(["metrics", "seg", "--pred", text.path, "--truth", truth]), mentioning: [text.path])
        let png = folder.appendingPathComponent("mask.png")
        try PNGWriter.write(Image2D(width: 2, height: 2, channels: 1, pixels: [0, 1, 0, 0]), to: png)
        assertFails(try radprobe(["metrics", "seg", "--pred", png.path, "--truth", truth]), mentioning: [png.path, "is a PNG file"])
    }

    func testNonIntegerLabelsAreNamedWithTheirVoxel() throws {
        let folder = try temporaryDirectory()
        let truth = try writeNumPy("truth.npy", shape: [2, 3], values: [0: 1], in: folder)
        let fractional = try writeNumPy("pred.npy", shape: [2, 3], values: [5: 1.5], in: folder)
        assertFails(try radprobe(["metrics", "seg", "--pred", fractional, "--truth", truth]),
                    mentioning: [fractional, "holds 1.5 at voxel (1, 2)", "not a whole-number label"])
        var voxels = [Float](repeating: 0, count: 4 * 5 * 3)
        voxels[(2 * 5 + 1) * 4 + 3] = 0.25  // (i, j, k) = (3, 1, 2)
        let niftiURL = folder.appendingPathComponent("soft.nii.gz")
        try NIfTIWriter.write(Volume(size: [4, 5, 3], voxels: voxels), to: niftiURL)
        let niftiTruth = try writeNIfTI("truth.nii.gz", spacing: [1, 1, 1], labels: [], in: folder)
        assertFails(try radprobe(["metrics", "seg", "--pred", niftiURL.path, "--truth", niftiTruth]),
                    mentioning: [niftiURL.path, "holds 0.25 at voxel (3, 1, 2)"])
        let negative = try writeNumPy("negative.npy", shape: [2, 3], values: [1: -2], in: folder)
        assertFails(try radprobe(["metrics", "seg", "--pred", negative, "--truth", truth]), mentioning: [negative, "label -2", "0...65535"])
    }

    func testMismatchedMapsAreRefused() throws {
        let folder = try temporaryDirectory()
        let truth = try writeNIfTI("truth.nii.gz", labels: [([0, 0, 0], 1)], in: folder)
        let larger = try writeNIfTI("larger.nii.gz", size: [4, 5, 4], labels: [([0, 0, 0], 1)], in: folder)
        assertFails(try radprobe(["metrics", "seg", "--pred", larger, "--truth", truth]),
                    mentioning: [larger, truth, "4 × 5 × 4 (i × j × k)", "4 × 5 × 3 (i × j × k)", "same shape"])
        let moved = MedicalImaging.AffineTransform(rowMajor: [0.8, 0, 0, 5, 0, 1.2, 0, 0, 0, 0, 2.5, 0, 0, 0, 0, 1])
        let shifted = try writeNIfTI("shifted.nii.gz", affine: moved, labels: [([0, 0, 0], 1)], in: folder)
        assertFails(try radprobe(["metrics", "seg", "--pred", shifted, "--truth", truth]), mentioning: [shifted, truth, "affines that differ by up to 5"])
        let array = try writeNumPy("pred.npy", shape: [3, 5, 4], values: [:], in: folder)
        assertFails(try radprobe(["metrics", "seg", "--pred", array, "--truth", truth]), mentioning: [array, truth, "must both be NIfTI or both .npy"])
        let flat = try writeNumPy("flat.npy", shape: [6], values: [:], in: folder)
        assertFails(try radprobe(["metrics", "seg", "--pred", flat, "--truth", array]), mentioning: [flat, "shape [6]", "2D or 3D"])
    }

    func testBadOptionsAreRefused() throws {
        let folder = try temporaryDirectory()
        let truth = try writeNumPy("truth.npy", shape: [2, 2], values: [0: 3], in: folder)
        assertFails(try radprobe(["metrics", "seg", "--pred", truth, "--truth", truth, "--classes", "3"]),
                    mentioning: ["holds label 3, but there are only 3 classes"])
        assertFails(try radprobe(["metrics", "seg", "--pred", truth, "--truth", truth, "--classes", "0"]), mentioning: ["--classes must be at least 1"])
        assertFails(try radprobe(["metrics", "seg", "--pred", truth, "--truth", truth, "--spacing", "1,x"]), mentioning: ["--spacing takes"])
        assertFails(try radprobe(["metrics", "seg", "--pred", truth, "--truth", truth, "--spacing", "1,1,1"]),
                    mentioning: ["--spacing gives 3 sizes", "2 axes"])
    }
}
