import Foundation
import MedicalImaging
import TestSupport
import XCTest

/// A folder of DICOM slices read as one volume, against `expected.json`'s `series` entry
/// (see scripts/make_dicom_fixtures.py): ordering, spacing, RAS+ affine, and the errors of bad series.
final class DICOMSeriesTests: XCTestCase {
    static let folder = Fixtures.url("imaging/dicom")
    var seriesFolder: URL { Self.folder.appendingPathComponent("series") }
    var expected: DICOMFileTests.Expected { DICOMFileTests.expected["series"]! }

    func testSeriesIsSortedAlongTheNormalWithItsAffine() throws {
        let volume = try DICOMSeries.read(folder: seriesFolder)
        XCTAssertEqual(volume.size, expected.size)
        XCTAssertEqual(volume.voxels, expected.voxels)
        XCTAssertEqual(volume.storedType, "int16")
        XCTAssertEqual(volume.source, seriesFolder)
        for (actual, reference) in zip(volume.spacing, expected.spacing ?? []) { XCTAssertEqual(actual, reference, accuracy: 1e-9) }
        for (actual, reference) in zip(volume.affine.matrix, expected.affine ?? []) { XCTAssertEqual(actual, reference, accuracy: 1e-9) }
        // Slice k is the file the generator wrote it to, though the names are not in slice order.
        let names = try XCTUnwrap(expected.sliceFiles)
        XCTAssertNotEqual(names, names.sorted())
        for (k, name) in names.enumerated() {
            let slice = try DICOMFile.read(contentsOf: seriesFolder.appendingPathComponent(name)).image()
            XCTAssertEqual(Array(volume.voxels[k * 24 ..< (k + 1) * 24]), slice.pixels, name)
        }
        // The world position of voxel (0, 0, k) is slice k's Image Position Patient with x and y negated.
        let last = try DICOMFile.read(contentsOf: seriesFolder.appendingPathComponent(names[4]))
        let position = try XCTUnwrap(last.dataSet.doubles(.imagePositionPatient))
        let world = volume.affine.apply(0, 0, 4)
        XCTAssertEqual(world.x, -position[0], accuracy: 1e-9)
        XCTAssertEqual(world.y, -position[1], accuracy: 1e-9)
        XCTAssertEqual(world.z, position[2], accuracy: 1e-9)
    }

    /// A copy of the series (and `extra` fixture files) in a temporary folder, without `dropping`.
    func copySeries(dropping: String? = nil, adding extra: [String] = []) throws -> URL {
        let folder = try Fixtures.temporaryDirectory(removedAfter: self)
        for name in try FileManager.default.contentsOfDirectory(atPath: seriesFolder.path) where name != dropping {
            try FileManager.default.copyItem(at: seriesFolder.appendingPathComponent(name), to: folder.appendingPathComponent(name))
        }
        for name in extra {
            try FileManager.default.copyItem(at: Self.folder.appendingPathComponent(name), to: folder.appendingPathComponent(name))
        }
        return folder
    }

    func assertFails(_ folder: URL, seriesUID: String? = nil, containing parts: [String],
                     file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try DICOMSeries.read(folder: folder, seriesUID: seriesUID), file: file, line: line) { error in
            XCTAssertTrue(error is ImagingError, "\(error)", file: file, line: line)
            for part in parts { XCTAssertTrue("\(error)".contains(part), "\(error) lacks \(part)", file: file, line: line) }
        }
    }

    func testSeveralSeriesMustBeChosenBetween() throws {
        let folder = try copySeries(adding: ["other_series_slice.dcm"])
        let seriesUID = "1.2.826.0.1.3680043.10.1234.2.1", otherUID = "1.2.826.0.1.3680043.10.1234.3.1"
        assertFails(folder, containing: ["holds 2 series", "\(seriesUID) (5 files, \"Synthetic oblique CT\")", "\(otherUID) (1 file)"])
        assertFails(folder, seriesUID: "1.2.3", containing: ["has no series 1.2.3"])
        XCTAssertEqual(try DICOMSeries.read(folder: folder, seriesUID: seriesUID), try DICOMSeries.read(folder: seriesFolder)
            .replacingSource(folder))
        XCTAssertEqual(try DICOMSeries.read(folder: folder, seriesUID: otherUID).size, [6, 4, 1])
    }

    func testUnevenSpacingIsAnError() throws {
        let names = try XCTUnwrap(expected.sliceFiles)
        assertFails(try copySeries(dropping: names[2]), containing: ["has unevenly spaced slices: gaps from 2.5 mm (between \(names[0]) and \(names[1])) to 5 mm (between \(names[1]) and \(names[3]))"])
    }

    func testInconsistentSliceIsNamed() throws {
        assertFails(try copySeries(adding: ["series_mismatch_rows.dcm"]),
                    containing: ["series_mismatch_rows.dcm: does not match the other slices of its series: 3 × 6 pixels, not 4 × 6"])
    }

    func testTruncatedSliceIsAnErrorNotSkipped() throws {
        let folder = try copySeries()
        let names = try XCTUnwrap(expected.sliceFiles)
        let url = folder.appendingPathComponent(names[1])
        let bytes = try Data(contentsOf: url)
        try bytes.prefix(bytes.count - 10).write(to: url)
        assertFails(folder, containing: ["\(names[1]): is truncated"])
    }

    func testEmptyAndMissingFolders() throws {
        let empty = try Fixtures.temporaryDirectory(removedAfter: self)
        assertFails(empty, containing: ["holds no DICOM image files"])
        assertFails(empty.appendingPathComponent("absent"), containing: ["cannot be listed"])
    }

    /// Slices of palette indices are not stacked into a volume of indices.
    func testPaletteColourSlicesAreRefused() throws {
        let folder = try Fixtures.temporaryDirectory(removedAfter: self)
        for name in ["a.dcm", "b.dcm"] {
            try FileManager.default.copyItem(at: Fixtures.url("imaging/dicom/palette_lut16.dcm"), to: folder.appendingPathComponent(name))
        }
        XCTAssertThrowsError(try DICOMSeries.read(folder: folder)) { error in
            XCTAssertTrue("\(error)".contains("has PALETTE COLOR pixels"), "\(error)")
            XCTAssertTrue((error as? ImagingError)?.file.hasSuffix(".dcm") == true, "\(error)")
        }
    }
}

extension Volume {
    /// The same volume read from `source`.
    func replacingSource(_ source: URL) -> Volume {
        Volume(size: size, frames: frames, voxels: voxels, spacing: spacing, affine: affine, storedType: storedType, source: source)
    }
}
