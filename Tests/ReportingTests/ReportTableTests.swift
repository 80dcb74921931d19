@testable import Reporting
import XCTest

final class ReportTableTests: XCTestCase {
    let table = ReportTable(
        id: "demo", title: "Demo & co", note: "n", rowHeader: "Model",
        columns: [.init(group: "nih", label: "kNN"), .init(group: "nih", label: "HD95", decimals: 2, better: .lower), .init(label: "Params", better: nil)],
        rows: [.init(label: "a", cells: [.estimate(.init(value: 0.8124, lower: 0.7901, upper: 0.8333)), .estimate(.init(value: 3.5)), .text("1,000")]),
               .init(label: "b", cells: [.estimate(.init(value: 0.7)), .estimate(.init(value: 2.25)), .empty]),
               .init(label: "d", cells: [.estimate(.init(value: 0.8119)), .estimate(.init(value: 9)), .empty]),
               .init(label: "c", cells: [.empty, .estimate(.init(value: 2.2549)), .text("10")])])

    func testEstimatesPrintWithFixedDecimalsAndTheirInterval() {
        XCTAssertEqual(Estimate(value: 0.8124, lower: 0.7901, upper: 0.8333).text(decimals: 3), "0.812 (0.790–0.833)")
        XCTAssertEqual(Estimate(value: 0.5).text(decimals: 3), "0.500")
        XCTAssertEqual(ReportFormat.number(-0.0001, decimals: 3), "0.000")
        XCTAssertEqual(ReportFormat.count(21_678_720), "21,678,720")
    }

    func testBestPerColumnFollowsItsDirectionAndTiesAtThePrintedPrecision() {
        XCTAssertEqual(table.bestRows(column: 0), [0, 2]) // 0.812 and 0.812 as printed, above 0.700
        XCTAssertEqual(table.bestRows(column: 1), [1, 3]) // lower is better; 2.25 and 2.25
        XCTAssertEqual(table.bestRows(column: 2), [])
    }

    func testHTMLMarksTheBestWithStrongAndEscapes() {
        let html = table.html()
        XCTAssertTrue(html.contains("<caption>Demo &amp; co</caption>"))
        XCTAssertTrue(html.contains("<th colspan=\"2\" class=\"group\">nih</th>"))
        XCTAssertTrue(html.contains("<td><strong>0.812 (0.790–0.833)</strong></td><td>3.50</td><td>1,000</td>"))
    }

    func testMarkdownAndLaTeXMarkTheBest() {
        XCTAssertTrue(table.markdown().contains("| a | **0.812 (0.790–0.833)** | 3.50 | 1,000 |"), table.markdown())
        let latex = table.latex()
        XCTAssertTrue(latex.contains("\\multicolumn{2}{c}{nih}"), latex)
        XCTAssertTrue(latex.contains("a & \\textbf{0.812 (0.790--0.833)} & 3.50 & 1,000 \\\\"), latex)
        XCTAssertTrue(latex.contains("c & — & \\textbf{2.25} & 10 \\\\"), latex)
    }

    func testCSVSplitsValueAndBounds() {
        let lines = table.csv().split(separator: "\n")
        XCTAssertEqual(lines[0], "Model,nih · kNN,nih · kNN lower,nih · kNN upper,nih · HD95,nih · HD95 lower,nih · HD95 upper,Params")
        XCTAssertEqual(lines[1], "a,0.8124,0.7901,0.8333,3.500,,,\"1,000\"")
        XCTAssertEqual(lines[4], "c,,,,2.255,,,10")
    }

    func testRanksShareTies() {
        XCTAssertEqual(StudyFigures.ranks(["a": 0.9, "b": 0.8, "c": 0.8, "d": 0.1]), ["a": 1, "b": 2.5, "c": 2.5, "d": 4])
    }
}
