import Foundation

/// The report's two pages: one self-contained HTML document and its Markdown counterpart (which links the
/// figures and images as files beside it).
enum ReportPage {
    static let title = "RadProbe report"

    static let style = """
    body { font-family: Helvetica, Arial, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em; color: #222; }
    table { border-collapse: collapse; margin: 1em 0 0.3em; font-size: 14px; }
    caption { text-align: left; font-weight: bold; padding-bottom: 0.4em; }
    th, td { padding: 3px 10px; border-bottom: 1px solid #ddd; text-align: right; white-space: nowrap; }
    th:first-child { text-align: left; }
    th.group { text-align: center; border-bottom: 1px solid #888; }
    thead tr:last-child th { border-bottom: 2px solid #444; }
    p.note { font-size: 13px; color: #555; max-width: 1000px; }
    figure { margin: 1.5em 0; }
    figcaption { font-size: 13px; color: #444; max-width: 880px; }
    img.picture { image-rendering: pixelated; max-width: 100%; }
    """

    /// Marks the page once every image has loaded: `data-images="loaded"` on `<body>`, or `failed-N`.
    static let loadCheck = """
    window.addEventListener("load", function () {
      var images = Array.prototype.slice.call(document.images);
      var failed = images.filter(function (image) { return !(image.complete && image.naturalWidth > 0); }).length;
      document.body.setAttribute("data-images", failed === 0 ? "loaded" : "failed-" + failed);
      document.body.setAttribute("data-image-count", String(images.length));
    });
    """

    static func html(_ report: StudyReport) -> String {
        let h = ReportFormat.html
        var lines = ["<!DOCTYPE html>", "<html lang=\"en\">", "<head>", "<meta charset=\"utf-8\">", "<title>\(title)</title>",
                     "<style>", style, "</style>", "</head>", "<body data-images=\"pending\">", "<h1>\(title)</h1>", "<p>\(h(report.summary))</p>"]
        if !report.notes.isEmpty {
            lines += ["<section id=\"notes\">", "<h2>Notes</h2>", "<ul>"] + report.notes.map { "<li>\(h($0))</li>" } + ["</ul>", "</section>"]
        }
        lines += ["<nav id=\"contents\">", "<h2>Contents</h2>", "<ol>"]
        for (index, table) in report.tables.enumerated() { lines.append("<li><a href=\"#table-\(table.id)\">Table \(index + 1). \(h(table.title))</a></li>") }
        for (index, figure) in report.figures.enumerated() { lines.append("<li><a href=\"#figure-\(figure.id)\">Figure \(index + 1). \(h(figure.title))</a></li>") }
        for (index, image) in report.images.enumerated() { lines.append("<li><a href=\"#image-\(image.id)\">Image \(index + 1). \(h(image.title))</a></li>") }
        lines += ["</ol>", "</nav>"]
        if !report.tables.isEmpty {
            lines += ["<section id=\"tables\">", "<h2>Tables</h2>"]
            for (index, table) in report.tables.enumerated() {
                lines.append("<h3>Table \(index + 1). \(h(table.title))</h3>")
                lines.append(table.html())
                lines.append("<p class=\"note\">\(h(table.note)) Also as <a href=\"tables/\(table.id).csv\">CSV</a> and <a href=\"tables/\(table.id).tex\">LaTeX</a>.</p>")
            }
            lines.append("</section>")
        }
        if !report.figures.isEmpty {
            lines += ["<section id=\"figures\">", "<h2>Figures</h2>"]
            for (index, figure) in report.figures.enumerated() {
                lines.append("<figure id=\"figure-\(figure.id)\">")
                lines.append(figure.svg.trimmingCharacters(in: .newlines))
                lines.append("<figcaption>Figure \(index + 1). \(h(figure.caption))</figcaption>")
                lines.append("</figure>")
            }
            lines.append("</section>")
        }
        if !report.images.isEmpty || !report.skippedArtifacts.isEmpty {
            lines += ["<section id=\"images\">", "<h2>Images</h2>"]
            for (index, image) in report.images.enumerated() {
                lines.append("<figure id=\"image-\(image.id)\">")
                lines.append("<img class=\"picture\" alt=\"\(h(image.title))\" src=\"data:image/png;base64,\(image.png.base64EncodedString())\">")
                lines.append("<figcaption>Image \(index + 1). \(h(image.caption))</figcaption>")
                lines.append("</figure>")
            }
            if !report.skippedArtifacts.isEmpty {
                lines.append("<p class=\"note\">Not shown:</p>")
                lines.append("<ul>" + report.skippedArtifacts.map { "<li>\(h($0))</li>" }.joined() + "</ul>")
            }
            lines.append("</section>")
        }
        lines += ["<script>", loadCheck, "</script>", "</body>", "</html>"]
        return lines.joined(separator: "\n") + "\n"
    }

    static func markdown(_ report: StudyReport) -> String {
        var lines = ["# \(title)", "", report.summary, ""]
        if !report.notes.isEmpty { lines += ["## Notes", ""] + report.notes.map { "- \($0)" } + [""] }
        lines += ["## Contents", ""]
        for (index, table) in report.tables.enumerated() { lines.append("- [Table \(index + 1). \(table.title)](#table-\(index + 1))") }
        for (index, figure) in report.figures.enumerated() { lines.append("- [Figure \(index + 1). \(figure.title)](#figure-\(index + 1))") }
        for (index, image) in report.images.enumerated() { lines.append("- [Image \(index + 1). \(image.title)](#image-\(index + 1))") }
        if !report.tables.isEmpty { lines += ["", "## Tables"] }
        for (index, table) in report.tables.enumerated() {
            lines += ["", "<a id=\"table-\(index + 1)\"></a>", "", "### Table \(index + 1). \(table.title)", "", table.markdown(),
                      "\(table.note) Also as [CSV](tables/\(table.id).csv) and [LaTeX](tables/\(table.id).tex)."]
        }
        if !report.figures.isEmpty { lines += ["", "## Figures"] }
        for (index, figure) in report.figures.enumerated() {
            lines += ["", "<a id=\"figure-\(index + 1)\"></a>", "", "![\(figure.title)](figures/\(figure.id).svg)", "",
                      "Figure \(index + 1). \(figure.caption)"]
        }
        if !report.images.isEmpty || !report.skippedArtifacts.isEmpty { lines += ["", "## Images"] }
        for (index, image) in report.images.enumerated() {
            lines += ["", "<a id=\"image-\(index + 1)\"></a>", "", "![\(image.title)](images/\(image.id).png)", "", "Image \(index + 1). \(image.caption)"]
        }
        if !report.skippedArtifacts.isEmpty { lines += ["", "Not shown:", ""] + report.skippedArtifacts.map { "- \($0)" } }
        return lines.joined(separator: "\n") + "\n"
    }
}
