import Foundation

/// A parsed DICOM file (PS3.10): its data set, transfer syntax and image, decoded on demand.
///
/// Pixel values, per frame, planar `[samplesPerPixel, rows, columns]`:
/// * `rawFrames()`: the stored integers (see `DICOMPixelLayout` for bits and sign), as pydicom's
///   `pixel_array` gives them (colour as stored: RGB, YBR_FULL or palette indices, no conversion).
/// * `images()`: the modality values `v = stored × RescaleSlope + RescaleIntercept` (Hounsfield units for
///   CT; slope 1 and intercept 0 when absent), computed in `Double` and rounded to `Float` as pydicom's
///   `apply_modality_lut` then `astype(float32)` would. For MONOCHROME1 (low values bright) the values are
///   then mirrored so that larger means brighter, as in MONOCHROME2: `v' = lo + hi − v`, where `lo…hi` is
///   the range the stored values can take (0…2^BitsStored − 1, or −2^(BitsStored−1)…2^(BitsStored−1) − 1
///   when signed) after rescaling; the values keep that range.
/// * `displayImages()`: what a viewer shows — `images()` for MONOCHROME1/2 and RGB; RGB converted from
///   YBR_FULL (`DICOMColour.rgb(fromYBRFull:pixels:)`) or looked up in the palette of PALETTE COLOR
///   (`DICOMPalette`), as pydicom's `convert_color_space` and `apply_color_lut` give them.
/// * `window`: the first Window Center/Width, mirrored like the pixels for MONOCHROME1, so that it
///   applies to `images()`.
/// Enhanced multi-frame files: rescale, window, pixel spacing and plane position/orientation are taken
/// from the frame's Per-Frame Functional Groups, else the Shared Functional Groups, else the top level.
public struct DICOMFile: Sendable {
    /// The file read, if any.
    public let source: URL?
    /// The path (or label) naming the file in errors.
    public let path: String
    /// The file meta information (group 0002); empty for a file without one.
    public let meta: DICOMDataSet
    /// The data set after the meta group.
    public let dataSet: DICOMDataSet
    /// The transfer syntax the data set and pixels are encoded in.
    public let transferSyntax: DICOMTransferSyntax

    /// Parses the DICOM file at `url` (pixels are decoded later, when asked for). Throws `ImagingError`
    /// naming the file when it is missing, not DICOM, truncated or corrupt.
    public static func read(contentsOf url: URL) throws -> DICOMFile {
        try decode([UInt8](FileBytes.read(contentsOf: url)), file: url.path, source: url)
    }

    /// Parses DICOM bytes held in memory; `file` names them in errors.
    public static func decode(_ bytes: [UInt8], file: String = "<memory>", source: URL? = nil) throws -> DICOMFile {
        let parsed = try DICOMParser.parse(bytes, file: file)
        return DICOMFile(source: source, path: file, meta: parsed.meta, dataSet: parsed.dataSet,
                         transferSyntax: parsed.transferSyntax)
    }

    // MARK: - Attributes

    /// Modality, e.g. `CT`, `MR`, `CR`.
    public var modality: String? { dataSet.string(.modality) }
    /// Rows of the image (0 when the file has none).
    public var rows: Int { dataSet.int(.rows) ?? 0 }
    /// Columns of the image (0 when the file has none).
    public var columns: Int { dataSet.int(.columns) ?? 0 }
    /// Number of Frames (1 when absent).
    public var frameCount: Int { dataSet.int(.numberOfFrames) ?? 1 }
    /// Series Instance UID.
    public var seriesInstanceUID: String? { dataSet.string(.seriesInstanceUID) }
    /// Pixel Spacing in mm, `[between rows, between columns]` (of the first frame).
    public var pixelSpacing: [Double]? { frameValues(.pixelSpacing, in: .pixelMeasuresSequence, frame: 0, count: 2) }

