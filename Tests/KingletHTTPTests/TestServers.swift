import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import KingletTestPeers
import Logging
import NIOCore
import NIOSSL

/// Hummingbird on 127.0.0.1 (or `host`; a port it picks), in this process: plain HTTP, or HTTPS with
/// a certificate from a throwaway CA. Routes:
/// - GET/HEAD /hello: "hello world\n" with a Content-Length;
/// - GET /missing: 404 with a body;
/// - GET /stream?size=N&piece=P: N pattern bytes, chunked, written P bytes at a time;
/// - GET /sized?size=N: N pattern bytes with a Content-Length, written in 64 KiB pieces;
/// - GET /a/redirect: 302 to "../landing/here?from=a" (relative);
/// - GET /landing/here: 200 "landed" and the query it got;
/// - GET /repeated: two X-Multi fields.
final class HummingbirdServer: Sendable {
    let port: Int
    private let task: Task<Void, any Error>

    private init(port: Int, task: Task<Void, any Error>) {
        self.port = port
        self.task = task
    }

    static func start(tls certificates: TestCertificates?, host: String = "127.0.0.1") async throws -> HummingbirdServer {
        try await start(certificate: certificates.map { (certificate: $0.serverCertificatePath, key: $0.serverKeyPath) }, host: host)
    }

    static func start(certificate: (certificate: String, key: String)? = nil, host: String = "127.0.0.1") async throws -> HummingbirdServer {
        let router = Router()
        router.get("/hello") { _, _ in "hello world\n" }
        router.head("/hello") { _, _ in
            Response(status: .ok, headers: [.contentLength: "12", .contentType: "text/plain"], body: .init())
        }
        router.get("/missing") { _, _ in
            Response(status: .notFound, headers: [.contentType: "text/plain"],
                     body: .init(byteBuffer: ByteBuffer(string: "no such thing here")))
        }
        router.get("/stream") { request, _ in
            let size = request.uri.queryParameters.get("size", as: Int.self) ?? 0
            let piece = max(1, request.uri.queryParameters.get("piece", as: Int.self) ?? 100_000)
            return Response(status: .ok, headers: [.contentType: "application/octet-stream"], body: ResponseBody { writer in
                var offset = 0
                while offset < size {
                    let end = min(size, offset + piece)
                    try await writer.write(ByteBuffer(bytes: patternBytes(offset..<end)))
                    offset = end
                }
                try await writer.finish(nil)
            })
        }
        router.get("/sized") { request, _ in
            let size = request.uri.queryParameters.get("size", as: Int.self) ?? 0
            return Response(status: .ok, headers: [.contentType: "application/octet-stream"], body: ResponseBody(contentLength: size) { writer in
                var offset = 0
                while offset < size {
                    let end = min(size, offset + 65536)
                    try await writer.write(ByteBuffer(bytes: patternBytes(offset..<end)))
                    offset = end
                }
                try await writer.finish(nil)
            })
        }
        router.get("/a/redirect") { _, _ in
            Response(status: .found, headers: [.location: "../landing/here?from=a"], body: .init())
        }
        router.get("/landing/here") { request, _ in
            "landed " + (request.uri.query ?? "")
        }
        router.get("/repeated") { _, _ in
            var headers = HTTPFields()
            headers.append(HTTPField(name: HTTPField.Name("X-Multi")!, value: "first"))
            headers.append(HTTPField(name: HTTPField.Name("X-Multi")!, value: "second"))
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: "ok")))
        }

        let server: HTTPServerBuilder
        if let certificate {
            let chain = try NIOSSLCertificate.fromPEMFile(certificate.certificate).map { NIOSSLCertificateSource.certificate($0) }
            let key = try NIOSSLPrivateKey(file: certificate.key, format: .pem)
            server = try .tls(.http1(), tlsConfiguration: TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(key)))
        } else {
            server = .http1()
        }
        let (ports, portContinuation) = AsyncStream<Int>.makeStream()
        var logger = Logger(label: "kinglet-http-test-server")
        logger.logLevel = .critical
        let app = Application(router: router, server: server,
                              configuration: .init(address: .hostname(host, port: 0), serverName: "kinglet-http-test"),
                              onServerRunning: { channel in
                                  portContinuation.yield(channel.localAddress?.port ?? 0)
                                  portContinuation.finish()
                              },
                              logger: logger)
        let task = Task {
            defer { portContinuation.finish() }
            try await app.run()
        }
        let port = await withTaskGroup(of: Int?.self) { group in
            group.addTask {
                for await port in ports { return port }
                return nil
            }
            group.addTask {
                try? await Task.sleep(for: .seconds(20))
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
        guard let port, port > 0 else {
            task.cancel()
            throw PeerError("the Hummingbird test server did not start")
        }
        return HummingbirdServer(port: port, task: task)
    }

    func stop() async {
        task.cancel()
        _ = await task.result
    }
}

/// A TCP server on 127.0.0.1 that reads each request's head and answers with raw bytes
/// chosen by the test (one connection at a time, on a thread of its own): for responses
/// Hummingbird would never send. With `accepting: false` it listens but never accepts,
/// so a client connects and then hears nothing.
final class RawServer: @unchecked Sendable {
    let port: Int
    private let listener: Int32
    private let finished = DispatchSemaphore(value: 0)
    private let accepting: Bool

    /// `respond` writes the answer on the connection; the server closes it afterwards.
    init(accepting: Bool = true, respond: @escaping @Sendable (Int32) -> Void = { _ in }) throws {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard listener >= 0 else { throw PeerError("socket failed") }
        var on: Int32 = 1
        setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, length) }
        }
        guard bound == 0, listen(listener, 16) == 0 else {
            close(listener)
            throw PeerError("bind/listen failed")
        }
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) }
        }
        port = Int(UInt16(bigEndian: address.sin_port))
        self.listener = listener
        self.accepting = accepting
        guard accepting else { return }
        let finished = self.finished
        let thread = Thread {
            while true {
                let connection = accept(listener, nil, nil)
                if connection < 0 {
                    if errno == EINTR { continue }
                    break
                }
                RawServer.readHead(connection)
                respond(connection)
                close(connection)
            }
            finished.signal()
        }
        thread.start()
    }

    func stop() {
        shutdown(listener, Int32(SHUT_RDWR))
        if accepting { _ = finished.wait(timeout: .now() + 10) }
        close(listener)
    }

    /// Reads until the request's empty line (our client's requests have no body).
    private static func readHead(_ connection: Int32) {
        var seen: [UInt8] = []
        var byte: UInt8 = 0
        while read(connection, &byte, 1) == 1 {
            seen.append(byte)
            if seen.count >= 4 && Array(seen.suffix(4)) == Array("\r\n\r\n".utf8) { return }
        }
    }

    static func write(_ connection: Int32, _ bytes: [UInt8]) {
        var sent = 0
        while sent < bytes.count {
            let count = bytes.withUnsafeBytes { send(connection, $0.baseAddress! + sent, bytes.count - sent, Int32(MSG_NOSIGNAL)) }
            if count <= 0 { return }
            sent += count
        }
    }

    static func write(_ connection: Int32, _ text: String) { write(connection, Array(text.utf8)) }
}
