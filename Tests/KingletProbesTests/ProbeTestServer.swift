import CKingletSystem
import Foundation

/// A tiny HTTP server in Python, started per test on a loopback port it picks itself (it
/// binds port 0 and prints the port), so tests never race for ports. Paths:
/// - `/status/<code>`: answers `<code>` (a 302 carries a Location);
/// - `/slow`: never answers within a test;
/// - `/garbage`: answers a line that is not HTTP;
/// - `/long-line`: a status line longer than any probe buffer, never ended;
/// - `/close`: closes the connection without answering;
/// - `/inspect...`: writes the request line and headers it got to the record file, then 200.
final class ProbeTestServer {
    static let script = #"""
import http.server, signal, socket, sys, time

# The test runner blocks most signals and Foundation's Process passes the mask on; unblock
# them so SIGTERM ends the server at once.
signal.pthread_sigmask(signal.SIG_SETMASK, [])
host, record = sys.argv[1], sys.argv[2]

class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, extra=()):
        self.send_response(status)
        for name, value in extra:
            self.send_header(name, value)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self):
        path = self.path
        if path.startswith("/status/"):
            status = int(path[len("/status/"):])
            self.reply(status, [("Location", "/status/200")] if 300 <= status < 400 else [])
        elif path == "/slow":
            time.sleep(60)
        elif path == "/garbage":
            self.wfile.write(b"garbage\r\n\r\n")
            self.close_connection = True
        elif path == "/long-line":
            self.wfile.write(b"HTTP/1.1 200 " + b"x" * 4000)
            self.wfile.flush()
            time.sleep(60)
        elif path == "/close":
            self.close_connection = True
        elif path.startswith("/inspect"):
            with open(record, "w") as out:
                out.write(self.requestline + "\n")
                for name, value in self.headers.items():
                    out.write(name + ": " + value + "\n")
            self.reply(200)
        else:
            self.reply(404)

class Server(http.server.ThreadingHTTPServer):
    address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
    daemon_threads = True

server = Server((host, 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
"""#

    let process = Process()
    let port: Int
    let folder: URL
    private let output = Pipe()

    var recordPath: String { folder.appendingPathComponent("request.txt").path }

    /// Starts the server and waits (bounded) until it prints the port it listens on.
    init(host: String = "127.0.0.1") throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("kinglet-probe-" + UUID().uuidString)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let scriptURL = folder.appendingPathComponent("server.py")
        try ProbeTestServer.script.write(to: scriptURL, atomically: true, encoding: .utf8)
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", scriptURL.path, host, folder.appendingPathComponent("request.txt").path]
        process.standardOutput = output
        try process.run()
        guard let line = ProbeTestServer.readLine(from: output.fileHandleForReading, within: 10),
              let port = Int(line.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            ProbeTestServer.stop(process)
            try? FileManager.default.removeItem(at: folder)
            throw ServerError(description: "the Python test server did not report its port within 10 s")
        }
        self.port = port
    }

    /// Terminates and reaps the server, bounded: SIGKILL after 3 s.
    func stop() {
        ProbeTestServer.stop(process)
        try? FileManager.default.removeItem(at: folder)
    }

    /// What `/inspect` recorded, one request line then one line per header.
    func recordedRequest() -> [String] {
        guard let text = try? String(contentsOfFile: recordPath, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").map(String.init)
    }

    private static func stop(_ process: Process) {
        if process.isRunning { process.terminate() }
        let deadline = Date().addingTimeInterval(3)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    private static func readLine(from handle: FileHandle, within seconds: Double) -> String? {
        var seen = Data()
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            var poll = pollfd(fd: handle.fileDescriptor, events: Int16(POLLIN), revents: 0)
            guard Glibc.poll(&poll, 1, 50) > 0 else { continue }
            let chunk = handle.availableData
            if chunk.isEmpty { return nil }
            seen.append(chunk)
            if let text = String(data: seen, encoding: .utf8), text.contains("\n") { return text }
        }
        return nil
    }

    struct ServerError: Error, CustomStringConvertible {
        let description: String
    }
}

/// Runs `body` with a started server and stops it on every path.
func withProbeTestServer<T>(host: String = "127.0.0.1", _ body: (ProbeTestServer) throws -> T) throws -> T {
    let server = try ProbeTestServer(host: host)
    defer { server.stop() }
    return try body(server)
}

/// A loopback TCP listener that never accepts: connects still complete (the kernel finishes
/// the handshake into the backlog), which is all a tcpSocket probe needs.
final class TestListener {
    let fd: Int32
    let port: Int

    init(host: String = "127.0.0.1", backlog: Int32 = 16) throws {
        var bound: UInt16 = 0
        let fd = kinglet_tcp_listen(host, 0, backlog, &bound)
        guard fd >= 0 else {
            throw ProbeTestServer.ServerError(description: "cannot listen on " + host + ": errno " + String(-fd))
        }
        self.fd = fd
        port = Int(bound)
    }

    deinit { close(fd) }

    /// A loopback port nobody listens on: bound, then closed at once.
    static func closedPort(host: String = "127.0.0.1") throws -> Int {
        let listener = try TestListener(host: host)
        return listener.port
    }

    /// Whether this machine has IPv6 loopback.
    static let hasIPv6Loopback: Bool = {
        var bound: UInt16 = 0
        let fd = kinglet_tcp_listen("::1", 0, 1, &bound)
        if fd < 0 { return false }
        close(fd)
        return true
    }()
}
