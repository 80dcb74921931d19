import Foundation
import Results

/// A PNG image of the report (a PCA figure, a segmentation overlay): its id (file name without `.png`),
/// title, caption and bytes.
public struct ReportImage: Sendable, Equatable {
    public var id: String
    public var title: String
    public var caption: String
    public var png: Data

    public init(id: String, title: String, caption: String, png: Data) {
        self.id = id
        self.title = title
        self.caption = caption
        self.png = png
    }

    static let pngSignature = Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])

    /// The PNG artifacts of kind `pca` or `overlay` that `records` name, read from their paths relative to
    /// `root` (the database's folder); artifacts that are missing or not PNG files come back as `skipped`
    /// with the reason.
    static func artifacts(of records: [ResultRecord], root: URL) -> (images: [ReportImage], skipped: [String]) {
        var images: [ReportImage] = [], skipped: [String] = [], used: [String: Int] = [:]
        for record in records where record.succeeded {
            for artifact in record.artifacts where artifact.kind == "pca" || artifact.kind == "overlay" {
                let url = root.appendingPathComponent(artifact.path)
                guard let data = try? Data(contentsOf: url) else {
                    skipped.append("\(artifact.path): \(artifact.kind) of \(record.model) · \(record.dataset) · \(record.protocolName) is missing")
                    continue
                }
                guard data.starts(with: pngSignature) else {
                    skipped.append("\(artifact.path): \(artifact.kind) of \(record.model) · \(record.dataset) · \(record.protocolName) is not a PNG image")
                    continue
                }
                var id = ReportFormat.slug("\(artifact.kind) \(record.model) \(record.dataset) \(record.protocolName) \(url.deletingPathExtension().lastPathComponent)")
                used[id, default: 0] += 1
                if used[id]! > 1 { id += "-\(used[id]!)" }
                let what = artifact.kind == "pca" ? "PCA of patch features" : "Segmentation overlay"
                images.append(ReportImage(id: id, title: "\(what): \(record.model) · \(record.dataset) · \(StudyProtocol.label(record.protocolName))",
                                          caption: "\(what) of \(record.model) on \(record.dataset) (\(StudyProtocol.label(record.protocolName))), from \(artifact.path).",
                                          png: data))
            }
        }
        return (images, skipped)
    }
}
