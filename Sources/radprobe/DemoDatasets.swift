import Datasets
import FileAccess
import Foundation
import MedicalImaging

/// Runs of neighbouring slice positions ("blocks"), each going whole to one split part, with the first
/// `length − kept` slices of every block left out so that the slices of two parts are never neighbours
/// (at least `length − kept + 1` slices apart).
struct SliceBlocks: Sendable {
    /// Slice positions per block.
    let length: Int
    /// The last `kept` positions of each block are used.
    let kept: Int

    /// The parts of blocks 0, 1, 2, … in turn: train, test, train, validation, train, test, …
    static let partCycle: [SplitPart] = [.train, .test, .train, .validation]

    /// The used positions of block `block` counted from `start`.
    func positions(ofBlock block: Int, from start: Int) -> Range<Int> {
        let end = start + (block + 1) * length
        return end - kept..<end
    }

    static func part(ofBlock block: Int) -> SplitPart { partCycle[block % partCycle.count] }
}

/// The demo's data, derived from a T1 MRI and its voxel-aligned AAL atlas (label 37 = left hippocampus,
/// 38 = right hippocampus):
///
/// - Classification (`<data>/slices/manifest.csv`, a `manifest` dataset): axial and coronal slices as 16-bit
///   PNGs (the volume's range scaled to 0…65535, radiological orientation as `VolumeSlicer` cuts them),
///   labelled `hippocampus` when the atlas puts a hippocampus voxel in the slice and `no-hippocampus` when
///   not. Per orientation the positive slices are covered by whole blocks and `negativeBlocks` blocks
///   are added on each side, so the classes are about balanced; the `split` column gives each block's part
///   (`SliceBlocks.partCycle`) and `patient` names the block.
/// - Segmentation (`<data>/hippocampus`, the Decathlon layout `msd-hippocampus` reads): the axial slices
///   through the hippocampi, cropped to their bounding box plus `margin` voxels in-plane, cut into blocks;
///   each block's kept slices are one case (a NIfTI volume keeping the source's geometry) with a label
///   map 0 background, 1 left, 2 right hippocampus. The experiment splits the cases systematically.
struct DemoDatasets {
    static let leftHippocampus: Float = 37
    static let rightHippocampus: Float = 38
    static let segmentationClasses = ["background", "hippocampus_left", "hippocampus_right"]
    /// In-plane voxels added around the hippocampi's bounding box.
    static let margin = 8

    let t1: Volume
    let atlas: Volume
    let classificationBlocks: SliceBlocks
    /// Blocks without hippocampus added before and after the hippocampus on each slice axis.
    let negativeBlocks: Int
    let segmentationBlocks: SliceBlocks

    /// Reads the volumes; throws naming the file when one is not a volume, when their sizes differ or when
    /// the atlas has no hippocampus.
    init(mri: URL, atlas atlasURL: URL, classificationBlocks: SliceBlocks, negativeBlocks: Int, segmentationBlocks: SliceBlocks) throws {
        t1 = try Self.volume(mri)
        atlas = try Self.volume(atlasURL)
        guard t1.size == atlas.size else {
            throw CommandFailure("the atlas \(atlasURL.path) is \(Self.describe(atlas.size)) voxels but the MRI \(mri.path) is "
                + "\(Self.describe(t1.size)); they must be voxel-aligned")
        }
        guard atlas.voxels.contains(where: Self.isHippocampus) else {
            throw CommandFailure("the atlas \(atlasURL.path) has no hippocampus voxel (AAL labels 37 and 38)")
        }
        self.classificationBlocks = classificationBlocks
        self.negativeBlocks = negativeBlocks
        self.segmentationBlocks = segmentationBlocks
    }

    static func isHippocampus(_ label: Float) -> Bool { label == leftHippocampus || label == rightHippocampus }

    /// What `writeClassification` wrote: items per part and per class.
    struct ClassificationCounts {
        var parts: [SplitPart: Int] = [:]
        var positives = 0
        var total = 0
    }

    /// Writes the slice classification dataset into `folder` (see the type); returns the manifest.
    func writeClassification(into folder: URL) throws -> (manifest: URL, counts: ClassificationCounts) {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let low = t1.voxels.min() ?? 0, high = t1.voxels.max() ?? 1
        let scale = high > low ? 65535 / (high - low) : 0
        var rows = ["path,label,patient,split"], counts = ClassificationCounts()
        for axis in [VolumeSlicer.Axis.axial, .coronal] {
            let count = try t1.sliceCount(axis: axis)
            let present = try (0..<count).map { try atlas.slice($0, axis: axis).pixels.contains(where: Self.isHippocampus) }
            guard let first = present.firstIndex(of: true), let last = present.lastIndex(of: true) else { continue }
            let positiveBlocks = (last - first + classificationBlocks.length) / classificationBlocks.length
            let start = first - negativeBlocks * classificationBlocks.length
            for block in 0..<(positiveBlocks + 2 * negativeBlocks) {
                let part = SliceBlocks.part(ofBlock: block)
                for position in classificationBlocks.positions(ofBlock: block, from: start) where present.indices.contains(position) {
                    var image = try t1.slice(position, axis: axis)
                    image.pixels = image.pixels.map { ($0 - low) * scale }
                    let name = axis.rawValue + String(format: "_%03d.png", position)
                    try PNGWriter.write(image, to: folder.appendingPathComponent(name), depth: .sixteen)
                    rows.append("\(name),\(present[position] ? "hippocampus" : "no-hippocampus"),\(axis.rawValue)-block\(block),\(part.rawValue)")
                    counts.parts[part, default: 0] += 1
                    counts.positives += present[position] ? 1 : 0
                    counts.total += 1
                }
            }
        }
        let manifest = folder.appendingPathComponent(ManifestDataset.fileName)
        try AtomicFile.write(Data((rows.joined(separator: "\n") + "\n").utf8), to: manifest)
        return (manifest, counts)
    }

