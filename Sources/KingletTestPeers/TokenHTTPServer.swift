import Foundation

/// One HTTP/1.1 request as the token endpoint sees it.
public struct TokenHTTPRequest: Sendable {
    public var method: String
    /// The path without the query.
    public var path: String
    /// Query parameters in order, percent-decoded ('+' is a space); names may repeat (`scope`).
    public var query: [(name: String, value: String)]
    /// Header names in lower case.
    public var headers: [String: String]
    public var body: Data

    public func values(_ name: String) -> [String] { query.filter { $0.name == name }.map(\.value) }
    public func value(_ name: String) -> String? { values(name).first }
}

/// One HTTP/1.1 response.
public struct TokenHTTPResponse: Sendable {
    public var status: Int
    public var headers: [(String, String)]
    public var body: Data

    public init(status: Int, headers: [(String, String)] = [], body: Data = Data()) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    public static func json(_ status: Int, _ body: Data, headers: [(String, String)] = []) -> TokenHTTPResponse {
        TokenHTTPResponse(status: status, headers: [("Content-Type", "application/json")] + headers, body: body)
    }
}

/// A small blocking HTTP/1.1 server on 127.0.0.1 for the token issuer: one accept thread
/// polling every 50 ms (so `stop()` is prompt), one handler per connection on a global
/// queue, `Connection: close` after each answer, 5 s read timeouts, 64 KiB request cap.
/// Host-only test code, no TLS (the realm is plain http on loopback).
final class TokenHTTPServer: @unchecked Sendable {
    let port: Int
    private let listener: Int32
    private let handler: @Sendable (TokenHTTPRequest) -> TokenHTTPResponse
    private let lock = NSLock()
    private var stopping = false
    private let acceptDone = DispatchSemaphore(value: 0)
    private let connections = DispatchGroup()

    init(handler: @escaping @Sendable (TokenHTTPRequest) -> TokenHTTPResponse) throws {
        self.handler = handler
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw PeerError("socket: \(String(cString: strerror(errno)))") }
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 64) == 0 else {
            let message = String(cString: strerror(errno))
            close(fd)
            throw PeerError("token server: bind/listen: \(message)")
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        listener = fd
        port = Int(UInt16(bigEndian: address.sin_port))
        let thread = Thread { [self] in acceptLoop() }
        thread.name = "kinglet-token-server"
        thread.start()
    }

    private var isStopping: Bool { lock.withLock { stopping } }

    private func acceptLoop() {
        defer { acceptDone.signal() }
        while !isStopping {
            var poller = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, 50) > 0 else { continue }
            let client = accept(listener, nil, nil)
            guard client >= 0 else { continue }
            connections.enter()
            DispatchQueue.global().async { [self] in
                defer { connections.leave() }
                serve(client)
            }
        }
    }

    /// Stops accepting, waits (at most 5 s) for the answers in flight, closes the socket.
    func stop() {
        let first: Bool = lock.withLock {
            defer { stopping = true }
            return !stopping
        }
        guard first else { return }
        acceptDone.wait()
        _ = connections.wait(timeout: .now() + 5)
        close(listener)
    }

    deinit { stop() }

    private func serve(_ fd: Int32) {
        defer { close(fd) }
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let response: TokenHTTPResponse
        if let request = Self.read(fd) {
            response = handler(request)
        } else {
            response = TokenHTTPResponse(status: 400, body: Data("bad request\n".utf8))
        }
        var head = "HTTP/1.1 \(response.status) \(Self.reason(response.status))\r\n"
        for (name, value) in response.headers { head += "\(name): \(value)\r\n" }
        head += "Content-Length: \(response.body.count)\r\nConnection: close\r\n\r\n"
        var bytes = [UInt8](head.utf8) + [UInt8](response.body)
        var offset = 0
        while offset < bytes.count {
            let sent = bytes.withUnsafeMutableBytes { send(fd, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL)) }
            if sent <= 0 { return }
            offset += sent
        }
        shutdown(fd, Int32(SHUT_WR))
    }

    /// Reads one request (head and a Content-Length body); nil when malformed or too slow.
    static func read(_ fd: Int32) -> TokenHTTPRequest? {
        var data = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 4096)
        let limit = 64 * 1024
        var headEnd: Int?
        while headEnd == nil {
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { return nil }
            data += chunk[0..<count]
            guard data.count <= limit else { return nil }
            headEnd = find([13, 10, 13, 10], in: data)
        }
        guard let headEnd, let head = String(bytes: data[0..<headEnd], encoding: .utf8) else { return nil }
        var lines = head.components(separatedBy: "\r\n")
        let requestLine = lines.removeFirst().split(separator: " ")
        guard requestLine.count == 3 else { return nil }
        var headers: [String: String] = [:]
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        var body = Array(data[(headEnd + 4)...])
        let wanted = Int(headers["content-length"] ?? "0") ?? 0
        guard wanted <= limit else { return nil }
        while body.count < wanted {
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { return nil }
            body += chunk[0..<count]
        }
        let target = String(requestLine[1])
        let pathEnd = target.firstIndex(of: "?") ?? target.endIndex
        let queryText = pathEnd < target.endIndex ? String(target[target.index(after: pathEnd)...]) : ""
        return TokenHTTPRequest(method: String(requestLine[0]), path: String(target[..<pathEnd]),
                                query: parseForm(queryText), headers: headers, body: Data(body.prefix(wanted)))
    }

    /// `a=1&b=x+y%2F` → [("a","1"), ("b","x y/")].
    static func parseForm(_ text: String) -> [(name: String, value: String)] {
        text.split(separator: "&").map { pair in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ s: Substring) -> String {
                let spaced = s.replacingOccurrences(of: "+", with: " ")
                return spaced.removingPercentEncoding ?? spaced
            }
            return (decode(parts[0]), parts.count > 1 ? decode(parts[1]) : "")
        }
    }

    private static func find(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        for start in 0...(haystack.count - needle.count) where haystack[start..<start + needle.count].elementsEqual(needle) {
            return start
        }
        return nil
    }

    private static func reason(_ status: Int) -> String {
        switch status {
        case 200: "OK"
        case 400: "Bad Request"
        case 401: "Unauthorized"
        case 404: "Not Found"
        case 405: "Method Not Allowed"
        case 500: "Internal Server Error"
        default: "Status"
        }
    }
}
