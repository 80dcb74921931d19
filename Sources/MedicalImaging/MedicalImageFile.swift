import Foundation

/// The pixels a medical image file holds: one 2D image or a volume.
public enum ImageContent: Sendable {
    /// A 2D image (PNG, JPEG, a single-frame DICOM, the slice of a brain-tumour `.mat` file).
    case image(Image2D)
    /// A volume (NIfTI, a multi-frame DICOM, a folder holding a DICOM series).
    case volume(Volume)
}

/// The file formats RadProbe reads, recognised by their first bytes (never by the name alone).
public enum ImageFormat: String, CaseIterable, Sendable {
    case png = "PNG"
    case jpeg = "JPEG"
    case nifti = "NIfTI"
    case dicom = "DICOM"
    case dicomSeries = "DICOM series"
    case matlab = "MATLAB v7.3"

    /// The format of the file (or folder) at `url`: a folder is a DICOM series; a file is recognised by
    /// its signature — PNG `89 50 4E 47`, JPEG `FF D8 FF`, gzip `1F 8B` (a `.nii.gz`), NIfTI-1/2 by
    /// `sizeof_hdr` 348/540 in either byte order, DICOM by `DICM` at byte 128 (or a `.dcm` name for files
    /// without the Part 10 preamble), HDF5 `89 48 44 46` at byte 0, 512, 1024 or 2048 and MATLAB's text
    /// header (a `.mat` file).
    public static func detect(_ url: URL) throws -> ImageFormat {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
            throw ImagingError(file: url.path, problem: "cannot be read: no such file")
        }
        if isDirectory.boolValue { return .dicomSeries }
        guard let handle = FileHandle(forReadingAtPath: url.path) else {
            throw ImagingError(file: url.path, problem: "cannot be read (permission denied?)")
        }
        defer { try? handle.close() }
        let head = [UInt8]((try? handle.read(upToCount: 2056)) ?? Data())
        if let format = detect(head: head, pathExtension: url.pathExtension.lowercased()) { return format }
        let shown = head.prefix(8).map { String(format: "%02X", $0) }.joined(separator: " ")
        throw ImagingError(file: url.path, problem: head.isEmpty ? "is empty (0 bytes), not an image file" :
            "is not an image format RadProbe reads (it starts with \(shown)); RadProbe reads PNG, JPEG, NIfTI (.nii, .nii.gz), DICOM and MATLAB v7.3 (.mat) files")
    }

    /// The format given the first bytes of a file (up to 2056 of them) and its lower-case extension.
    static func detect(head: [UInt8], pathExtension: String) -> ImageFormat? {
        func starts(_ signature: [UInt8], at offset: Int = 0) -> Bool {
            head.count >= offset + signature.count && Array(head[offset ..< offset + signature.count]) == signature
        }
        if starts(Array("DICM".utf8), at: 128) { return .dicom }  // first: a preamble may hold any bytes
        if starts(PNGReader.signature) { return .png }
        if starts(JPEGReader.signature) { return .jpeg }
        if starts(Gzip.magic) { return .nifti }
        if HDF5File.hasSignature(Data(head)) || starts(Array("MATLAB".utf8)) { return .matlab }
        if head.count >= 4 {
            let little = UInt32(head[0]) | UInt32(head[1]) << 8 | UInt32(head[2]) << 16 | UInt32(head[3]) << 24
            if [348, 540].contains(little) || [348, 540].contains(little.byteSwapped) { return .nifti }
        }
        if pathExtension == "dcm" { return .dicom }
        return nil
    }
}

