import Foundation
import MedicalImaging

/// Reads the figshare brain-tumour MRI set (Cheng et al.; 3064 T1-weighted contrast-enhanced slices of
/// 233 patients): the files `1.mat` … `3064.mat` (MATLAB v7.3, read with `BrainTumourMAT`) anywhere
/// under the root, e.g. in the published archive's `brainTumorDataPublic_1-766` … folders. `cvind.mat`
/// (the authors' cross-validation indices) is not an image and is skipped, as are hidden files.
///
/// Items: id the file name without `.mat` (the dataset's image number, e.g. `17`), in numeric order;
/// `labels` `[label − 1]` over the classes meningioma, glioma and pituitary (the file's `label` 1…3);
/// `patient` the file's `PID` (trimmed); `masks` the `.mat` file itself, which holds the tumour mask
/// (`cjdata/tumorMask`, read with `BrainTumourMAT`); no official split. Modality `.mri`.
///
/// Every file is opened to read its label and patient, so building the catalog reads the whole set.
/// A file that cannot be read (the reader's error), a file with an empty `PID`, and a second file with
/// an id already taken are reported in `problems` and left out. A missing root, or one holding no
/// `.mat` file, throws.
public struct BrainTumourFigshare: DatasetAdapter {
    public let name = "brain-tumour"
    public let summary = "Figshare brain-tumour MRI slices (Cheng et al.): meningioma, glioma, pituitary"

    /// Characters trimmed off a `PID`: white space and NUL padding.
    static let paddingCharacters = CharacterSet.whitespacesAndNewlines.union(CharacterSet(charactersIn: "\0"))

    /// The adapter.
    public init() {}

    public func catalog(root: URL) throws -> DatasetCatalog {
        try LayoutFiles.requireFolder(root)
        let files = imageFiles(under: root)
        guard !files.isEmpty else {
            throw ImagingError(file: root.path,
                               problem: "holds no .mat files; expected 1.mat … 3064.mat of the figshare brain-tumour set")
        }
        var items: [String: DatasetItem] = [:], problems: [ImagingError] = [], seen: [String: URL] = [:]
        for url in files {
            let id = url.deletingPathExtension().lastPathComponent
            if let earlier = seen[id] {
                problems.append(ImagingError(file: url.path, problem: "has the id \(id) of \(earlier.path) too; left out"))
                continue
            }
            seen[id] = url
            let file: BrainTumourMAT
            do {
                file = try BrainTumourMAT.read(contentsOf: url)
            } catch {
                problems.append(error as? ImagingError ?? ImagingError(file: url.path, problem: "cannot be read (\(error))"))
                continue
            }
            let patient = file.patientID.trimmingCharacters(in: Self.paddingCharacters)
            guard !patient.isEmpty else {
                problems.append(ImagingError(file: url.path, problem: "has an empty PID, so its patient is unknown; left out"))
                continue
            }
            items[id] = DatasetItem(id: id, url: url, labels: [Float(file.label - 1)], patient: patient, masks: [url])
        }
        let ordered = items.values.sorted { (Int($0.id) ?? Int.max, $0.id) < (Int($1.id) ?? Int.max, $1.id) }
        return DatasetCatalog(name: name, modality: .mri, labelSpace: .multiClass(classes: BrainTumourMAT.classNames),
                              items: ordered, problems: problems)
    }

    /// The `.mat` files under `root` at any depth, except `cvind.mat` and hidden files, sorted by path.
    func imageFiles(under root: URL) -> [URL] {
        let found = FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil, options: [.skipsHiddenFiles])
        return (found?.compactMap { $0 as? URL } ?? [])
            .filter { $0.pathExtension.lowercased() == "mat" && $0.lastPathComponent.lowercased() != "cvind.mat" }
            .filter(LayoutFiles.isFile)
            .sorted { $0.path < $1.path }
    }
}
