import Foundation
import MedicalImaging

/// What an uncertain CheXpert label (−1) becomes, the policies of Irvin et al. 2019: `zeros`
/// (U-Zeros: absent), `ones` (U-Ones: present), `ignore` (U-Ignore: `Float.nan`, left out of the loss
/// and the metrics).
public enum UncertainLabelPolicy: String, CaseIterable, Sendable {
    /// U-Zeros: an uncertain finding counts as absent (0).
    case zeros
    /// U-Ones: an uncertain finding counts as present (1).
    case ones
    /// U-Ignore: an uncertain finding is unknown (`Float.nan`).
    case ignore

    /// The label value an uncertain mention takes.
    public var value: Float {
        switch self {
        case .zeros: 0
        case .ones: 1
        case .ignore: .nan
        }
    }
}

/// CheXpert (Irvin et al. 2019), full or downsampled (`CheXpert-v1.0`, `CheXpert-v1.0-small`): chest
/// radiographs with the 5 competition findings, multi-label, frontal views only.
///
/// The root is the folder holding `train.csv` and `valid.csv` (official parts `.train` and
/// `.validation`). Their columns used: `Path` (e.g. `CheXpert-v1.0-small/train/patient00001/study1/view1_frontal.jpg`,
/// relative to the root's parent; a path whose first folder is a folder of the root, e.g.
/// `train/patient00001/…`, is taken relative to the root), `Frontal/Lateral` (only `Frontal` rows give
/// items), and the `competitionFindings`, each `1.0` positive, `0.0` negative, `-1.0` uncertain (mapped by
/// the `UncertainLabelPolicy`), blank unmentioned (0). The item id is the image path relative to the
/// root (`train/patient00001/study1/view1_frontal.jpg`), the patient the `patientNNNNN` folder.
/// A listed image that is missing, or a row with an unreadable label or path, is a problem and gives no item.
public struct CheXpert: DatasetAdapter {
    /// The 5 competition findings, in the order of `DatasetItem.labels`.
    public static let competitionFindings = ["Atelectasis", "Cardiomegaly", "Consolidation", "Edema", "Pleural Effusion"]
    /// The index tables and the official part each gives.
    public static let indexFiles: [(name: String, part: SplitPart)] = [("train.csv", .train), ("valid.csv", .validation)]

    public let name = "chexpert"
    public let summary = "CheXpert: frontal chest radiographs, 5 competition findings (multi-label), official train/valid"
    /// What uncertain (−1) labels become.
    public let uncertainLabels: UncertainLabelPolicy

    /// The adapter; uncertain labels become 0 by default (U-Zeros, as the study did).
    public init(uncertainLabels: UncertainLabelPolicy = .zeros) {
        self.uncertainLabels = uncertainLabels
    }

    public func catalog(root: URL) throws -> DatasetCatalog {
        try LayoutFiles.requireFolder(root)
        var items: [DatasetItem] = []
        var problems: [ImagingError] = []
        var rootFolders: [String: Bool] = [:]
        var ids = Set<String>()
        for (fileName, part) in Self.indexFiles {
            let table = try CSVTable(contentsOf: root.appendingPathComponent(fileName))
            let pathColumn = try table.requiredColumn("Path")
            let viewColumn = try table.requiredColumn("Frontal/Lateral")
            let findingColumns = try Self.competitionFindings.map(table.requiredColumn)
            for row in table.rows {
                let view = row.value(viewColumn)
                guard view == "Frontal" else {
                    if view != "Lateral" { problems.append(table.error(at: row, "Frontal/Lateral is \"\(view)\", not Frontal or Lateral")) }
                    continue
                }
                var components = row.value(pathColumn).split(separator: "/").map(String.init)
                guard let first = components.first else {
                    problems.append(table.error(at: row, "has an empty Path"))
                    continue
                }
                let firstIsRootFolder = rootFolders[first] ?? LayoutFiles.isFolder(root.appendingPathComponent(first))
                rootFolders[first] = firstIsRootFolder
                if !firstIsRootFolder { components.removeFirst() }
                let id = components.joined(separator: "/")
                guard let patient = components.first(where: Self.isPatientFolder) else {
                    problems.append(table.error(at: row, "Path \"\(row.value(pathColumn))\" has no patientNNNNN folder"))
                    continue
                }
                let labels: [Float]
                do { labels = try findingColumns.map { try labelValue(row.value($0)) } } catch let error as BadLabel {
                    problems.append(table.error(at: row, "label \"\(error.text)\" is not 1.0, 0.0, -1.0 or blank"))
                    continue
                }
                guard ids.insert(id).inserted else {
                    problems.append(table.error(at: row, "lists \(id) a second time"))
                    continue
                }
                let url = root.appendingPathComponent(id)
                guard LayoutFiles.isFile(url) else {
                    problems.append(table.missingFile(url, listedAt: row))
                    continue
                }
                items.append(DatasetItem(id: id, url: url, labels: labels, patient: patient, officialPart: part))
            }
        }
        return DatasetCatalog(name: name, modality: .xray, labelSpace: .multiLabel(findings: Self.competitionFindings),
                              items: items.sorted { $0.id.precedesByBytes($1.id) }, problems: problems)
    }

    private struct BadLabel: Error { let text: String }

    /// A label cell: `1`/`0` kept, `-1` by the policy, blank 0.
    private func labelValue(_ text: String) throws -> Float {
        if text.isEmpty { return 0 }
        switch Double(text) {
        case 1: return 1
        case 0: return 0
        case -1: return uncertainLabels.value
        default: throw BadLabel(text: text)
        }
    }

    /// Whether a path component is a patient folder, `patient` and digits.
    private static func isPatientFolder(_ component: String) -> Bool {
        let digits = component.dropFirst("patient".count)
        return component.hasPrefix("patient") && !digits.isEmpty && digits.allSatisfy { $0.isASCII && $0.isNumber }
    }
}
