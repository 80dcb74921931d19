import Foundation
import MedicalImaging

/// The Montgomery County chest X-ray set (Jaeger et al. 2014): 138 radiographs with manual lung masks.
///
/// Layout under the root: `CXR_png/MCUCXR_NNNN_Y.png` (Y is 0 for normal, 1 for tuberculosis) and
/// the binary masks of the same file name in `ManualMask/leftMask/` and `ManualMask/rightMask/`.
/// Segmentation classes are `[background, lung]`; each item's `masks` are `[left, right]`, matched by
/// file name (a consumer merges them into one lung mask). The item id is the file name without
/// `.png` (`MCUCXR_0001_0`), which is also the patient (one image per patient). No official split.
/// An image without both masks is a problem and gives no item.
public struct MontgomeryCounty: DatasetAdapter {
    /// The segmentation classes, background first.
    public static let classes = ["background", "lung"]
    /// The mask folders under `ManualMask/`, in the order of `DatasetItem.masks`.
    public static let maskFolders = ["leftMask", "rightMask"]

    public let name = "montgomery"
    public let summary = "Montgomery County: chest radiographs with left and right lung masks (segmentation)"

    /// The adapter.
    public init() {}

    public func catalog(root: URL) throws -> DatasetCatalog {
        let imageFolder = root.appendingPathComponent("CXR_png")
        let maskFolders = Self.maskFolders.map { root.appendingPathComponent("ManualMask").appendingPathComponent($0) }
        try LayoutFiles.requireFolder(root)
        for folder in [imageFolder] + maskFolders { try LayoutFiles.requireFolder(folder) }
        var items: [DatasetItem] = []
        var problems: [ImagingError] = []
        for fileName in try LayoutFiles.visibleNames(in: imageFolder) where fileName.lowercased().hasSuffix(".png") {
            let masks = maskFolders.map { $0.appendingPathComponent(fileName) }
            let missing = masks.filter { !LayoutFiles.isFile($0) }
            guard missing.isEmpty else {
                problems += missing.map { ImagingError(file: $0.path, problem: "is missing: the lung mask of \(imageFolder.appendingPathComponent(fileName).path)") }
                continue
            }
            let id = String(fileName.dropLast(".png".count))
            items.append(DatasetItem(id: id, url: imageFolder.appendingPathComponent(fileName), patient: id, masks: masks))
        }
        return DatasetCatalog(name: name, modality: .xray, labelSpace: .segmentation(classes: Self.classes),
                              items: items.sorted { $0.id.precedesByBytes($1.id) }, problems: problems)
    }
}
