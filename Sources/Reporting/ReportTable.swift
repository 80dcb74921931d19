/// A value with its confidence interval when one was computed (or, for few-shot results, its range over draws).
public struct Estimate: Sendable, Equatable {
    public var value: Double
    public var lower: Double?
    public var upper: Double?

    public init(value: Double, lower: Double? = nil, upper: Double? = nil) {
        self.value = value
        self.lower = lower
        self.upper = upper
    }

    /// `0.812 (0.790–0.833)` with `decimals` decimals, or `0.812` without an interval.
    func text(decimals: Int) -> String {
        let value = ReportFormat.number(self.value, decimals: decimals)
        guard let lower, let upper else { return value }
        return "\(value) (\(ReportFormat.number(lower, decimals: decimals))–\(ReportFormat.number(upper, decimals: decimals)))"
    }
}

/// One table of the report: rows × columns, columns optionally gathered in groups (a dataset over its
/// protocols), each cell an estimate, a text or empty; the best estimate of each ranked column is marked.
public struct ReportTable: Sendable, Equatable {
    /// Which direction of a column's values is better; `nil` columns are not ranked.
    public enum Better: Sendable, Equatable { case higher, lower }

    /// A column: its label, the group it belongs to (shown as a spanning header), its decimals and ranking.
    public struct Column: Sendable, Equatable {
        public var group: String?
        public var label: String
        public var decimals: Int
        public var better: Better?

        public init(group: String? = nil, label: String, decimals: Int = 3, better: Better? = .higher) {
            self.group = group
            self.label = label
            self.decimals = decimals
            self.better = better
        }

        /// `group · label`, or `label` alone.
        var fullLabel: String { group.map { "\($0) · \(label)" } ?? label }
    }

    public enum Cell: Sendable, Equatable {
        case estimate(Estimate)
        case text(String)
        case empty
    }

    public struct Row: Sendable, Equatable {
        public var label: String
        public var cells: [Cell]

        public init(label: String, cells: [Cell]) {
            self.label = label
            self.cells = cells
        }
    }

    /// File name and HTML id (`linear-probe`, `classification-nih-chestxray14`, …).
    public var id: String
    public var title: String
    /// How the numbers were made: protocol, metric, interval, shared settings.
    public var note: String
    /// The header of the row-label column.
    public var rowHeader: String
    public var columns: [Column]
    public var rows: [Row]

    public init(id: String, title: String, note: String, rowHeader: String, columns: [Column], rows: [Row]) {
        self.id = id
        self.title = title
        self.note = note
        self.rowHeader = rowHeader
        self.columns = columns
        self.rows = rows
    }

    /// The rows holding the best value of ranked column `column` (all of them on a tie); empty for unranked columns.
    func bestRows(column: Int) -> Set<Int> {
        guard let better = columns[column].better else { return [] }
        var best: Double?
        var rowsAtBest: Set<Int> = []
        for (index, row) in rows.enumerated() {
            guard case .estimate(let estimate) = row.cells[column] else { continue }
            // Compare at the printed precision, so ties are the values a reader sees as equal.
            let shown = Double(ReportFormat.number(estimate.value, decimals: columns[column].decimals))!
            if let current = best, shown == current {
                rowsAtBest.insert(index)
            } else if best == nil || (better == .higher ? shown > best! : shown < best!) {
                best = shown
                rowsAtBest = [index]
            }
        }
        return rowsAtBest
    }

    /// The column groups in order with how many adjacent columns each spans (`nil` for ungrouped columns).
    var groupSpans: [(group: String?, span: Int)] {
        var spans: [(group: String?, span: Int)] = []
        for column in columns {
            if let last = spans.last, last.group != nil, last.group == column.group {
                spans[spans.count - 1].span += 1
            } else {
                spans.append((column.group, 1))
            }
        }
        return spans
    }

    /// The cell as text (`—` when empty).
    func text(row: Int, column: Int) -> String {
        switch rows[row].cells[column] {
        case .estimate(let estimate): estimate.text(decimals: columns[column].decimals)
        case .text(let text): text
        case .empty: "—"
        }
    }
}
