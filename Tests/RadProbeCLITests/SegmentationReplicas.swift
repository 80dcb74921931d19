import Foundation
import MedicalImaging
import XCTest

/// Tiny replicas of the published layouts of segmentation datasets, written by the command tests.
enum SegmentationReplicas {
    /// A Montgomery-layout folder of `count` 28×28 radiographs: a bright rectangle on a ramp, whose left and
    /// right halves are the two lung masks (position and height vary with the index).
    static func writeMontgomery(count: Int, in root: URL) throws {
        let images = root.appendingPathComponent("CXR_png")
        let masks = ["leftMask", "rightMask"].map { root.appendingPathComponent("ManualMask/\($0)") }
        for folder in [images] + masks { try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true) }
        for index in 0..<count {
            let top = 2 + (index * 3) % 10, left = 3 + (index * 7) % 9, height = 10 + index % 5, width = 12
            var pixels = (0..<784).map { Float(10 + ($0 % 28) * 2) }
            var halves = [[Float](repeating: 0, count: 784), [Float](repeating: 0, count: 784)]
            for y in top..<top + height { for x in left..<left + width { pixels[y * 28 + x] = 200 + Float(y); halves[x < left + 6 ? 0 : 1][y * 28 + x] = 255 } }
            let name = "MCUCXR_\(2000 + index)_1.png"
            try PNGWriter.write(Image2D(width: 28, height: 28, channels: 1, pixels: pixels), to: images.appendingPathComponent(name))
            for (mask, values) in zip(masks, halves) {
                try PNGWriter.write(Image2D(width: 28, height: 28, channels: 1, pixels: values), to: mask.appendingPathComponent(name))
            }
        }
    }

    /// The affine of the Spleen replica's volumes (i flipped, 1.5 mm in j, 2 mm in k).
    static let spleenAffine = AffineTransform(rowMajor: [-1, 0, 0, 8, 0, 1.5, 0, -4, 0, 0, 2, 1, 0, 0, 0, 1])
    /// The voxel grid of the Spleen replica's volumes.
    static let spleenSize = [16, 12, 5]

    /// An MSD Spleen-layout folder of 4 CT volumes 16×12×5 whose organ moves from slice to slice (so a slice
    /// order mixed up anywhere changes the training); case `badCase` (if any) holds the out-of-range label 5.
    static func writeSpleen(in root: URL, badCase: Int? = nil) throws {
        for folder in ["imagesTr", "labelsTr"] {
            try FileManager.default.createDirectory(at: root.appendingPathComponent(folder), withIntermediateDirectories: true)
        }
        var entries: [String] = []
        for index in 0..<4 {
            let name = "spleen_\(index).nii.gz"
            let labels = (0..<(16 * 12 * 5)).map { voxel -> Float in
                let (i, j, k) = (voxel % 16, (voxel / 16) % 12, voxel / 192)
                if voxel == 100 && index == badCase { return 5 }
                return (k + index..<k + index + 7).contains(i) && (2 + k..<8 + k).contains(j) ? 1 : 0
            }
            let voxels = labels.enumerated().map { $1 * 400 - 200 + Float(($0 * 7) % 50) }
            let image = Volume(size: spleenSize, voxels: voxels, spacing: [1, 1.5, 2], affine: spleenAffine)
            try NIfTIWriter.write(image, to: root.appendingPathComponent("imagesTr/\(name)"), as: .int16)
            try NIfTIWriter.writeLabelMap(image.replacingVoxels(labels, storedType: "uint8"), to: root.appendingPathComponent("labelsTr/\(name)"))
            entries.append("{\"image\": \"./imagesTr/\(name)\", \"label\": \"./labelsTr/\(name)\"}")
        }
        try Data("{\"labels\": {\"0\": \"background\", \"1\": \"spleen\"}, \"modality\": {\"0\": \"CT\"}, \"training\": [\(entries.joined(separator: ","))]}".utf8)
            .write(to: root.appendingPathComponent("dataset.json"))
    }
}

extension XCTestCase {
    /// `radprobe datasets split DATASET --method systematic` of the replica in `root` (validation and test fractions
    /// 0.25 each unless given), written as `root/split.csv`.
    func systematicSplit(_ dataset: String, root: URL, validation: String = "0.25", test: String = "0.25") throws -> URL {
        let split = root.appendingPathComponent("split.csv")
        try radprobeSucceeds(["datasets", "split", dataset, "--root", root.path, "--out", split.path, "--method", "systematic",
                              "--validation", validation, "--test", test])
        return split
    }
}