    /// Writes the hippocampus segmentation dataset into `folder` (see the type); returns the case count.
    func writeSegmentation(into folder: URL) throws -> Int {
        let directions = t1.affine.axisDirections
        guard directions[2].axis == 2 else {
            throw CommandFailure("\(t1.source?.path ?? "the MRI") has axis codes \(t1.affine.axisCodes); the demo cuts axial slices "
                + "along the third voxel axis, which must run inferior–superior")
        }
        let (nx, ny) = (t1.size[0], t1.size[1])
        var lower = [Int.max, Int.max, Int.max], upper = [Int.min, Int.min, Int.min]
        for (index, label) in atlas.voxels.prefix(atlas.voxelsPerFrame).enumerated() where Self.isHippocampus(label) {
            let coordinates = [index % nx, (index / nx) % ny, index / (nx * ny)]
            for axis in 0..<3 { lower[axis] = min(lower[axis], coordinates[axis]); upper[axis] = max(upper[axis], coordinates[axis]) }
        }
        let i0 = max(lower[0] - Self.margin, 0), i1 = min(upper[0] + Self.margin, nx - 1)
        let j0 = max(lower[1] - Self.margin, 0), j1 = min(upper[1] + Self.margin, ny - 1)
        for sub in ["imagesTr", "labelsTr"] {
            try FileManager.default.createDirectory(at: folder.appendingPathComponent(sub), withIntermediateDirectories: true)
        }
        let blocks = (upper[2] - lower[2] + segmentationBlocks.length) / segmentationBlocks.length
        var entries: [String] = []
        for block in 0..<blocks {
            let slices = segmentationBlocks.positions(ofBlock: block, from: lower[2]).clamped(to: lower[2]..<upper[2] + 1)
            guard !slices.isEmpty else { continue }
            var image: [Float] = [], labels: [Float] = []
            for k in slices {
                for j in j0...j1 {
                    for i in i0...i1 {
                        image.append(t1[i, j, k])
                        let label = atlas[i, j, k]
                        labels.append(label == Self.leftHippocampus ? 1 : label == Self.rightHippocampus ? 2 : 0)
                    }
                }
            }
            let origin = t1.affine.apply(Double(i0), Double(j0), Double(slices.lowerBound))
            var matrix = t1.affine.matrix
            (matrix[3], matrix[7], matrix[11]) = (origin.x, origin.y, origin.z)
            let crop = Volume(size: [i1 - i0 + 1, j1 - j0 + 1, slices.count], voxels: image, spacing: t1.spacing,
                              affine: AffineTransform(rowMajor: matrix))
            let name = String(format: "hippocampus_%02d.nii.gz", block)
            try NIfTIWriter.write(crop, to: folder.appendingPathComponent("imagesTr/\(name)"))
            try NIfTIWriter.writeLabelMap(crop.replacingVoxels(labels, storedType: "uint8"), to: folder.appendingPathComponent("labelsTr/\(name)"))
            entries.append("{\"image\": \"./imagesTr/\(name)\", \"label\": \"./labelsTr/\(name)\"}")
        }
        let classes = Self.segmentationClasses.enumerated().map { "\"\($0.offset)\": \"\($0.element)\"" }.joined(separator: ", ")
        let json = """
        {"name": "hippocampus from a T1 MRI and its AAL atlas", "labels": {\(classes)}, "modality": {"0": "MRI"},
         "training": [\(entries.joined(separator: ",\n  "))]}

        """
        try AtomicFile.write(Data(json.utf8), to: folder.appendingPathComponent("dataset.json"))
        return entries.count
    }

    static func volume(_ url: URL) throws -> Volume {
        let file = try CommandFailure.wrap { try MedicalImageFile.read(contentsOf: url) }
        guard case .volume(let volume) = file.content else { throw CommandFailure("\(url.path) is a 2D image, not a volume") }
        return volume.frames > 1 ? volume.frame(0) : volume
    }

    static func describe(_ size: [Int]) -> String { size.map(String.init).joined(separator: "×") }
}
