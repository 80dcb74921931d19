import Foundation

/// Reads a folder of single-frame DICOM slices as one `Volume`.
///
/// Every regular, non-hidden file directly in the folder is looked at; files that are not DICOM (no
/// `DICM` marker and no data set at the start) and DICOM files without Pixel Data (e.g. a DICOMDIR) are
/// skipped, while a DICOM file that is truncated or corrupt is an error. Slices are grouped by Series
/// Instance UID; with several series one must be chosen. The slices are sorted by the projection
/// `p · n` of Image Position Patient `p` on the slice normal `n = r × c` (see `DICOMGeometry`), must
/// share Rows, Columns, Samples per Pixel (1), Image Orientation Patient and Pixel Spacing, and must be
/// evenly spaced (gaps within 1 % or 0.01 mm of their mean). Voxel `(i, j, k)` is column `i`, row `j`
/// of the `k`-th slice in that order; values are the slices' `images()` (rescaled, MONOCHROME1 mirrored);
/// the affine is RAS+ as `DICOMGeometry` builds it. A series of one multi-frame file is that file's
/// `volume()`.
public enum DICOMSeries {
    /// One slice: its file and the attributes that place it.
    struct Slice {
        let url: URL
        let file: DICOMFile
        let seriesUID: String
    }

    /// A series read from a folder: its volume, the first of its slices in file-name order (for the
    /// attributes all slices share: modality, window, patient) and how many files it spans.
    public struct Contents: Sendable {
        public let volume: Volume
        public let firstFile: DICOMFile
        public let fileCount: Int
    }

    /// The volume of the series in `folder`; `seriesUID` chooses one when the folder holds several.
    public static func read(folder: URL, seriesUID: String? = nil) throws -> Volume {
        try contents(of: folder, seriesUID: seriesUID).volume
    }

    /// The series in `folder` with its first file; `seriesUID` chooses one when the folder holds several.
    public static func contents(of folder: URL, seriesUID: String? = nil) throws -> Contents {
        let label = folder.path
        let slices = try readSlices(in: folder)
        let bySeries = Dictionary(grouping: slices, by: \.seriesUID)
        guard !bySeries.isEmpty else { throw ImagingError(file: label, problem: "holds no DICOM image files") }
        let chosen: [Slice]
        if let seriesUID {
            guard let series = bySeries[seriesUID] else {
                throw ImagingError(file: label, problem: "has no series \(seriesUID); it holds \(listing(bySeries))")
            }
            chosen = series
        } else {
            guard bySeries.count == 1, let only = bySeries.values.first else {
                throw ImagingError(file: label, problem: "holds \(bySeries.count) series; choose one of \(listing(bySeries))")
            }
            chosen = only
        }
        let volume = chosen.count == 1 ? try chosen[0].file.volume().relabelled(source: folder) : try stack(chosen, folder: folder)
        return Contents(volume: volume, firstFile: chosen[0].file, fileCount: chosen.count)
    }

    /// `UID (N files, description)` for each series, sorted by UID.
    static func listing(_ bySeries: [String: [Slice]]) -> String {
        bySeries.keys.sorted().map { uid in
            let slices = bySeries[uid] ?? []
            let description = slices.first?.file.dataSet.string(.seriesDescription).map { ", \"\($0)\"" } ?? ""
            return "\(uid) (\(slices.count) file\(slices.count == 1 ? "" : "s")\(description))"
        }.joined(separator: "; ")
    }

