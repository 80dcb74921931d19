import Convolution
import Datasets
import Foundation
import MedicalImaging
import Metrics

/// Reads a dataset item and its masks into a `SegmentationCase` through the study's preprocessing.
///
/// Masks: one mask file holds the labels themselves (whole numbers in `0..<K`); several mask files (as
/// Montgomery's left and right lung) are binary, any non-zero value marking the foreground, and are merged:
/// all into class 1 when the dataset has one foreground class (`K = 2`), else file `m` into class `m + 1`
/// (later files win where masks overlap). A 2D mask must have its image's width and height; a volume's
/// label map its size and spacing (within 1e-3 mm). Axial slices of the mask are cut with the image's
/// geometry and resized to the input size with nearest-neighbour sampling. Every violation is an error
/// naming the mask file (and, for a label out of range, the value and the voxel).
///
/// The model inputs are `PreprocessingPipeline.images(of:)` of the file's content, the very call
/// `radprobe extract` makes, so a feature store's per-slice grids line up with the case's slices: a
/// volume's axial slices of frame 0 in `VolumeSlicer`'s order, its intensity clipping computed over the
/// whole file (every frame of a multi-frame volume). Masks are cut from frame 0's geometry.
public struct SegmentationCaseReader: Sendable {
    /// The class names, background first (`K` = their count).
    public let classes: [String]
    /// The preprocessing (`PreprocessingPipeline.study(size:modality:)`).
    public let pipeline: PreprocessingPipeline

    public init(classes: [String], pipeline: PreprocessingPipeline) throws {
        guard classes.count >= 2 else {
            throw SegmentationTrainingError("a segmentation needs the background and at least one class, got \(classes)")
        }
        self.classes = classes
        self.pipeline = pipeline
    }

    /// The case of `item`.
    public func read(_ item: DatasetItem) throws -> SegmentationCase {
        guard !item.masks.isEmpty else { throw ImagingError(file: item.url.path, problem: "has no mask file (item \(item.id))") }
        let content = try MedicalImageFile.read(contentsOf: item.url).content
        let inputs = try pipeline.images(of: content)
        switch content {
        case .image(let image): return try imageCase(item, image: image, inputs: inputs)
        case .volume(let volume): return try volumeCase(item, volume: volume.frames > 1 ? volume.frame(0) : volume, inputs: inputs)
        }
    }

    private func imageCase(_ item: DatasetItem, image: Image2D, inputs: [Image2D]) throws -> SegmentationCase {
        var labels = [Int32](repeating: 0, count: image.width * image.height)
        for (position, url) in item.masks.enumerated() {
            guard case .image(let mask) = try MedicalImageFile.read(contentsOf: url).content else {
                throw ImagingError(file: url.path, problem: "is a volume, but its image \(item.url.path) is 2D")
            }
            guard mask.width == image.width, mask.height == image.height else {
                throw ImagingError(file: url.path, problem: "is \(mask.width)×\(mask.height) but its image \(item.url.path) is \(image.width)×\(image.height)")
            }
            guard mask.channels == 1 else { throw ImagingError(file: url.path, problem: "is a colour image; a mask must be grey") }
            try merge(mask.pixels, file: url, position: position, of: item.masks.count, shape: [image.height, image.width], into: &labels)
        }
        let maskImage = Image2D(width: image.width, height: image.height, channels: 1, pixels: labels.map(Float.init))
        let spacing = image.pixelSpacing ?? [1, 1]
        return SegmentationCase(id: item.id, inputs: inputs, inputLabels: [inputLabels(of: maskImage)],
                                sliceSize: Size2D(height: image.height, width: image.width),
                                truth: try LabelMap(shape: [image.height, image.width], labels: labels), spacing: spacing,
                                geometry: .image(source: item.url))
    }

