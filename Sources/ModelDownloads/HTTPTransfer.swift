import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// One HTTP(S) GET streamed into a `PartialFile`: each block the session delivers is written and hashed
/// before the next arrives, so memory stays bounded. When the partial file already holds N bytes the
/// request asks for the rest (`Range: bytes=N-`); the answer decides what happens to them:
/// 206 from byte N appends; 200 (the server ignored the range) empties the file and takes the whole
/// body; 416, or a 206 from another byte, means the partial bytes cannot be resumed, and the transfer
/// ends asking the caller to start over. Any other status is an error naming the URL and the status.
/// All mutable state is touched only on the session's serial delegate queue.
final class HTTPTransfer: NSObject, URLSessionDataDelegate, @unchecked Sendable {
    /// How a transfer that did not throw ended.
    enum Outcome: Sendable {
        /// The whole body is in the partial file.
        case finished
        /// The partial bytes cannot be resumed: empty the file and request the whole body.
        case startOver
    }

    private let source: DownloadSource
    private let partial: PartialFile
    private let resumeOffset: Int64
    private let progress: @Sendable (DownloadProgress) -> Void
    private var totalBytes: Int64?
    private var continuation: CheckedContinuation<Outcome, Error>?
    /// Set when the transfer is cancelled on purpose (a status error, a write failure, a start-over).
    private var decided: Result<Outcome, Error>?

    private init(source: DownloadSource, partial: PartialFile, progress: @escaping @Sendable (DownloadProgress) -> Void) {
        self.source = source
        self.partial = partial
        self.resumeOffset = partial.byteCount
        self.progress = progress
        self.totalBytes = source.expectedBytes
    }

    /// Fetches `source.url` into `partial`, resuming after the bytes it holds.
    static func run(
        _ source: DownloadSource, into partial: PartialFile, progress: @escaping @Sendable (DownloadProgress) -> Void
    ) async throws -> Outcome {
        let transfer = HTTPTransfer(source: source, partial: partial, progress: progress)
        let queue = OperationQueue()
        queue.maxConcurrentOperationCount = 1
        let configuration = URLSessionConfiguration.ephemeral
        configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
        configuration.urlCache = nil
        let session = URLSession(configuration: configuration, delegate: transfer, delegateQueue: queue)
        defer { session.finishTasksAndInvalidate() }

        var request = URLRequest(url: source.url)
        request.setValue("identity", forHTTPHeaderField: "Accept-Encoding")
        if transfer.resumeOffset > 0 { request.setValue("bytes=\(transfer.resumeOffset)-", forHTTPHeaderField: "Range") }
        let task = session.dataTask(with: request)
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                queue.addOperation {
                    transfer.continuation = continuation
                    task.resume()
                }
            }
        } onCancel: {
            task.cancel()
        }
    }

    func urlSession(
        _ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
        completionHandler: @escaping (URLSession.ResponseDisposition) -> Void
    ) {
        let status = (response as? HTTPURLResponse)?.statusCode ?? 200
        let bodyLength = response.expectedContentLength >= 0 ? response.expectedContentLength : nil
        do {
            switch status {
            case 200:
                if partial.byteCount > 0 { try partial.restart() }
                totalBytes = bodyLength ?? source.expectedBytes
            case 206 where resumeOffset > 0:
                let range = (response as? HTTPURLResponse).flatMap(Self.contentRange)
                guard range?.first == resumeOffset else { return stop(completionHandler, with: .success(.startOver)) }
                try partial.hashExistingBytes()
                totalBytes = range?.total ?? bodyLength.map { resumeOffset + $0 } ?? source.expectedBytes
            case 416 where resumeOffset > 0:
                return stop(completionHandler, with: .success(.startOver))
            default:
                return stop(completionHandler, with: .failure(ModelDownloadError.httpStatus(url: source.url, status: status)))
            }
        } catch {
            return stop(completionHandler, with: .failure(error))
        }
        progress(DownloadProgress(bytesDone: partial.byteCount, totalBytes: totalBytes))
        completionHandler(.allow)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        guard decided == nil else { return }
        do {
            try partial.append(data)
        } catch {
            decided = .failure(error)
            return dataTask.cancel()
        }
        progress(DownloadProgress(bytesDone: partial.byteCount, totalBytes: totalBytes))
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: Error?) {
        let result: Result<Outcome, Error>
        if let decided {
            result = decided
        } else if let error {
            let reason = (error as? URLError).map { "\($0.localizedDescription), URL error \($0.code.rawValue)" } ?? "\(error)"
            result = .failure(
                partial.byteCount > 0
                    ? ModelDownloadError.interrupted(url: source.url, partial: partial.url, bytesKept: partial.byteCount, reason: reason)
                    : ModelDownloadError.transferFailed(url: source.url, reason: reason))
        } else {
            result = .success(.finished)
        }
        continuation?.resume(with: result)
        continuation = nil
    }

    /// Cancels the transfer, which then ends with `result`.
    private func stop(_ completionHandler: (URLSession.ResponseDisposition) -> Void, with result: Result<Outcome, Error>) {
        decided = result
        completionHandler(.cancel)
    }

    /// The first byte and the total length of a `Content-Range: bytes first-last/total` header (total nil when `*`).
    static func contentRange(of response: HTTPURLResponse) -> (first: Int64, total: Int64?)? {
        guard let header = response.value(forHTTPHeaderField: "Content-Range")?.trimmingCharacters(in: .whitespaces),
              header.lowercased().hasPrefix("bytes ")
        else { return nil }
        let spec = header.dropFirst("bytes ".count)
        let parts = spec.split(separator: "/", maxSplits: 1)
        guard let span = parts.first, let first = span.split(separator: "-").first.flatMap({ Int64($0) }) else { return nil }
        return (first, parts.count == 2 ? Int64(parts[1]) : nil)
    }
}

/// How far a download has come: `bytesDone` of `totalBytes` (nil when neither the server nor the
/// source says how large the file is).
public struct DownloadProgress: Sendable, Hashable {
    /// Bytes of the file written so far, resumed bytes included.
    public let bytesDone: Int64
    /// The file's full size, when known.
    public let totalBytes: Int64?

    public init(bytesDone: Int64, totalBytes: Int64?) {
        self.bytesDone = bytesDone
        self.totalBytes = totalBytes
    }
}
