import Foundation

/// Reads whole files with errors that name the file: missing, a directory, or unreadable.
public enum FileBytes {
    /// The bytes of the file at `url`.
    public static func read(contentsOf url: URL) throws -> Data {
        let file = url.path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: file, isDirectory: &isDirectory) else {
            throw FileError(file: file, problem: "cannot be read: no such file")
        }
        guard !isDirectory.boolValue else { throw FileError(file: file, problem: "cannot be read: is a directory") }
        do { return try Data(contentsOf: url, options: .mappedIfSafe) } catch {
            throw FileError(file: file, problem: "cannot be read (\(error.localizedDescription))")
        }
    }
}