    private func volumeCase(_ item: DatasetItem, volume: Volume, inputs: [Image2D]) throws -> SegmentationCase {
        var labels = [Int32](repeating: 0, count: volume.voxelsPerFrame)
        for (position, url) in item.masks.enumerated() {
            guard case .volume(let mask) = try MedicalImageFile.read(contentsOf: url).content else {
                throw ImagingError(file: url.path, problem: "is a 2D image, but its image \(item.url.path) is a volume")
            }
            guard mask.size == volume.size else {
                throw ImagingError(file: url.path, problem: "is \(Self.describe(mask.size)) voxels but its image \(item.url.path) is \(Self.describe(volume.size))")
            }
            guard zip(mask.spacing, volume.spacing).allSatisfy({ abs($0 - $1) <= 1e-3 }) else {
                throw ImagingError(file: url.path, problem: "has voxel spacing \(mask.spacing) mm but its image \(item.url.path) has \(volume.spacing) mm")
            }
            try merge(Array(mask.voxels.prefix(mask.voxelsPerFrame)), file: url, position: position, of: item.masks.count,
                      shape: volume.size.reversed(), into: &labels)
        }
        let maskVolume = Volume(size: volume.size, voxels: labels.map(Float.init), spacing: volume.spacing, affine: volume.affine,
                                source: item.masks[0])
        let maskSlices = try VolumeSlicer(axis: .axial).slices(of: maskVolume)
        let first = maskSlices[0]
        return SegmentationCase(id: item.id, inputs: inputs, inputLabels: maskSlices.map(inputLabels(of:)),
                                sliceSize: Size2D(height: first.height, width: first.width),
                                truth: try LabelMap(shape: volume.size.reversed(), labels: labels), spacing: volume.spacing.reversed(),
                                geometry: .volume(size: volume.size, spacing: volume.spacing, affine: volume.affine,
                                                  placement: try SlicePlacement(size: volume.size, spacing: volume.spacing, affine: volume.affine)))
    }

    /// Adds mask file `position` (of `count`) to `labels` under the rule in the type's documentation.
    private func merge(_ values: [Float], file: URL, position: Int, of count: Int, shape: [Int], into labels: inout [Int32]) throws {
        let k = classes.count
        if count == 1 {
            for (index, value) in values.enumerated() {
                guard value.rounded(.towardZero) == value, value >= 0, value < Float(k) else {
                    throw ImagingError(file: file.path, problem: "holds label \(Self.describe(value)) at \(Self.place(index, shape)); "
                        + "the classes are 0…\(k - 1) (\(classes.joined(separator: ", ")))")
                }
                labels[index] = Int32(value)
            }
            return
        }
        guard k == 2 || count == k - 1 else {
            throw ImagingError(file: file.path, problem: "is one of \(count) binary masks, but the dataset has \(k - 1) foreground classes")
        }
        let label = Int32(k == 2 ? 1 : position + 1)
        for (index, value) in values.enumerated() where value != 0 {
            guard value.isFinite else { throw ImagingError(file: file.path, problem: "holds \(value) at \(Self.place(index, shape))") }
            labels[index] = label
        }
    }

    /// A mask slice at the model's input size (nearest neighbour), as labels.
    private func inputLabels(of mask: Image2D) -> [Int32] { pipeline.mask(mask).pixels.map { Int32($0) } }

    /// `(a, b, c)` of C-order `index` in `shape` (slowest axis first); for a volume, `(i, j, k)` voxel order.
    static func place(_ index: Int, _ shape: [Int]) -> String {
        var rest = index
        var coordinates = [Int](repeating: 0, count: shape.count)
        for axis in shape.indices.reversed() {
            coordinates[axis] = rest % shape[axis]
            rest /= shape[axis]
        }
        let ordered = shape.count == 3 ? Array(coordinates.reversed()) : coordinates
        return (shape.count == 3 ? "voxel (i, j, k) = " : "pixel (row, column) = ") + "(" + ordered.map(String.init).joined(separator: ", ") + ")"
    }

    static func describe(_ size: [Int]) -> String { size.map(String.init).joined(separator: "×") }

    static func describe(_ value: Float) -> String {
        value.rounded(.towardZero) == value && abs(value) < 1e9 ? String(Int(value)) : "\(value)"
    }
}