    /// The first Window Center and Width, in the value space of `images()` (mirrored for MONOCHROME1).
    public var window: (center: Double, width: Double)? {
        guard let center = frameValues(.windowCenter, in: .frameVOILUTSequence, frame: 0)?.first,
              let width = frameValues(.windowWidth, in: .frameVOILUTSequence, frame: 0)?.first, width > 0 else { return nil }
        guard let layout = try? DICOMPixelLayout(dataSet, file: path), layout.photometricInterpretation == "MONOCHROME1" else {
            return (center, width)
        }
        let (lo, hi) = valueRange(layout, frame: 0)
        return (lo + hi - center, width)
    }

    /// Values of `tag` for `frame`: from the frame's item of `macro` in the Per-Frame Functional Groups,
    /// else the Shared Functional Groups, else the top level (with `perFrameOnly`, only the first);
    /// `nil` unless there are `count` or more.
    func frameValues(_ tag: DICOMTag, in macro: DICOMTag, frame: Int, count: Int = 1, perFrameOnly: Bool = false) -> [Double]? {
        let perFrame = dataSet.sequence(.perFrameFunctionalGroupsSequence)
        let groups = [frame < perFrame?.count ?? 0 ? perFrame?[frame] : nil,
                      perFrameOnly ? nil : dataSet.sequence(.sharedFunctionalGroupsSequence)?.first].compactMap { $0 }
        for group in groups {
            if let values = group.sequence(macro)?.first?.doubles(tag), values.count >= count { return values }
        }
        guard !perFrameOnly, let values = dataSet.doubles(tag), values.count >= count else { return nil }
        return values
    }

    /// Rescale slope and intercept of `frame` (1 and 0 when absent).
    func rescale(frame: Int) -> (slope: Double, intercept: Double) {
        (frameValues(.rescaleSlope, in: .pixelValueTransformationSequence, frame: frame)?.first ?? 1,
         frameValues(.rescaleIntercept, in: .pixelValueTransformationSequence, frame: frame)?.first ?? 0)
    }

    /// The range of rescaled values of `frame`: the stored range mapped through its rescale.
    func valueRange(_ layout: DICOMPixelLayout, frame: Int) -> (lo: Double, hi: Double) {
        let (slope, intercept) = rescale(frame: frame)
        let ends = [layout.storedRange.min * slope + intercept, layout.storedRange.max * slope + intercept]
        return (ends.min() ?? 0, ends.max() ?? 0)
    }

    // MARK: - Pixels

    /// The pixel layout (Image Pixel module) of this file.
    public func pixelLayout() throws -> DICOMPixelLayout { try DICOMPixelLayout(dataSet, file: path) }

    /// Stored sample values of every frame, no rescale or inversion (`bitDepth` = Bits Stored).
    public func rawFrames() throws -> [Image2D] {
        let decoder = try DICOMPixelDecoder(dataSet: dataSet, transferSyntax: transferSyntax, file: path)
        return try decoder.frames().enumerated().map { index, values in
            makeImage(values, layout: decoder.layout, frame: index)
        }
    }

    /// Modality values of every frame, MONOCHROME1 mirrored (see the type's description).
    public func images() throws -> [Image2D] {
        let decoder = try DICOMPixelDecoder(dataSet: dataSet, transferSyntax: transferSyntax, file: path)
        let layout = decoder.layout
        // Rescaled in place: `frames` holds the only reference to each frame's array, so nothing is copied.
        var frames = try decoder.frames()
        let invert = layout.photometricInterpretation == "MONOCHROME1"
        for index in frames.indices {
            let (slope, intercept) = rescale(frame: index)
            guard slope != 1 || intercept != 0 || invert else { continue }
            let (lo, hi) = valueRange(layout, frame: index)
            let mirror = lo + hi
            frames[index].withUnsafeMutableBufferPointer { values in
                for n in values.indices {
                    let value = Double(values[n]) * slope + intercept
                    values[n] = Float(invert ? mirror - value : value)
                }
            }
        }
        return frames.enumerated().map { index, values in makeImage(values, layout: layout, frame: index) }
    }

