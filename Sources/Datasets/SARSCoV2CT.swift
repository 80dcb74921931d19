import Foundation
import MedicalImaging

/// Reads the SARS-CoV-2 CT-scan sets of Soares et al. from their class folders under a root.
///
/// Class folders (names matched without regard to case): `COVID` → class 1 `COVID`; `non-COVID`,
/// `Healthy` and `Others` → class 0 `non-COVID` (`Healthy` and `Others` are the 2022 multiclass
/// release's non-COVID patients, which the DINOv2 radiology study counted as negative). Within a class
/// folder each entry is one item (`labels` `[class]`, no official split, sorted by id `<folder>/<entry>`):
/// - a subfolder is one patient's scan, a stack of PNG (or JPEG) slices (the 2022 release, 210 patients):
///   `url` is that folder, `patient` its id, e.g. `Covid/12`;
/// - a PNG or JPEG file lying directly in the class folder (the 2020 release, 2482 slices) is its own
///   item; that release records no patient for a slice, so each slice is its own patient (splits can then
///   put slices of one patient on both sides, which the data cannot prevent).
///
/// A scan folder without slices or another kind of file in a class folder is reported in `problems` and
/// left out; hidden entries are skipped. A missing root, or a root with none of the class folders, throws.
///
/// Modality `.other`: the slices are 8-bit greyscale renderings of CT already shown through a display
/// window, not Hounsfield units, so the CT window [−1024, 600] HU would not mean anything on them
/// (nor did the study clip them).
public struct SARSCoV2CT: DatasetAdapter {
    public let name = "sars-cov-2-ct"
    public let summary = "SARS-CoV-2 CT scans (Soares et al.): COVID and non-COVID slices or per-patient PNG scans"

    /// The classes, in label order.
    public static let classes = ["non-COVID", "COVID"]
    /// The class index of each class folder name, lowercased.
    static let classOfFolder = ["non-covid": 0, "healthy": 0, "others": 0, "covid": 1]
    /// The file extensions of slice images, lowercased.
    static let sliceExtensions: Set = ["png", "jpg", "jpeg"]

    /// The adapter.
    public init() {}

    public func catalog(root: URL) throws -> DatasetCatalog {
        try LayoutFiles.requireFolder(root)
        let classFolders = try LayoutFiles.visibleNames(in: root).compactMap { name -> (name: String, label: Int)? in
            guard let label = Self.classOfFolder[name.lowercased()], LayoutFiles.isFolder(root.appendingPathComponent(name)) else {
                return nil
            }
            return (name, label)
        }
        guard !classFolders.isEmpty else {
            throw ImagingError(file: root.path,
                               problem: "holds none of the class folders COVID and non-COVID (or Covid, Healthy and Others)")
        }
        var items: [DatasetItem] = [], problems: [ImagingError] = []
        for folder in classFolders {
            let folderURL = root.appendingPathComponent(folder.name)
            for entry in try LayoutFiles.visibleNames(in: folderURL) {
                let url = folderURL.appendingPathComponent(entry)
                if let problem = scanProblem(url) {
                    problems.append(ImagingError(file: url.path, problem: problem))
                    continue
                }
                let id = "\(folder.name)/\(entry)"
                items.append(DatasetItem(id: id, url: url, labels: [Float(folder.label)], patient: id))
            }
        }
        return DatasetCatalog(name: name, modality: .other, labelSpace: .multiClass(classes: Self.classes),
                              items: items.sorted { $0.id.precedesByBytes($1.id) }, problems: problems, holdsVolumes: true)
    }

    /// Why the class-folder entry `url` is not a scan (a folder of slices, or one slice image), or nil when it is.
    func scanProblem(_ url: URL) -> String? {
        guard LayoutFiles.isFolder(url) else {
            return Self.isSlice(url.lastPathComponent) ? nil : "is neither a scan folder nor a PNG or JPEG slice; left out"
        }
        do {
            let hasSlices = try LayoutFiles.visibleNames(in: url).contains(where: Self.isSlice)
            return hasSlices ? nil : "is a scan folder without PNG or JPEG slices; left out"
        } catch {
            return "is a scan folder that cannot be listed (\(error)); left out"
        }
    }

    static func isSlice(_ name: String) -> Bool {
        sliceExtensions.contains((name as NSString).pathExtension.lowercased())
    }
}
