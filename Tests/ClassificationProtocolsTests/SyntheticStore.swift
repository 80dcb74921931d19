import Datasets
import Evaluation
import Foundation
import Randomness
import TensorCore
import TestSupport
import XCTest

/// Feature stores of synthetic, class-dependent features with a stratified split of their items.
enum SyntheticStore {
    /// A store of `patients × 2` items (2 blocks × `width`, class tokens and patch means): class `c`'s
    /// features are centred on `separation · e_c` plus uniform noise; multi-label items carry finding `f`
    /// when bit `f` of their class is set, with one unknown (NaN) entry. Item 5 is skipped (unreadable).
    static func write(at url: URL, space: LabelSpace, patients: Int = 40, width: Int = 6, separation: Float = 1.5,
                      seed: UInt64 = 1) throws -> FeatureStore {
        var rng = SeededGenerator(seed: seed)
        let classes = 3
        var items: [FeatureStoreItem] = [], rows: [FeatureRow] = []
        for n in 0..<(patients * 2) {
            let patient = n / 2, label = (patient * 7 + n % 2 * (patient % 5 == 0 ? 1 : 0)) % classes
            let id = String(format: "img%03d.png", n)
            let labels: [Float]
            switch space {
            case .multiClass: labels = [Float(label)]
            default: labels = (0..<2).map { ($0 == 1 && n == 8) ? .nan : Float((label + 1) >> $0 & 1) }
            }
            items.append(FeatureStoreItem(id: id, patient: String(format: "P%02d", patient), labels: labels, officialPart: nil))
            let values = { (offset: Int) in
                (0..<(2 * width)).map { Float(rng.uniform(in: -1...1)) + ($0 % width == (label + offset) % width ? separation : 0) }
            }
            rows.append(FeatureRow(id: id, features: ["cls": values(0), "patch_mean": values(3)]))
        }
        let key = try FeatureStoreKey(checkpointSHA256: String(repeating: "ab", count: 32), preprocessing: "minmax > grey3 > resize[28,square,bilinear-aa] > imagenet",
                                      inputSize: 28, lastBlocks: 2, normed: true, patchTokens: .mean)
        let plan = try FeatureStorePlan(key: key, dataset: "synthetic", labelSpace: space, items: items,
                                        features: [FeatureSpec(name: "cls", itemShape: [2, width]), FeatureSpec(name: "patch_mean", itemShape: [2, width])],
                                        chunkSize: 16, radProbeVersion: "0.1.0")
        let writer = try FeatureStoreWriter(at: url, plan: plan)
        for chunk in 0..<plan.chunkCount {
            let range = plan.itemRange(ofChunk: chunk)
            try writer.write(chunk: chunk, rows: range.filter { $0 != 5 }.map { rows[$0] },
                             skipped: range.contains(5) ? [SkippedItem(id: items[5].id, error: "unreadable")] : [])
        }
        return try writer.finish()
    }

    /// A stratified patient-level split (seed 3, 20 % validation, 30 % test) of the store's items, written to `url`.
    static func split(of store: FeatureStore, at url: URL) throws -> DatasetSplit {
        let split = try DatasetSplit(catalog: store.catalog, method: .stratified(seed: 3, validation: 0.2, test: 0.3))
        try SplitFile.write(split, to: url)
        return split
    }
}