/// A medical image file read into memory with what the CLI reports about it.
///
/// `read(contentsOf:)` dispatches on `ImageFormat.detect`: PNG and JPEG give a 2D image; NIfTI a
/// volume; DICOM a 2D image for a single frame (`DICOMFile.displayImage()`: YBR_FULL and PALETTE COLOR
/// converted to RGB; other Photometric Interpretations than MONOCHROME1/2 and RGB refused) and a grey
/// volume for several (colour refused); a folder the volume of its DICOM series; a
/// brain-tumour `.mat` file its slice (label and patient in `details`).
public struct MedicalImageFile: Sendable {
    /// The file or folder read.
    public let url: URL
    /// Its format.
    public let format: ImageFormat
    /// Its pixels.
    public let content: ImageContent
    /// The modality the file states (DICOM Modality, e.g. `"CT"`, `"MR"`, `"CR"`, `"DX"`), if any.
    public let modality: String?
    /// The display window the file suggests (DICOM Window Center/Width), if any.
    public let window: (center: Double, width: Double)?
    /// Format-specific facts for `radprobe image info`, as (label, value) pairs.
    public let details: [(label: String, value: String)]

    /// Reads the file or DICOM series folder at `url`.
    public static func read(contentsOf url: URL) throws -> MedicalImageFile {
        let format = try ImageFormat.detect(url)
        switch format {
        case .png:
            return MedicalImageFile(url: url, format: format, content: .image(try PNGReader.read(contentsOf: url)))
        case .jpeg:
            return MedicalImageFile(url: url, format: format, content: .image(try JPEGReader.read(contentsOf: url)))
        case .nifti:
            let data = try FileBytes.read(contentsOf: url)
            let header = try NIfTIReader.header(of: data, file: url.path)
            return MedicalImageFile(url: url, format: format, content: .volume(try NIfTIReader.decode(data, file: url.path, source: url)),
                                    details: niftiDetails(header, file: url.path))
        case .dicom:
            let dicom = try DICOMFile.read(contentsOf: url)
            _ = try dicom.displayableLayout()
            let content: ImageContent = dicom.frameCount > 1 ? .volume(try dicom.volume()) : .image(try dicom.displayImage())
            return MedicalImageFile(url: url, format: format, content: content, modality: dicom.modality, window: dicom.window,
                                    details: [("transfer syntax", "\(dicom.transferSyntax.name) (\(dicom.transferSyntax.uid))"),
                                              ("frames", "\(dicom.frameCount)")])
        case .dicomSeries:
            let series = try DICOMSeries.contents(of: url)
            return MedicalImageFile(url: url, format: format, content: .volume(series.volume), modality: series.firstFile.modality,
                                    window: series.firstFile.window, details: [("files", "\(series.fileCount)")])
        case .matlab:
            let slice = try BrainTumourMAT.read(contentsOf: url)
            return MedicalImageFile(url: url, format: format, content: .image(slice.image), modality: "MR",
                                    details: [("label", "\(slice.label) (\(slice.className))"), ("patient", slice.patientID)])
        }
    }

    init(url: URL, format: ImageFormat, content: ImageContent, modality: String? = nil,
         window: (center: Double, width: Double)? = nil, details: [(label: String, value: String)] = []) {
        self.url = url
        self.format = format
        self.content = content
        self.modality = modality
        self.window = window
        self.details = details
    }

    /// What `image info` adds for a NIfTI file: version and byte order, datatype, units, transforms, scaling.
    static func niftiDetails(_ header: NIfTIHeader, file: String) -> [(label: String, value: String)] {
        var lines: [(label: String, value: String)] = [
            ("NIfTI", "version \(header.version), \(header.byteOrder.rawValue)"),
            ("datatype", header.datatype.description),
            ("units", "\(header.spatialUnit), \(header.temporalUnit)"),
            ("qform", NIfTIHeader.transformCodeName(header.effectiveQformCode)),
            ("sform", NIfTIHeader.transformCodeName(header.effectiveSformCode)),
        ]
        if let scaling = try? header.scaling(file: file) {
            lines.append(("scaling", "value × \(scaling.slope) + \(scaling.intercept) (scl_slope, scl_inter)"))
        }
        if !header.description.isEmpty { lines.append(("description", header.description)) }
        return lines
    }
}
