import FileAccess
import Foundation

/// Fetches published weight files into a `ModelCache` and hands back only files whose SHA-256
/// satisfies their pin.
///
/// `download(_:)`:
/// - a file already in the cache is checked again and returned; one that fails the check is reported
///   (`cachedFileFailsVerification`), never silently replaced — `redownload: true` replaces it;
/// - otherwise the body streams into `<name>.partial` (an `http(s)` URL resumes an existing partial
///   file with `Range: bytes=N-`; a `file` URL, a local mirror, is copied), hashed as it is written;
///   the finished file must have the published size (when given) and satisfy the pin, or it is deleted
///   and the error names the URL, the pin and the digest that arrived; a file that passes is renamed
///   to `<name>` in one step;
/// - an interrupted transfer keeps `<name>.partial` for the next call to resume.
public struct ModelDownloader: Sendable {
    /// Where files are kept.
    public let cache: ModelCache

    /// A downloader into `cache`.
    public init(cache: ModelCache) {
        self.cache = cache
    }

    /// The verified file for `source` in the cache, fetched first unless already there; `redownload`
    /// discards any cached or partial copy first. `progress` is called as bytes arrive (on another thread).
    public func download(
        _ source: DownloadSource, redownload: Bool = false,
        progress: @escaping @Sendable (DownloadProgress) -> Void = { _ in }
    ) async throws -> URL {
        let destination = cache.fileURL(for: source)
        let partialURL = cache.partialURL(for: source)
        if redownload {
            try remove(destination)
            try remove(partialURL)
        } else if ModelCache.regularFileSize(at: destination) != nil {
            return try verifiedCachedFile(destination, of: source)
        }
        do {
            try FileManager.default.createDirectory(at: cache.directory, withIntermediateDirectories: true)
        } catch {
            throw ModelDownloadError.fileSystem(path: cache.directory.path, problem: "cannot be created (\(error.localizedDescription))")
        }
        if source.url.isFileURL {
            try remove(partialURL)
            return try copy(source, into: PartialFile(url: partialURL), destination: destination, progress: progress)
        }
        if let finished = try completedPartial(of: source, at: partialURL, destination: destination) { return finished }
        let partial = try PartialFile(url: partialURL)
        do {
            while try await HTTPTransfer.run(source, into: partial, progress: progress) == .startOver {
                try partial.restart()
            }
        } catch {
            if partial.byteCount == 0 { try? FileManager.default.removeItem(at: partialURL) }
            throw error
        }
        return try partial.complete(as: source, at: destination)
    }

    /// `file`, after checking that it satisfies `source`'s pin.
    private func verifiedCachedFile(_ file: URL, of source: DownloadSource) throws -> URL {
        let got: String
        do { got = try SHA256.hex(contentsOf: file) } catch {
            throw ModelDownloadError.fileSystem(path: file.path, problem: "cannot be read to verify it (\(error))")
        }
        guard source.sha256.isSatisfied(byDigest: got) else {
            throw ModelDownloadError.cachedFileFailsVerification(file: file, expected: source.sha256, got: got)
        }
        return file
    }

    /// A partial file that already has the published size is the whole file when its digest matches
    /// (the previous run stopped between the last byte and the rename): put in place without asking the
    /// server. One that is as large or larger but does not match is deleted, and nil returned.
    private func completedPartial(of source: DownloadSource, at partialURL: URL, destination: URL) throws -> URL? {
        guard let expected = source.expectedBytes, let size = ModelCache.regularFileSize(at: partialURL), size >= expected else {
            return nil
        }
        do {
            return try PartialFile(url: partialURL).complete(as: source, at: destination)
        } catch ModelDownloadError.sizeMismatch, ModelDownloadError.digestMismatch {
            return nil
        }
    }

    /// Copies the local file `source.url` into `partial`, then checks and renames it.
    private func copy(
        _ source: DownloadSource, into partial: PartialFile, destination: URL,
        progress: @Sendable (DownloadProgress) -> Void
    ) throws -> URL {
        let total = ModelCache.regularFileSize(at: source.url)
        do {
            let handle = try FileHandle(forReadingFrom: source.url)
            defer { try? handle.close() }
            while let block = try handle.read(upToCount: 4 << 20), !block.isEmpty {
                try partial.append(block)
                progress(DownloadProgress(bytesDone: partial.byteCount, totalBytes: total))
            }
        } catch let error as ModelDownloadError {
            try? FileManager.default.removeItem(at: partial.url)
            throw error
        } catch {
            try? FileManager.default.removeItem(at: partial.url)
            throw ModelDownloadError.transferFailed(url: source.url, reason: error.localizedDescription)
        }
        return try partial.complete(as: source, at: destination)
    }

    /// Deletes `file` if it exists.
    private func remove(_ file: URL) throws {
        guard FileManager.default.fileExists(atPath: file.path) else { return }
        do { try FileManager.default.removeItem(at: file) } catch {
            throw ModelDownloadError.fileSystem(path: file.path, problem: "cannot be deleted (\(error.localizedDescription))")
        }
    }
}
