import FileAccess
import Foundation
import MedicalImaging

/// A split stored as a UTF-8 text file, so that runs evaluate on exactly the same items:
///
///     # radprobe split v1 dataset=NAME method=RECORD items=N sha256=HEX
///     id,patient,part
///     images/00000001_000.png,00000001,train
///     …
///
/// Line 1 is the header: single spaces between fields; `NAME` the catalog's name (no whitespace),
/// `RECORD` the `SplitMethod.record`, `N` the number of item rows, `HEX` the lowercase SHA-256 of the
/// body — every byte after line 1's terminating `\n` up to the end of the file (the column line and
/// all item rows, each ending in `\n`). The body is CSV (RFC 4180): one row per item in the split's
/// order, a field wrapped in double quotes (inner quotes doubled) when it holds a comma or a quote;
/// ids and patients cannot hold line breaks. `part` is `train`, `validation` or `test`.
public enum SplitFile {
    /// The file's first line up to the dataset name.
    static let signature = "# radprobe split v1"
    /// The body's first line.
    static let columns = "id,patient,part"

    /// Writes `split` to `url` atomically (a reader sees the old file or the whole new one).
    public static func write(_ split: DatasetSplit, to url: URL) throws {
        try AtomicFile.write(encode(split, file: url.path), to: url)
    }

    /// Reads and verifies the split file at `url` (see `decode`).
    public static func read(_ url: URL) throws -> DatasetSplit {
        let data = try FileBytes.read(contentsOf: url)
        return try decode(data, file: url.path)
    }

    /// The file's bytes. Throws an `ImagingError` naming `file` when the dataset name holds whitespace
    /// or an id or patient is empty or holds a line break (what `decode` would refuse).
    public static func encode(_ split: DatasetSplit, file: String) throws -> Data {
        guard !split.dataset.isEmpty, !split.dataset.unicodeScalars.contains(where: { $0.properties.isWhitespace }) else {
            throw ImagingError(file: file, problem: "dataset name '\(split.dataset)' must be non-empty without whitespace")
        }
        var body = columns + "\n"
        for assignment in split.assignments {
            for value in [assignment.id, assignment.patient] where value.isEmpty || value.contains(where: \.isNewline) {
                throw ImagingError(file: file, problem: value.isEmpty ? "item \(assignment.id) has an empty id or patient, which a split file cannot store"
                                                                      : "'\(value)' holds a line break, which a split file cannot store")
            }
            body += [assignment.id, assignment.patient, assignment.part.rawValue].map(csvField).joined(separator: ",") + "\n"
        }
        let bodyBytes = Array(body.utf8)
        let header = "\(signature) dataset=\(split.dataset) method=\(split.method.record) "
            + "items=\(split.assignments.count) sha256=\(SHA256.hex(bodyBytes))\n"
        return Data(header.utf8) + Data(bodyBytes)
    }

    /// The split stored in `data`, verified: the header's form, version, method and item count, the
    /// body's checksum, every row's form and part, no duplicate id, and no patient on two parts.
    /// Errors are `ImagingError`s naming `file` and the line.
    public static func decode(_ data: Data, file: String) throws -> DatasetSplit {
        func failure(_ line: Int, _ problem: String) -> ImagingError { ImagingError(file: file, problem: "line \(line): \(problem)") }
        let bytes = [UInt8](data)
        guard let headerEnd = bytes.firstIndex(of: 0x0A) else {
            throw failure(1, "no header line ending in a newline (not a split file, or truncated)")
        }
        let header = try parseHeader(bytes[..<headerEnd], failure: { failure(1, $0) })
        let body = bytes[(headerEnd + 1)...]
        let digest = SHA256.hex(Array(body))
        guard digest == header.checksum else {
            throw failure(1, "checksum mismatch: the header says sha256 \(header.checksum) but the rows hash to \(digest) "
                + "(the file was edited or truncated)")
        }
        // Line 1 blanked (CSVTable skips blank lines) so that the table's line numbers are the file's.
        let table = try CSVTable(parsing: Data([0x0A]) + Data(body), file: file)
        guard table.header == ["id", "patient", "part"] else {
            throw failure(2, "expected the column line '\(columns)'")
        }
        var assignments: [SplitAssignment] = []
        var lineOfID: [String: Int] = [:]
        var placeOfPatient: [String: (part: SplitPart, line: Int)] = [:]
        for row in table.rows {
            let (id, patient) = (row.fields[0], row.fields[1])
            guard !id.isEmpty, !patient.isEmpty else { throw failure(row.line, "has an empty id or patient") }
            guard let part = SplitPart(rawValue: row.fields[2]) else {
                throw failure(row.line, "unknown part '\(row.fields[2])' (train, validation or test)")
            }
            if let earlier = lineOfID[id] { throw failure(row.line, "id \(id) already appears on line \(earlier)") }
            if let earlier = placeOfPatient[patient], earlier.part != part {
                throw failure(row.line, "patient \(patient) is in \(part.rawValue) here but in \(earlier.part.rawValue) "
                    + "on line \(earlier.line) (a patient's items must share one part)")
            }
            lineOfID[id] = row.line
            placeOfPatient[patient] = placeOfPatient[patient] ?? (part, row.line)
            assignments.append(SplitAssignment(id: id, patient: patient, part: part))
        }
        guard assignments.count == header.items else {
            throw failure(1, "the header promises \(header.items) items but the file holds \(assignments.count)")
        }
        return DatasetSplit(checkedDataset: header.dataset, method: header.method, assignments: assignments)
    }

    /// The header's fields: `# radprobe split v1 dataset=… method=… items=… sha256=…`.
    private static func parseHeader(_ bytes: ArraySlice<UInt8>, failure: (String) -> ImagingError) throws
        -> (dataset: String, method: SplitMethod, items: Int, checksum: String) {
        guard let text = String(bytes: bytes, encoding: .utf8), text.hasPrefix("# radprobe split ") else {
            throw failure("is not a radprobe split file (the first line must start with '# radprobe split')")
        }
        let tokens = text.split(separator: " ", omittingEmptySubsequences: false).map(String.init)
        guard tokens.count >= 4, tokens[3] == "v1" else {
            throw failure("split file version \(tokens.count >= 4 ? tokens[3] : "?") is not supported (this reader knows v1)")
        }
        let keys = ["dataset", "method", "items", "sha256"]
        let values = tokens.dropFirst(4).map { $0.split(separator: "=", maxSplits: 1).map(String.init) }
        guard values.count == keys.count, zip(values, keys).allSatisfy({ $0.count == 2 && $0[0] == $1 && !$0[1].isEmpty }) else {
            throw failure("malformed header '\(text)' (expected '\(signature) dataset=NAME method=RECORD items=N sha256=HEX')")
        }
        guard let method = SplitMethod(record: values[1][1]) else { throw failure("unknown split method '\(values[1][1])'") }
        guard let items = Int(values[2][1]), items >= 0 else { throw failure("item count '\(values[2][1])' is not a number") }
        let checksum = values[3][1]
        guard checksum.utf8.count == 64, checksum.utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }) else {
            throw failure("sha256 '\(checksum)' is not 64 lowercase hex digits")
        }
        return (values[0][1], method, items, checksum)
    }

    /// `value` as a CSV field: quoted, with inner quotes doubled, when it holds a comma or a quote.
    private static func csvField(_ value: String) -> String {
        guard value.contains(where: { $0 == "," || $0 == "\"" }) else { return value }
        return "\"" + value.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
