import Foundation

/// One published weight file: where it is fetched from, the name it is kept under in the cache, the
/// SHA-256 it must have and, when published, its size in bytes (checked before the digest, and used as
/// the progress total when the server does not say).
public struct DownloadSource: Sendable, Hashable {
    /// An `http`, `https` or `file` URL.
    public let url: URL
    /// The file's name in the cache folder (one path component).
    public let fileName: String
    /// The digest the file must have.
    public let sha256: DigestPin
    /// The file's size in bytes, when known.
    public let expectedBytes: Int64?

    /// A source; throws when the URL's scheme is not http, https or file, or `fileName` is not a plain
    /// file name (empty, `.`/`..`, hidden, or holding a `/`).
    public init(url: URL, fileName: String, sha256: DigestPin, expectedBytes: Int64? = nil) throws {
        guard let scheme = url.scheme?.lowercased(), ["http", "https", "file"].contains(scheme) else {
            throw ModelDownloadError.unsupportedURL(url)
        }
        guard !fileName.isEmpty, !fileName.hasPrefix("."), !fileName.contains("/"), !fileName.contains("\0") else {
            throw ModelDownloadError.invalidFileName(fileName)
        }
        if let expectedBytes, expectedBytes < 0 { throw ModelDownloadError.invalidExpectedSize(expectedBytes) }
        self.url = url
        self.fileName = fileName
        self.sha256 = sha256
        self.expectedBytes = expectedBytes
    }
}
