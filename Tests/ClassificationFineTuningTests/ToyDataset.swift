import Datasets
import Foundation
import MedicalImaging
import Models
import Randomness
import TestSupport
import XCTest

/// A tiny 2D dataset for fine-tuning tests, written as PNGs with a manifest: `count` noisy 28×28 grey images
/// whose top half (class `top`) or bottom half (class `bottom`) is brighter by `contrast`, one patient each, and a
/// stratified split (half train, a quarter validation, a quarter test).
struct ToyDataset {
    let catalog: DatasetCatalog
    let split: DatasetSplit
    let folder: URL

    init(in folder: URL, count: Int = 24, contrast: Float = 120, seed: UInt64 = 3) throws {
        var generator = SeededGenerator(seed: seed)
        var rows = ["path,label,patient"]
        for index in 0..<count {
            let top = index % 2 == 0
            let pixels = (0..<28 * 28).map { pixel -> Float in
                let inTop = pixel < 14 * 28
                return Float(generator.uniform(in: 0...60)) + (inTop == top ? contrast : 0)
            }
            let name = "i\(index).png"
            try PNGWriter.write(Image2D(width: 28, height: 28, channels: 1, pixels: pixels), to: folder.appendingPathComponent(name))
            rows.append("\(name),\(top ? "top" : "bottom"),P\(index)")
        }
        try Data(rows.joined(separator: "\n").utf8).write(to: folder.appendingPathComponent("manifest.csv"))
        catalog = try ManifestDataset().catalog(root: folder)
        split = try DatasetSplit(catalog: catalog, method: .stratified(seed: 1, validation: 0.25, test: 0.25))
        self.folder = folder
    }

    /// The tiny official-code model of the backprop fixtures (64 wide, 2 blocks, patch 7), read with its 2 heads.
    static func backbone() throws -> VisionTransformer {
        try LoadedBackbone(contentsOf: Fixtures.url("backprop/plain/model.safetensors")).model.withHeads(2)
    }
}
