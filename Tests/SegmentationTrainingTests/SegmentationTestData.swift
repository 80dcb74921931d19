import Datasets
import Foundation
import MedicalImaging
import Models
import Randomness
import SegmentationDecoders
import SegmentationTraining
import TensorCore
import TensorKernels
import TestSupport
import XCTest

/// Tiny synthetic segmentation datasets written to a temporary folder, and tiny backbones.
enum SegmentationTestData {
    /// A Montgomery-layout folder of `count` 56×56 grey radiographs, each a bright rectangle on a textured
    /// background; the left half of the rectangle is in `leftMask`, the right half in `rightMask` (0/255).
    static func writeMontgomery(count: Int, in root: URL, seed: UInt64 = 7) throws -> DatasetCatalog {
        let images = root.appendingPathComponent("CXR_png")
        let left = root.appendingPathComponent("ManualMask/leftMask"), right = root.appendingPathComponent("ManualMask/rightMask")
        for folder in [images, left, right] { try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true) }
        var generator = SeededGenerator(seed: seed)
        let side = 56
        for index in 0..<count {
            let height = 14 + generator.integer(below: 16), width = 14 + generator.integer(below: 16)
            let top = generator.integer(below: side - height), leftEdge = generator.integer(below: side - width)
            var pixels = [Float](repeating: 0, count: side * side)
            var leftMask = pixels, rightMask = pixels
            for y in 0..<side {
                for x in 0..<side {
                    let inside = (top..<top + height).contains(y) && (leftEdge..<leftEdge + width).contains(x)
                    pixels[y * side + x] = inside ? Float(170 + generator.integer(below: 60)) : Float(20 + generator.integer(below: 60))
                    if inside && x < leftEdge + width / 2 { leftMask[y * side + x] = 255 } else if inside { rightMask[y * side + x] = 255 }
                }
            }
            let name = String(format: "MCUCXR_%04d_0.png", index)
            try PNGWriter.write(Image2D(width: side, height: side, channels: 1, pixels: pixels), to: images.appendingPathComponent(name))
            try PNGWriter.write(Image2D(width: side, height: side, channels: 1, pixels: leftMask), to: left.appendingPathComponent(name))
            try PNGWriter.write(Image2D(width: side, height: side, channels: 1, pixels: rightMask), to: right.appendingPathComponent(name))
        }
        return try MontgomeryCounty().catalog(root: root)
    }

    /// An MSD-layout (`dataset.json`) CT folder of `count` volumes `[nx, ny, nz]` = 20×16×6 at spacing
    /// 0.75×0.875×2.5 mm with a translated affine whose i runs toward the right and j toward posterior (so
    /// axial display slices read i backwards), each holding a bright box labelled 1 and a dimmer box labelled 2. `editLabels` lets a test
    /// change a case's label map before it is written.
    static func writeDecathlon(count: Int, in root: URL, seed: UInt64 = 11,
                               editLabels: (Int, inout Volume) -> Void = { _, _ in }) throws -> DatasetCatalog {
        for folder in ["imagesTr", "labelsTr"] {
            try FileManager.default.createDirectory(at: root.appendingPathComponent(folder), withIntermediateDirectories: true)
        }
        var generator = SeededGenerator(seed: seed)
        var entries: [String] = []
        for index in 0..<count {
            let (image, labels) = volumePair(&generator)
            var labelVolume = labels
            editLabels(index, &labelVolume)
            let name = "case_\(index).nii.gz"
            try NIfTIWriter.write(image, to: root.appendingPathComponent("imagesTr/\(name)"), as: .int16)
            try NIfTIWriter.writeLabelMap(labelVolume, to: root.appendingPathComponent("labelsTr/\(name)"))
            entries.append("{\"image\": \"./imagesTr/\(name)\", \"label\": \"./labelsTr/\(name)\"}")
        }
        let json = """
        {"labels": {"0": "background", "1": "organ", "2": "lesion"}, "modality": {"0": "CT"},
         "training": [\(entries.joined(separator: ", "))]}
        """
        try Data(json.utf8).write(to: root.appendingPathComponent("dataset.json"))
        return try DecathlonDataset(name: "toy-ct", summary: "toy").catalog(root: root)
    }

    static let volumeSize = [20, 16, 6]
    static let volumeSpacing = [0.75, 0.875, 2.5]
    static let volumeAffine = AffineTransform(rowMajor: [0.75, 0, 0, -30, 0, -0.875, 0, 12, 0, 0, 2.5, -40, 0, 0, 0, 1])

    /// A CT volume (HU) and its label map.
    static func volumePair(_ generator: inout SeededGenerator) -> (Volume, Volume) {
        let (nx, ny, nz) = (volumeSize[0], volumeSize[1], volumeSize[2])
        var values = [Float](repeating: 0, count: nx * ny * nz), labels = values
        let x0 = 2 + generator.integer(below: 6), y0 = 2 + generator.integer(below: 4)
        for k in 0..<nz {
            for j in 0..<ny {
                for i in 0..<nx {
                    let index = (k * ny + j) * nx + i
                    var label: Float = 0
                    if (x0..<x0 + 8).contains(i) && (y0..<y0 + 6).contains(j) && (1..<5).contains(k) { label = 1 }
                    if (x0 + 9..<x0 + 12).contains(i) && (y0..<y0 + 4).contains(j) && (2..<4).contains(k) { label = 2 }
                    labels[index] = label
                    values[index] = Float(-900 + generator.integer(below: 100)) + (label == 1 ? 1200 : label == 2 ? 700 : 0)
                }
            }
        }
        let image = Volume(size: volumeSize, voxels: values, spacing: volumeSpacing, affine: volumeAffine, storedType: "int16")
        return (image, image.replacingVoxels(labels, storedType: "uint8"))
    }

    /// The items of `catalog` by part of a systematic split (validation and test fractions as given).
    static func parts(_ catalog: DatasetCatalog, validation: Double, test: Double) throws -> [SplitPart: [DatasetItem]] {
        let split = try DatasetSplit(catalog: catalog, method: .systematic(validation: validation, test: test))
        let byID = Dictionary(uniqueKeysWithValues: catalog.items.map { ($0.id, $0) })
        var parts: [SplitPart: [DatasetItem]] = [:]
        for assignment in split.assignments { parts[assignment.part, default: []].append(byID[assignment.id]!) }
        return parts
    }

    /// The tiny official-code ViT (D 64, 2 blocks, patch 7).
    static func tinyBackbone() throws -> VisionTransformer {
        try LoadedBackbone(contentsOf: Fixtures.url("backprop/plain/model.safetensors")).model
    }

    /// A random ViT with 5 blocks (D 32, patch 7), for the U-Net decoder: weights uniform in ±0.2, norm
    /// scales and LayerScale 1.
    static func fiveBlockBackbone() -> VisionTransformer {
        var model = VisionTransformer(configuration: VisionTransformerConfiguration(
            width: 32, depth: 5, heads: 2, patchSize: 7, positionGrid: 8, feedForward: .mlp(hidden: 64)))
        var filler = RandomFiller(generator: SeededGenerator(seed: 3))
        model.visitParameters(&filler, scope: ParameterScope())
        return model
    }

    private struct RandomFiller: ParameterVisitor {
        var generator: SeededGenerator
        mutating func visit(_ key: String, _ parameter: inout Tensor) {
            let isScale = (key.contains("norm") && key.hasSuffix("weight")) || key.hasSuffix("gamma")
            parameter = Tensor(shape: parameter.shape, values: (0..<parameter.count).map { _ in
                isScale ? 1 : Float(generator.uniform(in: -0.2...0.2))
            })
        }
    }
}
