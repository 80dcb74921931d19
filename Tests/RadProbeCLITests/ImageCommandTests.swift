import Foundation
import MedicalImaging
import TestSupport
import XCTest

/// `radprobe image info|preview`, `embed --image` on every format, and `bench decode` on given files.
final class ImageCommandTests: XCTestCase {
    static let series = CLIFixture.path("imaging/dicom/series")

    func testInfoReportsGeometryAndValuesOfADICOMSeries() throws {
        let run = try radprobeSucceeds(["image", "info", Self.series])
        let volume = try DICOMSeries.read(folder: URL(fileURLWithPath: Self.series))
        let lo = volume.voxels.min()!, hi = volume.voxels.max()!
        for text in ["DICOM series", "modality         CT", "\(volume.size[0]) × \(volume.size[1]) × \(volume.size[2]) voxels",
                     "1.1 × 0.9 × 2.5 mm", "orientation      \(volume.orientation)", "stored type      int16",
                     "\(Int(lo)) … \(Int(hi))", "files            5"] {
            XCTAssertTrue(run.stdout.contains(text), "info does not say \"\(text)\":\n\(run.stdout)")
        }
    }

    func testInfoOfANIfTIFileNamesVersionAndTransforms() throws {
        let run = try radprobeSucceeds(["image", "info", CLIFixture.path("imaging/nifti/qform_only.nii")])
        for text in ["format           NIfTI", "NIfTI            version 1", "qform", "sform            unknown"] {
            XCTAssertTrue(run.stdout.contains(text), "info does not say \"\(text)\":\n\(run.stdout)")
        }
    }

    /// `--window LEVEL,WIDTH` clips to [L − W/2, L + W/2], then min–max scales to 0…255.
    func testPreviewAppliesTheWindowThenScales() throws {
        let source = CLIFixture.path("imaging/png/grey8.png")
        let out = try temporaryDirectory().appendingPathComponent("preview.png")
        let run = try radprobeSucceeds(["image", "preview", source, "--out", out.path, "--window", "128,128"])
        XCTAssertTrue(run.stdout.contains("window[64,192] > minmax"), run.stdout)
        let original = try PNGReader.read(contentsOf: URL(fileURLWithPath: source))
        let clipped = original.pixels.map { min(max($0, 64), 192) }
        let lo = clipped.min()!, hi = clipped.max()!
        let expected = clipped.map { (($0 - lo) / (hi - lo) * 255).rounded() }
        let written = try PNGReader.read(contentsOf: out)
        XCTAssertEqual(written.bitDepth, 8)
        XCTAssertEqual(written.width, original.width)
        for (index, (value, want)) in zip(written.pixels, expected).enumerated() {
            XCTAssertEqual(value, want, accuracy: 1, "pixel \(index)")
        }
    }

    func testPreviewOfAVolumeSliceHasTheSliceShape() throws {
        let out = try temporaryDirectory().appendingPathComponent("slice.png")
        let volume = try DICOMSeries.read(folder: URL(fileURLWithPath: Self.series))
        let expected = try volume.slice(0, axis: .coronal)
        let run = try radprobeSucceeds(["image", "preview", Self.series, "--out", out.path, "--axis", "coronal", "--slice", "0"])
        XCTAssertTrue(run.stdout.contains("coronal slice 0 of \(try volume.sliceCount(axis: .coronal))"), run.stdout)
        XCTAssertTrue(run.stdout.contains("window[-1024,600] > minmax"), "a CT series gets the CT window:\n\(run.stdout)")
        let written = try PNGReader.read(contentsOf: out)
        XCTAssertEqual([written.width, written.height], [expected.width, expected.height])
    }

    func testPreviewRefusesBadRequestsClearly() throws {
        let out = try temporaryDirectory().appendingPathComponent("p.png")
        assertFails(try radprobe(["image", "preview", Self.series, "--out", out.path, "--slice", "999"]),
                    mentioning: ["--slice 999 is outside"])
        assertFails(try radprobe(["image", "preview", CLIFixture.path("imaging/png/grey8.png"), "--out", out.path, "--slice", "1"]),
                    mentioning: ["grey8.png", "--slice applies to volumes only"])
        assertFails(try radprobe(["image", "preview", Self.series, "--out", out.path, "--window", "40,400", "--percentile", "5,95"]),
                    mentioning: ["at most one of --window and --percentile"])
        assertFails(try radprobe(["image", "preview", Self.series, "--out", out.path, "--window", "40"]),
                    mentioning: ["--window must be LEVEL,WIDTH"])
        let text = try temporaryDirectory().appendingPathComponent("notes.txt")
        try Data("not an image".utf8).write(to: text)
        assertFails(try radprobe(["image", "info", text.path]), mentioning: [text.path, "is not an image format RadProbe reads"])
        assertFails(try radprobe(["image", "info", "/nonexistent/x.nii"]), mentioning: ["/nonexistent/x.nii", "no such file"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.path))
    }

