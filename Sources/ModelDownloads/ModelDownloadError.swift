import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Why a weight file could not be fetched or trusted. Each description names the URL or file concerned
/// and what the user can do about it.
public enum ModelDownloadError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A pin that is not 8 to 64 hex digits.
    case invalidPin(String, reason: String)
    /// A URL whose scheme is not http, https or file.
    case unsupportedURL(URL)
    /// A cache file name that is not one plain path component.
    case invalidFileName(String)
    /// A negative expected size.
    case invalidExpectedSize(Int64)
    /// Neither `XDG_CACHE_HOME` nor `HOME` says where the cache is.
    case noCacheDirectory
    /// The server answered with an error status.
    case httpStatus(url: URL, status: Int)
    /// The transfer stopped early; the bytes received so far are kept in `partial` for the next call to resume.
    case interrupted(url: URL, partial: URL, bytesKept: Int64, reason: String)
    /// The transfer failed before any byte of the file arrived (the server is unreachable, say).
    case transferFailed(url: URL, reason: String)
    /// The whole file arrived but its size differs from the published one; it was deleted.
    case sizeMismatch(url: URL, expected: Int64, got: Int64)
    /// The whole file arrived but its digest does not satisfy the pin; it was deleted.
    case digestMismatch(url: URL, expected: DigestPin, got: String)
    /// The file already in the cache does not satisfy the pin (it is left in place for the user to inspect).
    case cachedFileFailsVerification(file: URL, expected: DigestPin, got: String)
    /// The cache folder or a file in it cannot be created, written, renamed or read.
    case fileSystem(path: String, problem: String)

    public var description: String {
        switch self {
        case let .invalidPin(text, reason):
            return "'\(text)' is not a valid SHA-256 pin: \(reason)"
        case let .unsupportedURL(url):
            return "\(url.absoluteString): only http, https and file URLs can be downloaded"
        case let .invalidFileName(name):
            return "'\(name)' cannot name a file in the model cache: it must be one plain, non-hidden file name"
        case let .invalidExpectedSize(bytes):
            return "an expected file size of \(bytes) bytes is impossible"
        case .noCacheDirectory:
            return "cannot tell where the model cache is: neither XDG_CACHE_HOME (an absolute path) nor HOME is set; name a cache folder"
        case let .httpStatus(url, status):
            return "\(url.absoluteString): the server answered HTTP \(status) (\(HTTPURLResponse.localizedString(forStatusCode: status)))"
        case let .interrupted(url, partial, bytesKept, reason):
            return "\(url.absoluteString): the download stopped after \(bytesKept) bytes (\(reason)); they are kept in "
                + "\(partial.path) and the next download resumes from there"
        case let .transferFailed(url, reason):
            return "\(url.absoluteString): cannot be downloaded (\(reason))"
        case let .sizeMismatch(url, expected, got):
            return "\(url.absoluteString): the file has \(got) bytes where \(expected) were expected; it was deleted"
        case let .digestMismatch(url, expected, got):
            return "\(url.absoluteString): the file's sha256 is \(got), which does not match the \(expected) expected; it was deleted"
        case let .cachedFileFailsVerification(file, expected, got):
            return "\(file.path): this cached file's sha256 is \(got), which does not match the \(expected) expected; "
                + "delete it, or download again with the redownload option"
        case let .fileSystem(path, problem):
            return "\(path): \(problem)"
        }
    }
}