    /// The DICOM files with pixel data in `folder`, in name order.
    static func readSlices(in folder: URL) throws -> [Slice] {
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: folder.path) } catch {
            throw ImagingError(file: folder.path, problem: "cannot be listed as a folder (\(error.localizedDescription))")
        }
        var slices: [Slice] = []
        for name in names.sorted() where !name.hasPrefix(".") {
            let url = folder.appendingPathComponent(name)
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), !isDirectory.boolValue else {
                continue
            }
            let bytes = [UInt8](try FileBytes.read(contentsOf: url))
            guard DICOMParser.looksLikeDICOM(bytes) else { continue }
            let file = try DICOMFile.decode(bytes, file: url.path, source: url)
            guard file.dataSet.contains(.pixelData) else { continue }
            slices.append(Slice(url: url, file: file, seriesUID: file.seriesInstanceUID ?? "(no Series Instance UID)"))
        }
        return slices
    }

    /// Sorts, checks and stacks the slices of one series.
    static func stack(_ slices: [Slice], folder: URL) throws -> Volume {
        let label = folder.path
        let reference = slices[0].file
        let layout = try reference.pixelLayout()
        guard layout.photometricInterpretation != "PALETTE COLOR" else {
            throw ImagingError(file: reference.path, problem: "has PALETTE COLOR pixels (indices into a colour table); "
                + "a volume holds one grey value per voxel")
        }
        guard let orientation = reference.frameValues(.imageOrientationPatient, in: .planeOrientationSequence,
                                                      frame: 0, count: 6),
              DICOMGeometry.isValidOrientation(orientation) else {
            throw ImagingError(file: reference.path, problem: "has no valid Image Orientation Patient (0020,0037), "
                + "needed to order the slices of a series")
        }
        let pixelSpacing = reference.pixelSpacing ?? [1, 1]
        let normal = DICOMGeometry.normal(orientation)
        var placed: [(slice: Slice, position: [Double], height: Double)] = []
        for slice in slices {
            let file = slice.file
            func mismatch(_ what: String) -> ImagingError {
                ImagingError(file: file.path, problem: "does not match the other slices of its series: \(what) "
                    + "(first file: \(reference.path))")
            }
            let sliceLayout = try file.pixelLayout()
            guard sliceLayout.frames == 1 else { throw mismatch("it has \(sliceLayout.frames) frames") }
            guard sliceLayout.rows == layout.rows, sliceLayout.columns == layout.columns else {
                throw mismatch("\(sliceLayout.rows) × \(sliceLayout.columns) pixels, not \(layout.rows) × \(layout.columns)")
            }
            guard sliceLayout.samplesPerPixel == 1 else { throw mismatch("it has colour pixels") }
            guard sliceLayout.photometricInterpretation == layout.photometricInterpretation else {
                throw mismatch("Photometric Interpretation \(sliceLayout.photometricInterpretation), not \(layout.photometricInterpretation)")
            }
            guard let own = file.frameValues(.imageOrientationPatient, in: .planeOrientationSequence, frame: 0, count: 6),
                  zip(own, orientation).allSatisfy({ abs($0 - $1) < 1e-4 }) else {
                throw mismatch("Image Orientation Patient differs or is missing")
            }
            guard zip(file.pixelSpacing ?? [1, 1], pixelSpacing).allSatisfy({ abs($0 - $1) < 1e-4 }) else {
                throw mismatch("Pixel Spacing \(file.pixelSpacing ?? [1, 1]) differs from \(pixelSpacing)")
            }
            guard let position = file.frameValues(.imagePositionPatient, in: .planePositionSequence, frame: 0, count: 3) else {
                throw ImagingError(file: file.path, problem: "has no Image Position Patient (0020,0032), "
                    + "needed to order the slices of a series")
            }
            placed.append((slice, position, DICOMGeometry.dot(position, normal)))
        }
        placed.sort { $0.height < $1.height }
        let thickness = reference.dataSet.double(.sliceThickness) ?? 1
        let step = try DICOMGeometry.sliceStep(positions: placed.map(\.position),
                                               names: placed.map { $0.slice.url.lastPathComponent },
                                               orientation: orientation, fallbackSpacing: thickness, file: label)
        var voxels: [Float] = []
        for entry in placed { voxels += try entry.slice.file.image().pixels }
        return Volume(size: [layout.columns, layout.rows, placed.count], voxels: voxels,
                      spacing: [pixelSpacing[1], pixelSpacing[0], DICOMGeometry.norm(step)],
                      affine: DICOMGeometry.affine(orientation: orientation, pixelSpacing: pixelSpacing,
                                                   origin: placed[0].position, step: step),
                      storedType: layout.storedType, source: folder)
    }
}

extension Volume {
    /// The same volume with another `source`.
    func relabelled(source: URL) -> Volume {
        Volume(size: size, frames: frames, voxels: voxels, spacing: spacing, affine: affine, storedType: storedType,
               source: source)
    }
}
