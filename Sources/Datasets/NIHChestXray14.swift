import Foundation
import MedicalImaging

/// NIH ChestX-ray14 (Wang et al. 2017) as NIH publishes it: 112,120 frontal radiographs with 14
/// text-mined findings, multi-label.
///
/// Layout under the root:
/// - `Data_Entry_2017_v2020.csv` or `Data_Entry_2017.csv` (the 2020 revision is preferred when both
///   exist): columns `Image Index` (e.g. `00000001_000.png`), `Finding Labels` (`Effusion|Mass`, or
///   `No Finding`), `Patient ID`, and others that are ignored;
/// - `train_val_list.txt` and `test_list.txt`: one image name per line, the official split;
/// - the images, in `images/` or in the archive folders `images_001/images/` … `images_012/images/`
///   (any folder named `images…` directly under the root, or its `images/` subfolder).
///
/// Labels are the 14 `findings` in that order, 1 present / 0 absent; `No Finding` is all zeros,
/// not a class. An unknown finding name, an image the CSV lists but no folder holds, or a name in a
/// split list that the CSV lacks is a problem; such rows give no item. Item id = `Image Index`,
/// patient = `Patient ID`, official part `.test` for `test_list.txt`, `.train` for `train_val_list.txt`.
public struct NIHChestXray14: DatasetAdapter {
    /// The 14 findings in the order of the dataset's paper (and of `DatasetItem.labels`).
    public static let findings = [
        "Atelectasis", "Cardiomegaly", "Effusion", "Infiltration", "Mass", "Nodule", "Pneumonia",
        "Pneumothorax", "Consolidation", "Edema", "Emphysema", "Fibrosis", "Pleural_Thickening", "Hernia",
    ]
    /// The `Finding Labels` value of an image without findings.
    public static let noFinding = "No Finding"
    /// Names of the data-entry table, most preferred first.
    public static let dataEntryFileNames = ["Data_Entry_2017_v2020.csv", "Data_Entry_2017.csv"]

    public let name = "nih-chestxray14"
    public let summary = "NIH ChestX-ray14: chest radiographs, 14 findings (multi-label), official train_val/test lists"

    /// The adapter.
    public init() {}

    public func catalog(root: URL) throws -> DatasetCatalog {
        let table = try CSVTable(contentsOf: dataEntryFile(root: root))
        let imageColumn = try table.requiredColumn("Image Index")
        let findingsColumn = try table.requiredColumn("Finding Labels")
        let patientColumn = try table.requiredColumn("Patient ID")
        var problems: [ImagingError] = []
        let parts = try officialParts(root: root, problems: &problems)
        let images = try imageFiles(root: root, problems: &problems)

        var items: [DatasetItem] = []
        var listedNames = Set<String>()
        for row in table.rows {
            let imageName = row.value(imageColumn)
            guard listedNames.insert(imageName).inserted else {
                problems.append(table.error(at: row, "lists image \"\(imageName)\" a second time"))
                continue
            }
            let labels: [Float]
            do { labels = try findingVector(row.value(findingsColumn)) } catch let unknown as UnknownFinding {
                problems.append(table.error(at: row, "unknown finding \"\(unknown.name)\" for \(imageName) (known: \(Self.noFinding), \(Self.findings.joined(separator: ", ")))"))
                continue
            }
            guard let url = images[imageName] else {
                problems.append(table.missingFile(root.appendingPathComponent("images").appendingPathComponent(imageName), listedAt: row))
                continue
            }
            let patient = row.value(patientColumn)
            guard !patient.isEmpty else {
                problems.append(table.error(at: row, "\(imageName) has no Patient ID, so it cannot be kept on one side of a split; left out"))
                continue
            }
            items.append(DatasetItem(id: imageName, url: url, labels: labels, patient: patient, officialPart: parts.part[imageName]))
        }
        for (imageName, place) in parts.listedAt.sorted(by: { $0.key < $1.key }) where !listedNames.contains(imageName) {
            problems.append(ImagingError(file: place.file, problem: "line \(place.line): image \"\(imageName)\" is not in \(table.file)"))
        }
        return DatasetCatalog(name: name, modality: .xray, labelSpace: .multiLabel(findings: Self.findings),
                              items: items.sorted { $0.id.precedesByBytes($1.id) }, problems: problems)
    }

    /// The preferred data-entry table under `root`; throws naming the names it looked for.
    private func dataEntryFile(root: URL) throws -> URL {
        try LayoutFiles.requireFolder(root)
        for name in Self.dataEntryFileNames {
            let url = root.appendingPathComponent(name)
            if FileManager.default.fileExists(atPath: url.path) { return url }
        }
        throw ImagingError(file: root.path, problem: "holds no \(Self.dataEntryFileNames.joined(separator: " or ")): not an NIH ChestX-ray14 folder")
    }

    private struct UnknownFinding: Error { let name: String }

    /// The 0/1 vector of a `Finding Labels` value such as `Effusion|Mass`; `No Finding` adds nothing.
    private func findingVector(_ value: String) throws -> [Float] {
        var labels = [Float](repeating: 0, count: Self.findings.count)
        for finding in value.split(separator: "|", omittingEmptySubsequences: false).map({ $0.trimmingCharacters(in: .whitespaces) }) {
            if finding == Self.noFinding { continue }
            guard let index = Self.findings.firstIndex(of: finding) else { throw UnknownFinding(name: finding) }
            labels[index] = 1
        }
        return labels
    }

    /// Where a split list names an image: its file and line.
    private struct ListPlace { let file: String; let line: Int }

    /// The official part of each image named in `test_list.txt` and `train_val_list.txt`.
    private func officialParts(root: URL, problems: inout [ImagingError]) throws
        -> (part: [String: SplitPart], listedAt: [String: ListPlace]) {
        var part: [String: SplitPart] = [:]
        var listedAt: [String: ListPlace] = [:]
        for (fileName, splitPart) in [("train_val_list.txt", SplitPart.train), ("test_list.txt", .test)] {
            let url = root.appendingPathComponent(fileName)
            for (line, imageName) in try LayoutFiles.listEntries(of: url) {
                if let earlier = listedAt[imageName] {
                    problems.append(ImagingError(file: url.path, problem: "line \(line): image \"\(imageName)\" is already listed in \(earlier.file) line \(earlier.line)"))
                    continue
                }
                part[imageName] = splitPart
                listedAt[imageName] = ListPlace(file: url.path, line: line)
            }
        }
        return (part, listedAt)
    }

    /// Every `.png` in `images/` and `images*/images/` (and `images*/` itself) under `root`, by file name.
    private func imageFiles(root: URL, problems: inout [ImagingError]) throws -> [String: URL] {
        let imageFolders = try LayoutFiles.visibleNames(in: root).filter { $0.hasPrefix("images") }
            .flatMap { [root.appendingPathComponent($0), root.appendingPathComponent($0).appendingPathComponent("images")] }
            .filter(LayoutFiles.isFolder)
        var images: [String: URL] = [:]
        for folder in imageFolders {
            for name in try LayoutFiles.visibleNames(in: folder) where name.lowercased().hasSuffix(".png") {
                let url = folder.appendingPathComponent(name)
                if let earlier = images[name] {
                    problems.append(ImagingError(file: url.path, problem: "has the same name as \(earlier.path); the first is used"))
                } else {
                    images[name] = url
                }
            }
        }
        return images
    }
}
