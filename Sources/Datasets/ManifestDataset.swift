import Foundation
import MedicalImaging

/// Any image collection described by a CSV manifest, for data with no adapter of its own.
///
/// The root is the CSV file itself or a folder holding `manifest.csv`. Columns (header row required,
/// any order, RFC 4180 quoting):
/// - `path`: the image, relative to the manifest's folder or absolute; it is also the item id;
/// - either `label` (one class name per row: multi-class) or `labels` (class names separated by `|`,
///   possibly none: multi-label, 1 for each named class and 0 otherwise); class names are numbered in
///   order of first appearance in the file;
/// - optional `patient` (blank or absent: the item is its own patient), `split` (`train`,
///   `validation`, `test` or blank) giving the official part, and `mask` (a label-map file, resolved
///   like `path`).
///
/// Items keep the manifest's order. A malformed manifest (no `path` column, neither or both label
/// columns, a row with the wrong number of fields, a blank path or label, an unknown split word, a
/// path listed twice) throws an error naming the file and line; a listed image or mask that is
/// missing is a problem and gives no item.
public struct ManifestDataset: DatasetAdapter {
    /// The manifest's name when the root is a folder.
    public static let fileName = "manifest.csv"
    /// The separator of class names in the `labels` column.
    public static let labelSeparator: Character = "|"

    public let name = "manifest"
    public let summary = "A CSV manifest: path plus label (multi-class) or labels (multi-label, |-separated), optional patient, split, mask"
    /// The modality of the images, which decides the preprocessing's clipping.
    public let modality: PreprocessingPipeline.Modality

    /// The adapter for images of `modality`.
    public init(modality: PreprocessingPipeline.Modality = .other) {
        self.modality = modality
    }

    public func catalog(root: URL) throws -> DatasetCatalog {
        let manifest = LayoutFiles.isFolder(root) ? root.appendingPathComponent(Self.fileName) : root
        let folder = manifest.deletingLastPathComponent()
        let table = try CSVTable(contentsOf: manifest)
        let pathColumn = try table.requiredColumn("path")
        let labelColumns = try LabelColumns(table)
        let patientColumn = table.column("patient"), splitColumn = table.column("split"), maskColumn = table.column("mask")

        var classes: [String] = []
        var classIndex: [String: Int] = [:]
        var rowClasses: [[Int]] = []
        for row in table.rows {
            var indices: [Int] = []
            for name in try labelColumns.classNames(in: row, of: table) {
                if let index = classIndex[name] {
                    indices.append(index)
                } else {
                    classIndex[name] = classes.count
                    indices.append(classes.count)
                    classes.append(name)
                }
            }
            rowClasses.append(indices)
        }

        var items: [DatasetItem] = []
        var problems: [ImagingError] = []
        var ids: [String: Int] = [:]
        for (row, indices) in zip(table.rows, rowClasses) {
            let id = row.value(pathColumn)
            guard !id.isEmpty else { throw table.error(at: row, "has a blank path") }
            if let earlier = ids[id] { throw table.error(at: row, "lists \(id) again (first on line \(earlier))") }
            ids[id] = row.line
            let part = try splitColumn.flatMap { try officialPart(row.value($0), row: row, table: table) }
            var files = [resolve(id, in: folder)]
            if let maskColumn, case let mask = row.value(maskColumn), !mask.isEmpty { files.append(resolve(mask, in: folder)) }
            let missing = files.filter { !LayoutFiles.isFile($0) }
            guard missing.isEmpty else {
                problems += missing.map { table.missingFile($0, listedAt: row) }
                continue
            }
            let patient = patientColumn.map { row.value($0) } ?? ""
            items.append(DatasetItem(id: id, url: files[0], labels: labelColumns.values(indices, classCount: classes.count),
                                     patient: patient.isEmpty ? id : patient, officialPart: part, masks: Array(files.dropFirst())))
        }
        return DatasetCatalog(name: name, modality: modality, labelSpace: labelColumns.space(classes), items: items, problems: problems)
    }

    /// The file a manifest path names: absolute as written, or relative to the manifest's folder.
    private func resolve(_ path: String, in folder: URL) -> URL {
        path.hasPrefix("/") ? URL(fileURLWithPath: path) : folder.appendingPathComponent(path)
    }

    /// The part a `split` cell names; nil when blank.
    private func officialPart(_ word: String, row: CSVTable.Row, table: CSVTable) throws -> SplitPart? {
        if word.isEmpty { return nil }
        guard let part = SplitPart(rawValue: word.lowercased()) else {
            throw table.error(at: row, "split \"\(word)\" is not one of \(SplitPart.allCases.map(\.rawValue).joined(separator: ", ")) or blank")
        }
        return part
    }

    /// The manifest's label column: `label` (multi-class) or `labels` (multi-label).
    private enum LabelColumns {
        case multiClass(column: Int)
        case multiLabel(column: Int)

        init(_ table: CSVTable) throws {
            switch (table.column("label"), table.column("labels")) {
            case (let column?, nil): self = .multiClass(column: column)
            case (nil, let column?): self = .multiLabel(column: column)
            case (.some, .some): throw ImagingError(file: table.file, problem: "has both a label and a labels column; keep one")
            case (nil, nil): throw ImagingError(file: table.file, problem: "has neither a label (multi-class) nor a labels (multi-label) column")
            }
        }

        /// The class names of `row`, in the order written.
        func classNames(in row: CSVTable.Row, of table: CSVTable) throws -> [String] {
            switch self {
            case .multiClass(let column):
                let name = row.value(column)
                guard !name.isEmpty else { throw table.error(at: row, "has a blank label") }
                return [name]
            case .multiLabel(let column):
                return row.value(column).split(separator: ManifestDataset.labelSeparator)
                    .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            }
        }

        /// The `DatasetItem.labels` of a row naming the classes `indices`.
        func values(_ indices: [Int], classCount: Int) -> [Float] {
            switch self {
            case .multiClass: return indices.map(Float.init)
            case .multiLabel:
                var values = [Float](repeating: 0, count: classCount)
                for index in indices { values[index] = 1 }
                return values
            }
        }

        func space(_ classes: [String]) -> LabelSpace {
            switch self {
            case .multiClass: .multiClass(classes: classes)
            case .multiLabel: .multiLabel(findings: classes)
            }
        }
    }
}
