import ArgumentParser
import Foundation
import Reporting
import Results

/// `radprobe report`: the study's tables, figures and images from a results database.
struct ReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write the study's report (HTML, Markdown, CSV, LaTeX, SVG, PNG) from a results database.",
        discussion: """
        Writes report.html (one self-contained page), report.md, tables/*.csv, tables/*.tex, figures/*.svg and \
        images/*.png into --out, replacing only those files. The same database gives the same bytes. PNG artifacts \
        of kind pca and overlay are shown; --pca-images with --checkpoint adds a PCA figure of those images.
        """
    )

    @Option(help: "The results database (results.sqlite).")
    var db: String

    @Option(help: "The folder to write the report into.")
    var out: String

    @Option(help: "Model checkpoint for --pca-images.")
    var checkpoint: String?

    @Option(parsing: .upToNextOption, help: "Images for a PCA figure of patch features (with --checkpoint).")
    var pcaImages: [String] = []

    @Option(help: "Input size in pixels for the PCA figure.")
    var pcaSize: Int = 448

    @Option(help: ArgumentHelp("A sentence for the report's notes, under its summary (repeat for several), e.g. where the weights come from.", valueName: "text"))
    var note: [String] = []

    @OptionGroup var compute: ComputeOptions

    func validate() throws {
        if !pcaImages.isEmpty, checkpoint == nil { throw ValidationError("--pca-images needs --checkpoint.") }
        if pcaImages.isEmpty, checkpoint != nil { throw ValidationError("--checkpoint is used only with --pca-images.") }
    }

    func run() async throws {
        let databaseURL = URL(fileURLWithPath: db)
        guard FileManager.default.fileExists(atPath: databaseURL.path) else {
            throw CommandFailure("\(db): no such results database; run `radprobe run` to make one")
        }
        let records = try CommandFailure.wrap { try ResultsDatabase(url: databaseURL).results() }
        var extra: [ReportImage] = []
        if let checkpoint, !pcaImages.isEmpty {
            let png = try PCARendering.png(checkpoint: checkpoint, images: pcaImages, size: pcaSize, threshold: PCAFigure.defaultThreshold, options: compute)
            let names = pcaImages.map { URL(fileURLWithPath: $0).lastPathComponent }.joined(separator: ", ")
            extra.append(ReportImage(id: "pca", title: "PCA of patch features",
                                     caption: "PCA of the patch features of \(names) under \(URL(fileURLWithPath: checkpoint).lastPathComponent) at \(pcaSize) px: the first component separates the background (black), the next three are red, green and blue.",
                                     png: png))
        }
        let report = try CommandFailure.wrap {
            try StudyReport(records: records, artifactRoot: databaseURL.deletingLastPathComponent(), extraImages: extra, notes: note)
        }
        let written = try CommandFailure.wrap { try report.write(to: URL(fileURLWithPath: out)) }
        for skipped in report.skippedArtifacts { FileHandle.standardError.write(Data("warning: not shown: \(skipped)\n".utf8)) }
        print("Wrote \(written.count) files to \(out): \(report.tables.count) tables, \(report.figures.count) figures, \(report.images.count) images")
        print(report.summary)
    }
}
