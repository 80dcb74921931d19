import FileAccess
import Foundation
import MedicalImaging

/// File-system checks shared by the adapters, with errors that name the path.
enum LayoutFiles {
    /// Whether `url` is an existing folder.
    static func isFolder(_ url: URL) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) && isDirectory.boolValue
    }

    /// Whether `url` is an existing file (not a folder).
    static func isFile(_ url: URL) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) && !isDirectory.boolValue
    }

    /// Throws unless `url` is an existing folder.
    static func requireFolder(_ url: URL) throws {
        guard FileManager.default.fileExists(atPath: url.path) else { throw ImagingError(file: url.path, problem: "does not exist") }
        guard isFolder(url) else { throw ImagingError(file: url.path, problem: "is not a folder") }
    }

    /// The names in the folder `url`, sorted, without hidden entries (`.DS_Store` and the like).
    static func visibleNames(in url: URL) throws -> [String] {
        try requireFolder(url)
        do {
            return try FileManager.default.contentsOfDirectory(atPath: url.path).filter { !$0.hasPrefix(".") }.sorted()
        } catch {
            throw ImagingError(file: url.path, problem: "cannot be listed (\(error.localizedDescription))")
        }
    }

    /// The non-blank lines of a list file of one entry per line (e.g. NIH's `test_list.txt`), trimmed,
    /// with their 1-based line numbers.
    static func listEntries(of url: URL) throws -> [(line: Int, entry: String)] {
        guard let text = String(data: try FileBytes.read(contentsOf: url), encoding: .utf8) else {
            throw ImagingError(file: url.path, problem: "is not a list file: not valid UTF-8 text")
        }
        return text.split(separator: "\n", omittingEmptySubsequences: false).enumerated().compactMap { index, line in
            let entry = line.trimmingCharacters(in: .whitespacesAndNewlines)
            return entry.isEmpty ? nil : (index + 1, entry)
        }
    }
}
