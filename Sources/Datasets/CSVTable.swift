import FileAccess
import Foundation
import MedicalImaging

/// A comma-separated table as RFC 4180 defines it: a header row naming the columns, then one record
/// per row, every record with as many fields as the header.
///
/// Fields may be quoted (`"a, b"`), a quote inside a quoted field is doubled (`"say ""hi"""`), and a
/// quoted field may span lines. Lines end with LF or CRLF; a UTF-8 byte-order mark is skipped; blank
/// lines are skipped. Header names are trimmed of surrounding spaces; field values are kept as written
/// (`Row.value(_:)` trims them). Every error names the file and the line of the offending record.
public struct CSVTable: Sendable {
    /// One record and the line (1-based) it starts on.
    public struct Row: Sendable {
        /// The line of the file where the record starts (the header is line 1 unless blank lines precede it).
        public let line: Int
        /// The fields, one per header column, as written (quotes removed).
        public let fields: [String]

        /// The field of `column`, trimmed of surrounding spaces and tabs.
        public func value(_ column: Int) -> String {
            fields[column].trimmingCharacters(in: .whitespaces)
        }
    }

    /// The file the table was read from (or the label given for in-memory text), as errors name it.
    public let file: String
    /// The column names, trimmed.
    public let header: [String]
    /// The records after the header, in file order.
    public let rows: [Row]

    /// Reads the table in the file at `url`.
    public init(contentsOf url: URL) throws {
        try self.init(parsing: FileBytes.read(contentsOf: url), file: url.path)
    }

    /// Parses `data` (UTF-8 text); `file` names the source in errors.
    public init(parsing data: Data, file: String) throws {
        guard let text = String(data: data, encoding: .utf8) else {
            throw ImagingError(file: file, problem: "is not a CSV table: not valid UTF-8 text")
        }
        var records = try CSVTable.records(in: Array(text.utf8), file: file)
        guard !records.isEmpty else { throw ImagingError(file: file, problem: "is empty: a CSV table needs a header row") }
        let headerRecord = records.removeFirst()
        let header = headerRecord.fields.map { $0.trimmingCharacters(in: .whitespaces) }
        var seen = Set<String>()
        for name in header where !name.isEmpty {
            guard seen.insert(name).inserted else {
                throw ImagingError(file: file, problem: "line \(headerRecord.line): the header names column \"\(name)\" twice")
            }
        }
        for record in records where record.fields.count != header.count {
            throw ImagingError(file: file, problem: "line \(record.line): has \(record.fields.count) fields, but the header has \(header.count) columns")
        }
        self.file = file
        self.header = header
        self.rows = records
    }

    /// The index of the column named `name`, if the header has it.
    public func column(_ name: String) -> Int? { header.firstIndex(of: name) }

    /// The index of the column named `name`; throws naming the file and the columns it has otherwise.
    public func requiredColumn(_ name: String) throws -> Int {
        guard let index = column(name) else {
            throw ImagingError(file: file, problem: "has no column \"\(name)\" (its columns: \(header.map { "\"\($0)\"" }.joined(separator: ", ")))")
        }
        return index
    }

    /// An error about `row`: `"<file>: line <n>: <problem>"`.
    public func error(at row: Row, _ problem: String) -> ImagingError {
        ImagingError(file: file, problem: "line \(row.line): \(problem)")
    }

    private static let quote = UInt8(ascii: "\""), comma = UInt8(ascii: ","),
                       lineFeed = UInt8(ascii: "\n"), carriageReturn = UInt8(ascii: "\r")

    /// Splits `bytes` into records; blank lines give no record.
    private static func records(in bytes: [UInt8], file: String) throws -> [Row] {
        var records: [Row] = []
        var fields: [String] = []
        var field: [UInt8] = []
        var line = 1, recordLine = 1
        var index = bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0
        var fieldWasQuoted = false

        func endRecord() {
            fields.append(String(decoding: field, as: UTF8.self))
            let blank = fields.count == 1 && fields[0].isEmpty && !fieldWasQuoted
            if !blank { records.append(Row(line: recordLine, fields: fields)) }
            fields = []
            field = []
            fieldWasQuoted = false
        }

        while index < bytes.count {
            let byte = bytes[index]
            if byte == quote {
                guard field.isEmpty && !fieldWasQuoted else {
                    throw ImagingError(file: file, problem: "line \(line): a quote inside an unquoted field (quote the whole field and double the quote)")
                }
                fieldWasQuoted = true
                index += 1
                while true {
                    guard index < bytes.count else {
                        throw ImagingError(file: file, problem: "line \(recordLine): a quoted field is never closed")
                    }
                    let inner = bytes[index]
                    index += 1
                    if inner == quote {
                        if index < bytes.count && bytes[index] == quote {
                            field.append(quote)
                            index += 1
                        } else {
                            break
                        }
                    } else {
                        if inner == lineFeed { line += 1 }
                        field.append(inner)
                    }
                }
                if index < bytes.count, bytes[index] != comma, bytes[index] != lineFeed, bytes[index] != carriageReturn {
                    throw ImagingError(file: file, problem: "line \(line): text after the closing quote of a field")
                }
            } else if byte == comma {
                fields.append(String(decoding: field, as: UTF8.self))
                field = []
                fieldWasQuoted = false
                index += 1
            } else if byte == lineFeed || byte == carriageReturn {
                index += (byte == carriageReturn && index + 1 < bytes.count && bytes[index + 1] == lineFeed) ? 2 : 1
                endRecord()
                line += 1
                recordLine = line
            } else {
                field.append(byte)
                index += 1
            }
        }
        if !field.isEmpty || !fields.isEmpty || fieldWasQuoted { endRecord() }
        return records
    }
}

extension CSVTable {
    /// The problem of a file that `row` lists but that does not exist: names the missing file, this
    /// table and the line.
    public func missingFile(_ url: URL, listedAt row: Row) -> ImagingError {
        ImagingError(file: url.path, problem: "is missing (listed in \(file) line \(row.line))")
    }
}
