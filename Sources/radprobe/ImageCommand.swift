import ArgumentParser
import Foundation
import MedicalImaging

/// `radprobe image`: look at medical image files (PNG, JPEG, NIfTI, DICOM, DICOM series, MAT v7.3).
struct ImageCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "image",
        abstract: "Inspect medical image files and write viewable previews.",
        subcommands: [ImageInfo.self, ImagePreview.self]
    )
}

/// `radprobe image info FILE`: format, modality, size, spacing, orientation, stored type, value range.
struct ImageInfo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info",
        abstract: "Print a file's format, modality, size, spacing, orientation, value range and stored type.",
        discussion: "FILE may be a PNG, JPEG, NIfTI (.nii, .nii.gz), DICOM or MATLAB v7.3 (.mat) file, or a folder holding one DICOM series."
    )

    @Argument(help: "The image file or DICOM series folder.")
    var file: String

    func run() async throws {
        let image = try CommandFailure.wrap { try MedicalImageFile.read(contentsOf: URL(fileURLWithPath: file)) }
        print(Self.report(image).map { "\($0.label.padding(toLength: 17, withPad: " ", startingAt: 0))\($0.value)" }.joined(separator: "\n"))
    }

    /// The (label, value) lines of the report.
    static func report(_ file: MedicalImageFile) -> [(label: String, value: String)] {
        var lines: [(label: String, value: String)] = [("file", file.url.path), ("format", file.format.rawValue),
                                                        ("modality", file.modality ?? "not stated")]
        let values: [Float]
        switch file.content {
        case .image(let image):
            lines.append(("size", "\(image.width) × \(image.height) pixels (width × height), \(image.channels == 1 ? "grey" : "RGB")"))
            lines.append(("spacing", image.pixelSpacing.map { spacing in
                "\(millimetres(spacing)) mm (rows × columns)" + (spacing.contains { $0 <= 0 } ? ", as stated: not a usable spacing" : "")
            } ?? "not stated"))
            lines.append(("orientation", "not stated (2D image)"))
            lines.append(("stored type", image.bitDepth < 32 ? "\(image.bitDepth)-bit integer" : "32-bit samples"))
            values = image.pixels
        case .volume(let volume):
            let frames = volume.frames > 1 ? " × \(volume.frames) frames" : ""
            lines.append(("size", "\(volume.size.map(String.init).joined(separator: " × ")) voxels (i × j × k)\(frames)"))
            lines.append(("spacing", "\(millimetres(volume.spacing)) mm"))
            lines.append(("orientation", "\(volume.orientation) (the direction each voxel axis grows toward; RAS+ world)"))
            lines.append(("stored type", volume.storedType))
            values = volume.voxels
        }
        lines.append(("values", valueRange(values)))
        if let window = file.window {
            lines.append(("window", "level \(number(window.center)), width \(number(window.width)) (from the file)"))
        }
        return lines + file.details
    }

    static func millimetres(_ values: [Double]) -> String { values.map(number).joined(separator: " × ") }

    static func number(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e9 ? String(Int(value)) : String(format: "%.4g", value)
    }

    /// `min … max (mean m)`, NaN samples counted apart.
    static func valueRange(_ values: [Float]) -> String {
        var lo = Float.infinity, hi = -Float.infinity, sum = 0.0, finite = 0
        for v in values where !v.isNaN {
            lo = min(lo, v)
            hi = max(hi, v)
            sum += Double(v)
            finite += 1
        }
        guard finite > 0 else { return "all \(values.count) samples are NaN" }
        let nan = values.count - finite
        return "\(number(Double(lo))) … \(number(Double(hi))) (mean \(String(format: "%.4g", sum / Double(finite))))" + (nan > 0 ? ", \(nan) NaN" : "")
    }
}

/// `radprobe image preview FILE --out X.png`: one 8-bit PNG of an image or of a volume's slice.
struct ImagePreview: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "preview",
        abstract: "Write a viewable 8-bit PNG of an image, or of one slice of a volume in radiological orientation.",
        discussion: """
        Intensities are clipped (--window, --percentile, else the file's own DICOM window, else the modality's \
        default), then scaled to 0…255. Volume slices are shown as radiologists view them: axial with the \
        patient's right on the image's left and anterior at the top.
        """
    )

    @Argument(help: "The image file or DICOM series folder.")
    var file: String

    @Option(help: "The PNG file to write.")
    var out: String

    @OptionGroup var intensity: IntensityOptions

    @Option(help: "Slice index of a volume, in display order (default: the middle slice).")
    var slice: Int?

    @Option(help: "Slice plane of a volume: axial, coronal or sagittal.")
    var axis: VolumeSlicer.Axis = .axial

    func run() async throws {
        let image = try CommandFailure.wrap { try MedicalImageFile.read(contentsOf: URL(fileURLWithPath: file)) }
        let clip = try intensity.explicitStep()
            ?? image.window.flatMap { IntensityWindow(center: Float($0.center), width: Float($0.width)) }.map(PreprocessingStep.window)
            ?? intensity.modality(of: image).intensityStep
        let steps = (clip.map { [$0] } ?? []) + [.minMax(MinMaxScale())]
        let pipeline = PreprocessingPipeline(steps: steps)
        let picture: Image2D
        var sliceLabel = ""
        switch image.content {
        case .image(let flat):
            if slice != nil { throw CommandFailure("\(file): is a 2D image; --slice applies to volumes only") }
            picture = pipeline(flat)
        case .volume(let volume):
            let count = try CommandFailure.wrap { try volume.sliceCount(axis: axis) }
            let index = slice ?? count / 2
            guard (0..<count).contains(index) else {
                throw CommandFailure("--slice \(index) is outside the volume's \(count) \(axis.rawValue) slices (0…\(count - 1))")
            }
            picture = try CommandFailure.wrap { try pipeline.slice(index, of: volume, axis: axis) }
            sliceLabel = " (\(axis.rawValue) slice \(index) of \(count))"
        }
        let scaled = Image2D(width: picture.width, height: picture.height, channels: picture.channels,
                             pixels: picture.pixels.map { $0 * 255 })
        try CommandFailure.wrap { try PNGWriter.write(scaled, to: URL(fileURLWithPath: out)) }
        print("wrote \(out): \(picture.width) × \(picture.height)\(sliceLabel), \(pipeline.description)")
    }
}