    /// The single frame of a one-frame file; throws for a multi-frame file (use `images()`).
    public func image() throws -> Image2D {
        try singleFrame(of: images)
    }

    /// The only image `frames` gives; throws, naming the file, when there are several or none.
    func singleFrame(of frames: () throws -> [Image2D]) throws -> Image2D {
        guard frameCount == 1 else {
            throw ImagingError(file: path, problem: "has \(frameCount) frames; pick one from images() or read it as a volume")
        }
        guard let first = try frames().first else { throw ImagingError(file: path, problem: "has no frame") }
        return first
    }

    /// What a viewer shows of every frame, planar `[3, rows, columns]` for colour, `[1, rows, columns]` for grey:
    /// * MONOCHROME1, MONOCHROME2 and RGB: `images()`.
    /// * YBR_FULL, and YBR_FULL_422 decoded to full resolution (RLE Lossless; natively stored 4:2:2 data
    ///   is refused): the 8-bit stored samples converted to RGB 0…255 (`bitDepth` 8) exactly as pydicom's
    ///   `convert_color_space(pixel_array, "YBR_FULL", "RGB")`, see `DICOMColour.rgb(fromYBRFull:pixels:)`.
    /// * PALETTE COLOR: each stored value's Red, Green and Blue palette entries (`bitDepth` 8 or 16, the
    ///   width of the entries) as pydicom's `apply_color_lut(pixel_array, ds)`, see `DICOMPalette`.
    /// Throws `ImagingError` naming the file for any other Photometric Interpretation, YBR samples other
    /// than 8-bit, and palettes that are segmented, supplemental or whose descriptor does not fit its data.
    public func displayImages() throws -> [Image2D] {
        let layout = try displayableLayout()
        func fail(_ problem: String) -> ImagingError { ImagingError(file: path, problem: problem) }
        switch layout.photometricInterpretation {
        case "YBR_FULL", "YBR_FULL_422":
            guard layout.samplesPerPixel == 3, layout.bitsAllocated == 8 else {
                throw fail("has \(layout.photometricInterpretation) pixels of \(layout.samplesPerPixel) samples of "
                    + "\(layout.bitsAllocated) bits; RadProbe converts 3 samples of 8 bits to RGB")
            }
            let pixels = layout.rows * layout.columns
            return try rawFrames().enumerated().map { index, frame in
                makeImage(DICOMColour.rgb(fromYBRFull: frame.pixels, pixels: pixels), layout: layout, frame: index,
                          channels: 3, bitDepth: 8)
            }
        case "PALETTE COLOR":
            guard layout.samplesPerPixel == 1 else {
                throw fail("has PALETTE COLOR pixels of \(layout.samplesPerPixel) samples; a palette index is 1 sample")
            }
            let palette = try DICOMPalette(dataSet, isSigned: layout.isSigned, file: path)
            return try rawFrames().enumerated().map { index, frame in
                makeImage(palette.rgb(indices: frame.pixels), layout: layout, frame: index, channels: 3,
                          bitDepth: palette.bitsPerEntry)
            }
        default:
            return try images()
        }
    }

    /// The single frame of `displayImages()` for a one-frame file; throws for a multi-frame file.
    public func displayImage() throws -> Image2D {
        try singleFrame(of: displayImages)
    }

    /// The pixel layout, if the file has pixels `displayImages()` can show; else an `ImagingError` naming
    /// the file and the problem (for a Photometric Interpretation, those RadProbe shows).
    func displayableLayout() throws -> DICOMPixelLayout {
        let photometric = dataSet.string(.photometricInterpretation) ?? "MONOCHROME2"  // the layout's default
        guard DICOMColour.displayable.contains(photometric) else {
            throw ImagingError(file: path, problem: "has Photometric Interpretation \(photometric); RadProbe shows and embeds "
                + "MONOCHROME1, MONOCHROME2, RGB, YBR_FULL and PALETTE COLOR pixels and does not convert \(photometric) yet")
        }
        return try DICOMPixelDecoder(dataSet: dataSet, transferSyntax: transferSyntax, file: path).layout
    }

