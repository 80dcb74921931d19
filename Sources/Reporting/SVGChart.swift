import Foundation

/// A chart written as SVG by hand: a plot area with linear scales, axes with ticks and labels, a title, a
/// legend on the right, and marks (lines, bands, points, bars) added in data coordinates. Every coordinate is
/// printed with two decimals, so the same data gives the same bytes.
///
/// Layout (SVG user units): 880 × 420, plot area from x 70 to 530 and y 40 to 360; legend from x 545.
struct SVGChart {
    struct Tick { let value: Double, label: String }

    static let palette = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf", "#7f7f7f", "#bcbd22"]
    static let width = 880.0, height = 420.0
    static let left = 70.0, right = 530.0, top = 40.0, bottom = 360.0

    var title: String
    var xLabel: String
    var yLabel: String
    var xDomain: ClosedRange<Double>
    var yDomain: ClosedRange<Double>
    var xTicks: [Tick]
    var yTicks: [Tick]
    private(set) var marks: [String] = []
    private(set) var legend: [(label: String, color: String)] = []

    init(title: String, xLabel: String, yLabel: String, xDomain: ClosedRange<Double>, yDomain: ClosedRange<Double>, xTicks: [Tick], yTicks: [Tick]) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.xDomain = xDomain
        self.yDomain = yDomain
        self.xTicks = xTicks
        self.yTicks = yTicks
    }

    static func color(_ index: Int) -> String { palette[index % palette.count] }

    /// Plot coordinates of data value `x` / `y`.
    func px(_ x: Double) -> Double {
        let span = xDomain.upperBound - xDomain.lowerBound
        return Self.left + (span > 0 ? (x - xDomain.lowerBound) / span : 0.5) * (Self.right - Self.left)
    }

    func py(_ y: Double) -> Double {
        let span = yDomain.upperBound - yDomain.lowerBound
        return Self.bottom - (span > 0 ? (y - yDomain.lowerBound) / span : 0.5) * (Self.bottom - Self.top)
    }

    static func f(_ value: Double) -> String { ReportFormat.number(value, decimals: 2) }

    mutating func addLegend(_ label: String, color: String) { legend.append((label, color)) }

    /// A polyline through `points` (data coordinates), with a dot at each point.
    mutating func line(_ points: [(x: Double, y: Double)], color: String, dashed: Bool = false) {
        let path = points.map { "\(Self.f(px($0.x))),\(Self.f(py($0.y)))" }.joined(separator: " ")
        marks.append("<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"2\"\(dashed ? " stroke-dasharray=\"6 4\"" : "") points=\"\(path)\"/>")
        for point in points { marks.append(dot(x: point.x, y: point.y, color: color, radius: 3)) }
    }

    /// A translucent band between `lower` and `upper` over the same x values.
    mutating func band(x: [Double], lower: [Double], upper: [Double], color: String) {
        let outline = zip(x, upper).map { "\(Self.f(px($0))),\(Self.f(py($1)))" } + zip(x, lower).reversed().map { "\(Self.f(px($0))),\(Self.f(py($1)))" }
        marks.append("<polygon fill=\"\(color)\" fill-opacity=\"0.18\" stroke=\"none\" points=\"\(outline.joined(separator: " "))\"/>")
    }

    /// A labelled point.
    mutating func point(x: Double, y: Double, color: String, label: String) {
        marks.append(dot(x: x, y: y, color: color, radius: 6))
        marks.append("<text x=\"\(Self.f(px(x) + 9))\" y=\"\(Self.f(py(y) - 8))\" font-size=\"12\">\(ReportFormat.html(label))</text>")
    }

    /// A bar over data x from `x0` to `x1`, from the y domain's lower bound up to `value`, with an optional error bar.
    mutating func bar(x0: Double, x1: Double, value: Double, lower: Double?, upper: Double?, color: String) {
        let base = py(yDomain.lowerBound), top = py(value)
        marks.append("<rect x=\"\(Self.f(px(x0)))\" y=\"\(Self.f(min(top, base)))\" width=\"\(Self.f(px(x1) - px(x0)))\" height=\"\(Self.f(abs(base - top)))\" fill=\"\(color)\"/>")
        if let lower, let upper {
            let middle = Self.f((px(x0) + px(x1)) / 2)
            marks.append("<line x1=\"\(middle)\" x2=\"\(middle)\" y1=\"\(Self.f(py(lower)))\" y2=\"\(Self.f(py(upper)))\" stroke=\"#222\" stroke-width=\"1.5\"/>")
        }
    }

    private func dot(x: Double, y: Double, color: String, radius: Double) -> String {
        "<circle cx=\"\(Self.f(px(x)))\" cy=\"\(Self.f(py(y)))\" r=\"\(Self.f(radius))\" fill=\"\(color)\"/>"
    }

    /// The chart as a standalone SVG document (also valid inline in HTML); `id` becomes the root's id.
    func svg(id: String) -> String {
        var parts = ["<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"\(id)\" width=\"\(Int(Self.width))\" height=\"\(Int(Self.height))\" viewBox=\"0 0 \(Int(Self.width)) \(Int(Self.height))\" font-family=\"Helvetica, Arial, sans-serif\">",
                     "<title>\(ReportFormat.html(title))</title>",
                     "<rect width=\"\(Int(Self.width))\" height=\"\(Int(Self.height))\" fill=\"#ffffff\"/>",
                     "<text x=\"\(Self.f((Self.left + Self.right) / 2))\" y=\"24\" font-size=\"15\" text-anchor=\"middle\">\(ReportFormat.html(title))</text>"]
        for tick in xTicks {
            let x = Self.f(px(tick.value))
            parts.append("<line x1=\"\(x)\" x2=\"\(x)\" y1=\"\(Self.f(Self.top))\" y2=\"\(Self.f(Self.bottom + 5))\" stroke=\"#e3e3e3\"/>")
            parts.append("<text x=\"\(x)\" y=\"\(Self.f(Self.bottom + 20))\" font-size=\"12\" text-anchor=\"middle\">\(ReportFormat.html(tick.label))</text>")
        }
        for tick in yTicks {
            let y = Self.f(py(tick.value))
            parts.append("<line x1=\"\(Self.f(Self.left - 5))\" x2=\"\(Self.f(Self.right))\" y1=\"\(y)\" y2=\"\(y)\" stroke=\"#e3e3e3\"/>")
            parts.append("<text x=\"\(Self.f(Self.left - 9))\" y=\"\(Self.f(py(tick.value) + 4))\" font-size=\"12\" text-anchor=\"end\">\(ReportFormat.html(tick.label))</text>")
        }
        parts.append("<path d=\"M\(Self.f(Self.left)),\(Self.f(Self.top)) V\(Self.f(Self.bottom)) H\(Self.f(Self.right))\" fill=\"none\" stroke=\"#222\"/>")
        parts += marks
        parts.append("<text x=\"\(Self.f((Self.left + Self.right) / 2))\" y=\"\(Self.f(Self.bottom + 44))\" font-size=\"13\" text-anchor=\"middle\">\(ReportFormat.html(xLabel))</text>")
        parts.append("<text transform=\"translate(18 \(Self.f((Self.top + Self.bottom) / 2))) rotate(-90)\" font-size=\"13\" text-anchor=\"middle\">\(ReportFormat.html(yLabel))</text>")
        for (index, entry) in legend.enumerated() {
            let y = Self.top + 10 + Double(index) * 20
            parts.append("<rect x=\"\(Self.f(Self.right + 15))\" y=\"\(Self.f(y - 9))\" width=\"12\" height=\"12\" fill=\"\(entry.color)\"/>")
            parts.append("<text x=\"\(Self.f(Self.right + 33))\" y=\"\(Self.f(y + 2))\" font-size=\"12\">\(ReportFormat.html(entry.label))</text>")
        }
        parts.append("</svg>")
        return parts.joined(separator: "\n") + "\n"
    }

    /// About five round ticks (steps of 1, 2 or 5 × 10ᵏ) covering `range`, and the widened domain they span.
    static func niceTicks(_ range: ClosedRange<Double>) -> (domain: ClosedRange<Double>, ticks: [Tick]) {
        var low = range.lowerBound, high = range.upperBound
        if high - low < 1e-9 { low -= 0.05; high += 0.05 }
        let rough = (high - low) / 5
        let magnitude = pow(10, floor(log10(rough)))
        let step = [1.0, 2, 5, 10].map { $0 * magnitude }.first { $0 >= rough } ?? 10 * magnitude
        let first = floor(low / step + 1e-9) * step, last = ceil(high / step - 1e-9) * step
        let decimals = max(0, -Int(floor(log10(step) + 1e-9)))
        let count = Int(((last - first) / step).rounded())
        let ticks = (0...count).map { i in
            let value = first + Double(i) * step
            return Tick(value: value, label: ReportFormat.number(value, decimals: decimals))
        }
        return (first...last, ticks)
    }
}
