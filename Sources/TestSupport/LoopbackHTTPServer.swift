import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A minimal HTTP/1.1 server on 127.0.0.1 (an ephemeral port) for tests of code that downloads: it
/// serves byte payloads by path, honours `Range: bytes=N-` with `206 Partial Content` (or `416` when N
/// is at or past the end), and can misbehave on purpose — ignore ranges (answer 200 with the whole
/// body), cut the connection after K body bytes, answer an error status, or redirect. Every request's
/// method, path and `Range` header is recorded. One connection per request (`Connection: close`),
/// each served on its own thread; `stop()` (or deinit) closes the listening socket.
public final class LoopbackHTTPServer: @unchecked Sendable {
    /// What the server does for one path.
    public enum Route: Sendable {
        /// Serves `body`; with `ignoresRange` it answers every request with 200 and the whole body;
        /// with `cutAfter: K` it announces the full length but closes the connection after K body bytes.
        case payload(Data, ignoresRange: Bool = false, cutAfter: Int? = nil)
        /// Answers `status` with a short text body.
        case status(Int)
        /// Answers 302 with `Location: <path>` on this server.
        case redirect(to: String)
    }

    /// One request as received.
    public struct Request: Sendable, Equatable {
        public let method: String
        public let path: String
        /// The `Range` header's value, if the request had one.
        public let range: String?
    }

    /// The port the server listens on.
    public let port: UInt16
    private let listener: Int32
    private let lock = NSLock()
    private var routes: [String: Route] = [:]
    private var recorded: [Request] = []
    private var stopped = false

