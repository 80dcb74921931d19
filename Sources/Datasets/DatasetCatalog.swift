import Foundation
import MedicalImaging

/// Which part of a split an item belongs to.
public enum SplitPart: String, CaseIterable, Codable, Sendable {
    case train, validation, test
}

/// What a dataset's labels mean.
public enum LabelSpace: Equatable, Sendable {
    /// One class per item; `labels` holds one value, the class index into `classes`.
    case multiClass(classes: [String])
    /// Any number of findings per item; `labels` holds one value per finding: 1 present, 0 absent,
    /// `Float.nan` unknown (e.g. CheXpert's uncertain labels under the ignore policy).
    case multiLabel(findings: [String])
    /// Per-pixel (or per-voxel) classes in a mask file; `classes[0]` is the background.
    case segmentation(classes: [String])

    /// The class or finding names.
    public var names: [String] {
        switch self {
        case .multiClass(let classes), .segmentation(let classes): classes
        case .multiLabel(let findings): findings
        }
    }

    /// Which of the three a label space is, by name (`multi_class`, `multi_label`, `segmentation`).
    public enum Kind: String, CaseIterable, Codable, Sendable {
        case multiClass = "multi_class"
        case multiLabel = "multi_label"
        case segmentation
    }

    /// The kind of this label space.
    public var kind: Kind {
        switch self {
        case .multiClass: .multiClass
        case .multiLabel: .multiLabel
        case .segmentation: .segmentation
        }
    }

    /// The label space of `kind` over `names`.
    public init(kind: Kind, names: [String]) {
        switch kind {
        case .multiClass: self = .multiClass(classes: names)
        case .multiLabel: self = .multiLabel(findings: names)
        case .segmentation: self = .segmentation(classes: names)
        }
    }
}

/// One image (or volume) of a dataset with its labels and the patient it belongs to.
///
/// `id` is unique within the dataset and stable across runs (a path relative to the dataset root, or
/// the dataset's own image id); splits and feature stores refer to items by it.
public struct DatasetItem: Equatable, Sendable {
    /// Stable unique id within the dataset.
    public let id: String
    /// The image file, or the folder of a DICOM series / a scan stored as slices.
    public let url: URL
    /// Label values, as `LabelSpace` describes (empty for segmentation items).
    public let labels: [Float]
    /// The patient the item belongs to: splits never put one patient on two sides.
    public let patient: String
    /// The part of the dataset's official split, when it publishes one.
    public let officialPart: SplitPart?
    /// Mask files (label maps) for segmentation items, in the order the dataset gives them
    /// (e.g. Montgomery's left and right lung).
    public let masks: [URL]

    /// The files to read for the item's image: the file itself; for a folder of PNG/JPEG slices (a
    /// scan stored as pictures) its visible slice files in name order; any other folder as itself
    /// (a DICOM series).
    public var imageFiles: [URL] {
        guard LayoutFiles.isFolder(url), let names = try? LayoutFiles.visibleNames(in: url) else { return [url] }
        let slices = names.filter(SARSCoV2CT.isSlice)
        return slices.isEmpty ? [url] : slices.map { url.appendingPathComponent($0) }
    }

    /// An item; `masks` and `officialPart` are optional.
    public init(id: String, url: URL, labels: [Float] = [], patient: String, officialPart: SplitPart? = nil, masks: [URL] = []) {
        self.id = id
        self.url = url
        self.labels = labels
        self.patient = patient
        self.officialPart = officialPart
        self.masks = masks
    }
}

/// A dataset as read from its published layout: its items, what their labels mean, the modality
/// that decides its preprocessing, and the problems met while reading the layout (an entry whose
/// file is missing is reported here, never silently dropped).
public struct DatasetCatalog: Sendable {
    /// The adapter's name, e.g. `nih-chestxray14`.
    public let name: String
    /// The modality deciding the clipping of the study's preprocessing (CT window for CT, also MSD
    /// Spleen; percentile clipping for MRI).
    public let modality: PreprocessingPipeline.Modality
    /// What `DatasetItem.labels` mean.
    public let labelSpace: LabelSpace
    /// The items, in a stable order (sorted by `id` unless the dataset defines an order).
    public let items: [DatasetItem]
    /// Problems found while reading the layout (missing files, malformed rows), each naming the file.
    public let problems: [ImagingError]
    /// Whether the items are volumes (3D scans embedded slice by slice), so that per-slice features
    /// are worth keeping beside the slice average.
    public let holdsVolumes: Bool

    /// A catalog.
    public init(name: String, modality: PreprocessingPipeline.Modality, labelSpace: LabelSpace, items: [DatasetItem],
                problems: [ImagingError] = [], holdsVolumes: Bool = false) {
        self.name = name
        self.modality = modality
        self.labelSpace = labelSpace
        self.items = items
        self.problems = problems
        self.holdsVolumes = holdsVolumes
    }

}

/// Reads one dataset's published layout under a root folder into a `DatasetCatalog`.
public protocol DatasetAdapter: Sendable {
    /// The name used on the command line, e.g. `nih-chestxray14`.
    var name: String { get }
    /// A one-line description for `radprobe datasets list`.
    var summary: String { get }
    /// The catalog of the dataset under `root`; throws when the layout itself is missing or unreadable
    /// (no index file), and reports per-item problems in `DatasetCatalog.problems`.
    func catalog(root: URL) throws -> DatasetCatalog
}
