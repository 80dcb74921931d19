/// The four renderings of a `ReportTable`: HTML (`<strong>` best), Markdown (`**` best), LaTeX (`\textbf` best,
/// booktabs rules) and CSV (value, lower and upper in separate columns, no marking).
extension ReportTable {
    /// An HTML `<table>` with a caption, spanning group headers and the best values in `<strong>`.
    public func html() -> String {
        var lines = ["<table id=\"table-\(id)\">", "<caption>\(ReportFormat.html(title))</caption>", "<thead>"]
        let grouped = columns.contains { $0.group != nil }
        if grouped {
            var cells = ["<th></th>"]
            for (group, span) in groupSpans {
                cells.append("<th colspan=\"\(span)\" class=\"group\">\(ReportFormat.html(group ?? ""))</th>")
            }
            lines.append("<tr>" + cells.joined() + "</tr>")
        }
        lines.append("<tr><th>\(ReportFormat.html(rowHeader))</th>" + columns.map { "<th>\(ReportFormat.html($0.label))</th>" }.joined() + "</tr>")
        lines.append("</thead>")
        lines.append("<tbody>")
        let best = columns.indices.map(bestRows(column:))
        for (r, row) in rows.enumerated() {
            var cells = ["<th>\(ReportFormat.html(row.label))</th>"]
            for c in columns.indices {
                let text = ReportFormat.html(text(row: r, column: c))
                cells.append(best[c].contains(r) ? "<td><strong>\(text)</strong></td>" : "<td>\(text)</td>")
            }
            lines.append("<tr>" + cells.joined() + "</tr>")
        }
        lines += ["</tbody>", "</table>"]
        return lines.joined(separator: "\n")
    }

    /// A GitHub-flavoured Markdown table (group and column in one header, `group · column`), best values in `**`.
    public func markdown() -> String {
        let header = [rowHeader] + columns.map(\.fullLabel)
        var lines = ["| " + header.map(ReportFormat.markdown).joined(separator: " | ") + " |",
                     "|" + header.indices.map { $0 == 0 ? "---|" : "---:|" }.joined()]
        let best = columns.indices.map(bestRows(column:))
        for (r, row) in rows.enumerated() {
            let cells = columns.indices.map { c in
                let text = ReportFormat.markdown(text(row: r, column: c))
                return best[c].contains(r) ? "**\(text)**" : text
            }
            lines.append("| " + ([ReportFormat.markdown(row.label)] + cells).joined(separator: " | ") + " |")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// A LaTeX `tabular` (booktabs) with `\multicolumn` group headers, best values in `\textbf`.
    public func latex() -> String {
        var lines = ["% \(title)", "\\begin{tabular}{l" + String(repeating: "r", count: columns.count) + "}", "\\toprule"]
        if columns.contains(where: { $0.group != nil }) {
            var cells = [""], rules: [String] = []
            var start = 2
            for (group, span) in groupSpans {
                cells.append(span == 1 ? ReportFormat.latex(group ?? "") : "\\multicolumn{\(span)}{c}{\(ReportFormat.latex(group ?? ""))}")
                if group != nil { rules.append("\\cmidrule(lr){\(start)-\(start + span - 1)}") }
                start += span
            }
            lines.append(cells.joined(separator: " & ") + " \\\\")
            if !rules.isEmpty { lines.append(rules.joined(separator: " ")) }
        }
        lines.append(([rowHeader] + columns.map(\.label)).map(ReportFormat.latex).joined(separator: " & ") + " \\\\")
        lines.append("\\midrule")
        let best = columns.indices.map(bestRows(column:))
        for (r, row) in rows.enumerated() {
            let cells = columns.indices.map { c in
                let text = ReportFormat.latex(text(row: r, column: c))
                return best[c].contains(r) ? "\\textbf{\(text)}" : text
            }
            lines.append(([ReportFormat.latex(row.label)] + cells).joined(separator: " & ") + " \\\\")
        }
        lines += ["\\bottomrule", "\\end{tabular}"]
        return lines.joined(separator: "\n") + "\n"
    }

    /// CSV: the row label, then per ranked column its value, lower and upper bound (`<column>`, `<column> lower`,
    /// `<column> upper`; empty when absent) and per unranked column its text.
    public func csv() -> String {
        var header = [rowHeader]
        for column in columns {
            header += column.better == nil ? [column.fullLabel] : [column.fullLabel, column.fullLabel + " lower", column.fullLabel + " upper"]
        }
        var lines = [header.map(ReportFormat.csv).joined(separator: ",")]
        for row in rows {
            var fields = [row.label]
            for (column, cell) in zip(columns, row.cells) {
                let ranked = column.better != nil
                switch cell {
                case .estimate(let estimate):
                    let number = { (value: Double?) in value.map { ReportFormat.number($0, decimals: column.decimals + 1) } ?? "" }
                    fields += ranked ? [number(estimate.value), number(estimate.lower), number(estimate.upper)] : [number(estimate.value)]
                case .text(let text): fields += ranked ? [text, "", ""] : [text]
                case .empty: fields += ranked ? ["", "", ""] : [""]
                }
            }
            lines.append(fields.map(ReportFormat.csv).joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