    /// Starts listening on 127.0.0.1 at a port the system picks.
    public init() throws {
        #if canImport(Glibc)
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        let descriptor = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard descriptor >= 0 else { throw Self.failure("socket") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer -> Bool in
                bind(descriptor, pointer, length) == 0 && listen(descriptor, 16) == 0
                    && getsockname(descriptor, pointer, &length) == 0
            }
        }
        guard bound else {
            close(descriptor)
            throw Self.failure("bind/listen")
        }
        listener = descriptor
        port = UInt16(bigEndian: address.sin_port)
        let box = WeakServer()
        box.server = self
        Thread.detachNewThread { Self.acceptLoop(listener: descriptor, server: box) }
    }

    deinit { stop() }

    /// The URL of `path` (starting with `/`) on this server.
    public func url(_ path: String) -> URL {
        URL(string: "http://127.0.0.1:\(port)\(path)")!
    }

    /// Makes `path` answer as `route` from the next request on.
    public func setRoute(_ route: Route, for path: String) {
        lock.withLock { routes[path] = route }
    }

    /// The requests received so far, in order.
    public var requests: [Request] {
        lock.withLock { recorded }
    }

    /// Stops accepting connections (connections being served finish).
    public func stop() {
        let alreadyStopped = lock.withLock { () -> Bool in
            defer { stopped = true }
            return stopped
        }
        guard !alreadyStopped else { return }
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }

    private var isStopped: Bool { lock.withLock { stopped } }

    /// Accepts connections until the server stops, serving each on a new thread.
    private static func acceptLoop(listener: Int32, server: WeakServer) {
        while true {
            var poller = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
            let ready = poll(&poller, 1, 100)
            guard let current = server.server, !current.isStopped else { return }
            guard ready > 0 else { continue }
            let connection = accept(listener, nil, nil)
            guard connection >= 0 else { continue }
            Thread.detachNewThread { current.serve(connection) }
        }
    }

    /// Reads one request from `connection`, answers it, and closes the connection.
    private func serve(_ connection: Int32) {
        defer { close(connection) }
        #if canImport(Darwin)
        var one: Int32 = 1
        setsockopt(connection, SOL_SOCKET, SO_NOSIGPIPE, &one, socklen_t(MemoryLayout<Int32>.size))
        #endif
        guard let head = Self.readHead(connection) else { return }
        let lines = head.components(separatedBy: "\r\n")
        let requestLine = lines[0].split(separator: " ")
        guard requestLine.count >= 2 else { return }
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        let request = Request(method: String(requestLine[0]), path: String(requestLine[1]), range: headers["range"])
        let route = lock.withLock { () -> Route? in
            recorded.append(request)
            return routes[request.path]
        }
        switch route {
        case nil:
            Self.send(connection, status: 404, headers: [:], body: Data("not found\n".utf8))
        case let .status(status):
            Self.send(connection, status: status, headers: [:], body: Data("status \(status)\n".utf8))
        case let .redirect(target):
            Self.send(connection, status: 302, headers: ["Location": "http://127.0.0.1:\(port)\(target)"], body: Data())
        case let .payload(body, ignoresRange, cutAfter):
            Self.sendPayload(body, connection: connection, range: ignoresRange ? nil : request.range, cutAfter: cutAfter)
        }
    }

    /// Sends `body` whole (200) or from the first byte of a `bytes=N-` range (206, or 416 past the end),
    /// writing at most `cutAfter` body bytes.
    private static func sendPayload(_ body: Data, connection: Int32, range: String?, cutAfter: Int?) {
        var status = 200
        var start = 0
        var headers = ["Accept-Ranges": "bytes"]
        if let range, range.hasPrefix("bytes="), range.hasSuffix("-"), let first = Int(range.dropFirst(6).dropLast()) {
            guard first < body.count else {
                headers["Content-Range"] = "bytes */\(body.count)"
                return send(connection, status: 416, headers: headers, body: Data())
            }
            status = 206
            start = first
            headers["Content-Range"] = "bytes \(first)-\(body.count - 1)/\(body.count)"
        }
        let content = body.subdata(in: start..<body.count)
        send(connection, status: status, headers: headers, body: content, sentBodyBytes: min(cutAfter ?? content.count, content.count))
    }

    /// Writes a response whose head announces `body.count` bytes, followed by the first `sentBodyBytes` of them.
    private static func send(_ connection: Int32, status: Int, headers: [String: String], body: Data, sentBodyBytes: Int? = nil) {
        var head = "HTTP/1.1 \(status) \(HTTPStatus.reason(status))\r\nContent-Length: \(body.count)\r\nConnection: close\r\n"
        for (name, value) in headers.sorted(by: { $0.key < $1.key }) { head += "\(name): \(value)\r\n" }
        head += "\r\n"
        guard write(Data(head.utf8), to: connection) else { return }
        _ = write(body.prefix(sentBodyBytes ?? body.count), to: connection)
    }

    /// Writes all of `data`; false when the peer has gone.
    private static func write(_ data: Data, to connection: Int32) -> Bool {
        data.withUnsafeBytes { bytes -> Bool in
            var offset = 0
            while offset < bytes.count {
                #if canImport(Glibc)
                let sent = Glibc.send(connection, bytes.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL))
                #else
                let sent = Darwin.send(connection, bytes.baseAddress! + offset, bytes.count - offset, 0)
                #endif
                guard sent > 0 else { return false }
                offset += sent
            }
            return true
        }
    }

    /// The request head up to the blank line, or nil when the peer closes first.
    private static func readHead(_ connection: Int32) -> String? {
        var received = Data()
        var buffer = [UInt8](repeating: 0, count: 4096)
        let terminator = Data("\r\n\r\n".utf8)
        while received.range(of: terminator) == nil {
            let count = recv(connection, &buffer, buffer.count, 0)
            guard count > 0 else { return nil }
            received.append(buffer, count: count)
        }
        return String(decoding: received[..<received.range(of: terminator)!.lowerBound], as: UTF8.self)
    }

    private static func failure(_ call: String) -> Error {
        NSError(domain: "LoopbackHTTPServer", code: Int(errno), userInfo: [NSLocalizedDescriptionKey: "\(call) failed: errno \(errno)"])
    }
}

/// The accept thread's reference to its server, which must not keep the server alive.
private final class WeakServer: @unchecked Sendable {
    weak var server: LoopbackHTTPServer?
}

/// Reason phrases for the statuses the server sends.
private enum HTTPStatus {
    static func reason(_ status: Int) -> String {
        switch status {
        case 200: return "OK"
        case 206: return "Partial Content"
        case 302: return "Found"
        case 404: return "Not Found"
        case 416: return "Range Not Satisfiable"
        case 500: return "Internal Server Error"
        default: return "Status"
        }
    }
}