    /// A volume is embedded slice by slice; embedding.json records the input, the pipeline and the slices.
    func testEmbedAVolumeRecordsItsPreprocessing() throws {
        let out = try temporaryDirectory()
        let run = try embed(CLIFixture.plainPTH, .image(Self.series, size: 70), out: out, "--axis", "axial")
        XCTAssertEqual(run.exitCode, 0, "\(run)")
        let record = try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("embedding.json"))) as! [String: Any]
        let slices = try DICOMSeries.read(folder: URL(fileURLWithPath: Self.series)).sliceCount(axis: .axial)
        XCTAssertEqual(try output(out, "cls").shape, [slices, 128])
        XCTAssertEqual(record["slices"] as? Int, slices)
        XCTAssertEqual(record["input_format"] as? String, "DICOM series")
        XCTAssertEqual(record["modality"] as? String, "ct")
        XCTAssertEqual(record["preprocessing"] as? String,
                       "window[-1024,600] > minmax > grey3 > resize[70,square,bilinear-aa] > imagenet")
        XCTAssertEqual(record["radprobe_version"] as? String, "0.1.0")
    }

    /// `--percentile` replaces the modality's clipping, and a NIfTI volume, a JPEG and a .mat file all embed.
    func testEmbedEveryFormatWithExplicitClipping() throws {
        let cases: [(String, [String], String)] = [
            ("imaging/nifti/int16_le.nii.gz", ["--percentile", "5,95"], "percentile[5,95] > minmax"),
            ("imaging/jpeg/grey_37x23.jpg", [], "minmax > grey3"),
            ("imaging/mat/glioma_10x14.mat", ["--window", "60,80"], "window[20,100] > minmax"),
        ]
        for (path, options, pipelineStart) in cases {
            let out = try temporaryDirectory()
            let run = try radprobe(["embed", "--checkpoint", CLIFixture.plainPTH, "--image", CLIFixture.path(path), "--size", "28",
                                    "--out", out.path, "--threads", "2"] + options)
            XCTAssertEqual(run.exitCode, 0, "\(path): \(run)")
            let record = try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("embedding.json"))) as! [String: Any]
            XCTAssertTrue((record["preprocessing"] as? String ?? "").hasPrefix(pipelineStart), "\(path): \(record)")
            XCTAssertEqual(try output(out, "cls").shape[1], 128)
        }
    }

    /// `--frame` picks a time point of a 4D volume and is recorded; a frame that does not exist is refused.
    func testEmbedAFrameOfA4DVolume() throws {
        let fourD = CLIFixture.path("imaging/nifti/four_d.nii.gz")
        let frames = try NIfTIReader.read(contentsOf: URL(fileURLWithPath: fourD)).frames
        let out = try temporaryDirectory()
        let run = try embed(CLIFixture.plainPTH, .image(fourD, size: 28), out: out, "--frame", String(frames - 1))
        XCTAssertEqual(run.exitCode, 0, "\(run)")
        let record = try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("embedding.json"))) as! [String: Any]
        XCTAssertEqual(record["frame"] as? Int, frames - 1)
        XCTAssertEqual(record["frames"] as? Int, frames)
        assertFails(try embed(CLIFixture.plainPTH, .image(fourD, size: 28), out: out, "--frame", String(frames)),
                    mentioning: ["--frame \(frames) is outside the volume's \(frames) frames"])
    }

    func testBenchDecodeMeasuresTheGivenFiles() throws {
        let run = try radprobeSucceeds(["bench", "decode", "--no-standard", "--repeats", "1", "--json", Self.series,
                                        CLIFixture.path("imaging/jpeg/grey_37x23.jpg")])
        let records = run.stdout.split(separator: "\n").map { try! JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        XCTAssertEqual(records.map { $0["format"] as? String }, ["DICOM series", "JPEG"])
        XCTAssertEqual(records.map { $0["shape"] as? String }.last, "37×23")
        for record in records { XCTAssertGreaterThan(record["images_per_s"] as? Double ?? 0, 0) }
    }
}
