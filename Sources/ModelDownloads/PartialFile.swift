import FileAccess
import Foundation

/// The `<name>.partial` file a download is written into, and the SHA-256 of the bytes in it so far.
/// `append` writes and hashes each block as it arrives, so memory stays bounded whatever the file's
/// size; `complete` checks size and digest and renames the file into place, or deletes it.
/// Used from one thread at a time.
final class PartialFile {
    let url: URL
    private let handle: FileHandle
    private var digest = SHA256.Incremental()
    /// Bytes in the file.
    private(set) var byteCount: Int64
    /// Whether `digest` has seen all `byteCount` bytes (false after opening an existing file, until
    /// `hashExistingBytes`).
    private var digestCoversFile: Bool

    /// Opens `url` to append, creating it empty when absent; `byteCount` is then its current length.
    init(url: URL) throws {
        self.url = url
        if !FileManager.default.fileExists(atPath: url.path) {
            guard FileManager.default.createFile(atPath: url.path, contents: nil) else {
                throw ModelDownloadError.fileSystem(path: url.path, problem: "cannot be created")
            }
        }
        do {
            handle = try FileHandle(forUpdating: url)
            byteCount = Int64(try handle.seekToEnd())
        } catch {
            throw ModelDownloadError.fileSystem(path: url.path, problem: "cannot be opened for writing (\(error.localizedDescription))")
        }
        digestCoversFile = byteCount == 0
    }

    deinit { try? handle.close() }

    /// Reads the bytes already in the file through the digest, once, before new bytes are appended to them.
    func hashExistingBytes() throws {
        guard !digestCoversFile else { return }
        try digest.update(contentsOf: url)
        digestCoversFile = true
    }

    /// Empties the file and the digest (the server sends the whole file again).
    func restart() throws {
        do {
            try handle.truncate(atOffset: 0)
        } catch {
            throw ModelDownloadError.fileSystem(path: url.path, problem: "cannot be emptied (\(error.localizedDescription))")
        }
        digest = SHA256.Incremental()
        byteCount = 0
        digestCoversFile = true
    }

    /// Writes `data` at the end of the file and through the digest.
    func append(_ data: Data) throws {
        precondition(digestCoversFile, "PartialFile.append before hashExistingBytes")
        do {
            try handle.write(contentsOf: data)
        } catch {
            throw ModelDownloadError.fileSystem(path: url.path, problem: "cannot be written (\(error.localizedDescription))")
        }
        data.withUnsafeBytes { digest.update($0) }
        byteCount += Int64(data.count)
    }

    /// Checks the finished file against `source` (size when published, then digest): when it passes,
    /// renames it to `destination` in one step and returns that; when it fails, deletes it and throws
    /// an error naming the URL, what was expected and what arrived.
    func complete(as source: DownloadSource, at destination: URL) throws -> URL {
        try hashExistingBytes()
        try? handle.synchronize()
        try? handle.close()
        if let expected = source.expectedBytes, expected != byteCount {
            try? FileManager.default.removeItem(at: url)
            throw ModelDownloadError.sizeMismatch(url: source.url, expected: expected, got: byteCount)
        }
        let got = digest.finalize()
        guard source.sha256.isSatisfied(byDigest: got) else {
            try? FileManager.default.removeItem(at: url)
            throw ModelDownloadError.digestMismatch(url: source.url, expected: source.sha256, got: got)
        }
        guard rename(url.path, destination.path) == 0 else {
            throw ModelDownloadError.fileSystem(
                path: destination.path, problem: "cannot be put in place (rename failed: \(String(cString: strerror(errno))))")
        }
        return destination
    }
}
