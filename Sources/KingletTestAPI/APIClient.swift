import AsyncHTTPClient
import Foundation
import NIOCore

/// A minimal JSON client for the test server (tests, load loops): one request, or one
/// watch stream as decoded lines. Not a Kubernetes client library.
public final class APIClient: Sendable {
    public let baseURL: String
    let token: String?
    let http: HTTPClient

    public init(baseURL: String, token: String? = nil, maxConnections: Int = 32) {
        self.baseURL = baseURL
        self.token = token
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: maxConnections)
        http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    public func shutdown() async { try? await http.shutdown() }

    public struct Reply: Sendable {
        public let status: Int
        public let body: JSON
    }

    /// Sends one request; the body is JSON unless `contentType` says otherwise.
    public func request(_ method: String, _ path: String, body: JSON? = nil, contentType: String = "application/json",
                        accept: String? = nil, timeout: Int64 = 30) async throws -> Reply
    {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = .init(rawValue: method)
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        if let accept { request.headers.add(name: "Accept", value: accept) }
        if let body {
            request.headers.add(name: "Content-Type", value: contentType)
            request.body = .bytes(ByteBuffer(bytes: body.serialized))
        }
        let response: HTTPClientResponse
        do {
            response = try await http.execute(request, timeout: .seconds(timeout))
        } catch let error where Self.closedBeforeSending(error) {
            // A pooled keep-alive connection the server closed as the request went out (a
            // race of HTTP/1.1 itself): the request never reached it, so send it once more.
            response = try await http.execute(request, timeout: .seconds(timeout))
        }
        let buffer = try await response.body.collect(upTo: 1 << 28)
        let bytes = Array(buffer.readableBytesView)
        let json = (try? JSONParser.parse(bytes)) ?? .string(String(decoding: bytes, as: UTF8.self))
        return Reply(status: Int(response.status.code), body: json)
    }

    /// The pool handed out a connection the server had just closed: the client reports
    /// it as a remote close, or, when the close lands while the request is being written,
    /// as I/O on a closed channel. Either way nothing reached the server.
    static func closedBeforeSending(_ error: any Error) -> Bool {
        if let error = error as? HTTPClientError { return error == .remoteConnectionClosed }
        if let error = error as? ChannelError { return error == .ioOnClosedChannel }
        return false
    }

    /// Sends `body` as it is (for malformed-input tests).
    public func requestRaw(_ method: String, _ path: String, body: String, contentType: String = "application/json") async throws -> Reply {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = .init(rawValue: method)
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        request.headers.add(name: "Content-Type", value: contentType)
        request.body = .bytes(ByteBuffer(string: body))
        let response = try await http.execute(request, timeout: .seconds(30))
        let buffer = try await response.body.collect(upTo: 1 << 28)
        let bytes = Array(buffer.readableBytesView)
        return Reply(status: Int(response.status.code), body: (try? JSONParser.parse(bytes)) ?? .string(String(decoding: bytes, as: UTF8.self)))
    }

    public func get(_ path: String) async throws -> Reply { try await request("GET", path) }
    public func post(_ path: String, _ body: JSON) async throws -> Reply { try await request("POST", path, body: body) }
    public func put(_ path: String, _ body: JSON) async throws -> Reply { try await request("PUT", path, body: body) }
    public func delete(_ path: String, _ body: JSON? = nil) async throws -> Reply { try await request("DELETE", path, body: body) }
    public func patch(_ path: String, _ body: JSON, type: String = "application/merge-patch+json") async throws -> Reply {
        try await request("PATCH", path, body: body, contentType: type)
    }

    /// Streams a watch (`path` must ask `watch=1`): `onEvent` gets each decoded line and
    /// returns false to stop. Ends when the server ends the stream or `seconds` pass.
    public func watch(_ path: String, within seconds: Int64, onEvent: (JSON) async throws -> Bool) async throws {
        var request = HTTPClientRequest(url: baseURL + path)
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        let response = try await http.execute(request, timeout: .seconds(seconds))
        guard response.status == .ok else {
            let buffer = try await response.body.collect(upTo: 1 << 20)
            let body = (try? JSONParser.parse(Array(buffer.readableBytesView))) ?? .null
            _ = try await onEvent(["type": "HTTP", "code": .int(Int(response.status.code)), "object": body])
            return
        }
        var pending: [UInt8] = []
        for try await chunk in response.body {
            pending.append(contentsOf: chunk.readableBytesView)
            while let newline = pending.firstIndex(of: 0x0A) {
                let line = Array(pending[..<newline])
                pending.removeSubrange(...newline)
                if line.isEmpty { continue }
                if try await !onEvent(try JSONParser.parse(line)) { return }
            }
        }
    }
}
