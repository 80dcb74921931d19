import FileAccess
import Foundation
import Results

/// The report of a results database: the tables, figures and images the results support, rendered as one
/// self-contained HTML page (inline CSS and SVG, PNGs as data: URIs, no network), a Markdown page, each table
/// as CSV and LaTeX, each figure as SVG and each image as PNG. The output depends only on the results (no
/// timestamps, no absolute paths), so the same database gives the same bytes.
public struct StudyReport: Sendable {
    public let tables: [ReportTable]
    public let figures: [ReportFigure]
    public let images: [ReportImage]
    /// Artifacts named by the results that could not be shown, with the reason.
    public let skippedArtifacts: [String]
    /// One line: how many results, models and datasets.
    public let summary: String
    /// Sentences the author adds under the summary (where weights come from, say), in order.
    public let notes: [String]

    /// The report of `records`; artifact paths are resolved against `artifactRoot` (the database's folder),
    /// `extraImages` (e.g. a PCA figure computed for the report) come after the artifacts, and `notes` are shown
    /// under the summary. Throws when there are no results.
    public init(records: [ResultRecord], artifactRoot: URL, extraImages: [ReportImage] = [], notes: [String] = []) throws {
        guard !records.isEmpty else {
            throw ReportError("the database holds no results yet; fill it with `radprobe run` first (no report was written)")
        }
        let study = StudyResults(records)
        tables = StudyTables.all(study)
        figures = StudyFigures.all(study)
        let artifacts = ReportImage.artifacts(of: records, root: artifactRoot)
        images = artifacts.images + extraImages
        skippedArtifacts = artifacts.skipped
        self.notes = notes
        let failed = records.count - study.succeeded.count
        summary = "\(records.count) results (\(study.succeeded.count) succeeded, \(failed) failed) of \(study.models.count) models on "
            + "\(study.classificationDatasets.count) classification and \(study.segmentationDatasets.count) segmentation datasets."
    }

    /// The report's files by path relative to the output folder, in a fixed order.
    public func files() -> [(path: String, data: Data)] {
        var files: [(path: String, data: Data)] = [("report.html", Data(ReportPage.html(self).utf8)), ("report.md", Data(ReportPage.markdown(self).utf8))]
        for table in tables {
            files.append(("tables/\(table.id).csv", Data(table.csv().utf8)))
            files.append(("tables/\(table.id).tex", Data(table.latex().utf8)))
        }
        files += figures.map { ("figures/\($0.id).svg", Data($0.svg.utf8)) }
        files += images.map { ("images/\($0.id).png", $0.png) }
        return files
    }

    /// Writes the report's files into `folder` (created when missing), each atomically (a temporary file
    /// renamed over the old one); other files in the folder are left alone. Returns the paths written.
    @discardableResult
    public func write(to folder: URL) throws -> [String] {
        var isFolder: ObjCBool = false
        if FileManager.default.fileExists(atPath: folder.path, isDirectory: &isFolder), !isFolder.boolValue {
            throw FileError(file: folder.path, problem: "is a file, not a folder for the report")
        }
        let files = files()
        do {
            for subfolder in Set(files.map { ($0.path as NSString).deletingLastPathComponent }) where !subfolder.isEmpty {
                try FileManager.default.createDirectory(at: folder.appendingPathComponent(subfolder), withIntermediateDirectories: true)
            }
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        } catch {
            throw FileError(file: folder.path, problem: "cannot be created (\(error.localizedDescription))")
        }
        for file in files { try AtomicFile.write(file.data, to: folder.appendingPathComponent(file.path)) }
        return files.map(\.path)
    }
}