    func makeImage(_ values: [Float], layout: DICOMPixelLayout, frame: Int, channels: Int? = nil,
                   bitDepth: Int? = nil) -> Image2D {
        var image = Image2D(width: layout.columns, height: layout.rows, channels: channels ?? layout.samplesPerPixel,
                            pixels: values, bitDepth: bitDepth ?? layout.bitsStored, source: source)
        image.pixelSpacing = frameValues(.pixelSpacing, in: .pixelMeasuresSequence, frame: frame, count: 2)
        return image
    }

    /// The frames stacked as slices `k` of a one-channel volume (voxel `(i, j, k)` = column `i`, row `j`
    /// of frame `k`), with `DICOMGeometry`'s affine. Orientation: Image Orientation Patient (functional
    /// groups, else top level), else DICOM's default axes (rows along +x, columns along +y: LPS).
    /// Position and slice step: the frames' own Image Position Patient in the per-frame functional groups
    /// when every frame has one and they are not all equal (frames kept in file order, which must step
    /// evenly along the normal); otherwise the first position the file states (else the origin) and a
    /// step along the normal of Spacing Between Slices, else Slice Thickness, else 1 mm — so a cine
    /// series or a file without geometry still opens, displayed as stored. Spacings that are not
    /// positive numbers count as 1 mm. Colour (3 samples per pixel, or PALETTE COLOR indices) is refused.
    public func volume() throws -> Volume {
        let frames = try images()
        guard let first = frames.first else { throw ImagingError(file: path, problem: "has no frame") }
        guard first.channels == 1 else {
            throw ImagingError(file: path, problem: "has colour pixels (3 samples per pixel); a volume holds one value per voxel")
        }
        let layout = try pixelLayout()
        guard layout.photometricInterpretation != "PALETTE COLOR" else {
            throw ImagingError(file: path, problem: "has PALETTE COLOR pixels (indices into a colour table); "
                + "a volume holds one value per voxel")
        }
        func usable(_ value: Double?) -> Double? { value.flatMap { $0.isFinite && $0 > 0 ? $0 : nil } }
        let stated = self.pixelSpacing ?? []
        let pixelSpacing = [usable(stated.first) ?? 1, usable(stated.dropFirst().first) ?? 1]
        let thickness = usable(frameValues(.spacingBetweenSlices, in: .pixelMeasuresSequence, frame: 0)?.first)
            ?? usable(frameValues(.sliceThickness, in: .pixelMeasuresSequence, frame: 0)?.first) ?? 1
        let orientation = frameValues(.imageOrientationPatient, in: .planeOrientationSequence, frame: 0, count: 6)
            .flatMap { DICOMGeometry.isValidOrientation($0) ? Array($0.prefix(6)) : nil } ?? DICOMGeometry.defaultOrientation
        let perFrame = (0..<frames.count).compactMap {
            frameValues(.imagePositionPatient, in: .planePositionSequence, frame: $0, count: 3, perFrameOnly: true)
        }
        let origin = perFrame.first ?? frameValues(.imagePositionPatient, in: .planePositionSequence, frame: 0, count: 3) ?? [0, 0, 0]
        var step = DICOMGeometry.normal(orientation).map { $0 * thickness }
        if frames.count > 1, perFrame.count == frames.count, perFrame.contains(where: { $0 != perFrame[0] }) {
            step = try DICOMGeometry.sliceStep(positions: perFrame, names: (1...frames.count).map { "frame \($0)" },
                                               orientation: orientation, fallbackSpacing: thickness, file: path)
        }
        let affine = DICOMGeometry.affine(orientation: orientation, pixelSpacing: pixelSpacing, origin: Array(origin.prefix(3)), step: step)
        let spacing = [pixelSpacing[1], pixelSpacing[0], DICOMGeometry.norm(step)]
        return Volume(size: [layout.columns, layout.rows, frames.count], voxels: frames.flatMap(\.pixels),
                      spacing: spacing, affine: affine, storedType: layout.storedType, source: source)
    }
}
