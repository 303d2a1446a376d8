/// KingletStatusSocket: the agent's local unix socket. `kinglet status` (and later tools)
/// send one request line and read one response, so a user can see pods, containers and
/// node conditions at a glance without a cloud. Served on the event loop, never blocking.
import CKingletSystem
import KingletCore

/// Listens on a unix socket and answers each connection's single request line.
///
/// The loop's handlers hold the server strongly (Embedded Swift has no weak or unowned
/// references): call `shutdown()` to release it.
public final class StatusSocketServer {
    public typealias Responder = (String) -> [UInt8]

    private let loop: any EventLoop
    private let listener: Int32
    private let path: String
    private let respond: Responder
    private var connections: [Int32: StatusConnection] = [:]
    private var isShutDown = false

    /// Requests longer than this are refused: the protocol has short command lines only.
    static let requestLimit = 1024
    /// Clients served at once; more are closed at once. Each costs a descriptor.
    static let connectionLimit = 16
    /// A client that neither sends its request nor reads the answer for this long is dropped.
    static let idleTimeout = Duration.seconds(5)

    public init(path: String, loop: any EventLoop, respond: @escaping Responder) throws(StatusSocketError) {
        let fd = kinglet_unix_listen(path, 0o660)
        if fd < 0 { throw StatusSocketError.system(call: "listen on \(path)", errno: kinglet_errno()) }
        self.loop = loop
        self.listener = fd
        self.path = path
        self.respond = respond
        do {
            try loop.watch(fd, interest: .readable) { _ in self.acceptAll() }
        } catch {
            close(fd)
            throw StatusSocketError.system(call: error.call, errno: error.errno)
        }
    }

    /// Stops listening, drops open connections and removes the socket file.
    public func shutdown() {
        isShutDown = true
        for fd in Array(connections.keys) { finish(fd) }
        loop.unwatch(listener)
        close(listener)
        unlink(path)
    }

    public var openConnections: Int { connections.count }

    private func acceptAll() {
        while true {
            let fd = kinglet_unix_accept(listener)
            if fd < 0 {
                let error = kinglet_errno()
                // Out of descriptors: the listener stays readable, so stop watching it for
                // a while instead of spinning; the containers need descriptors too.
                if error == EMFILE || error == ENFILE { pauseAccepting() }
                return // EAGAIN: accepted everything pending
            }
            if connections.count >= StatusSocketServer.connectionLimit {
                close(fd)
                continue
            }
            let connection = StatusConnection()
            connections[fd] = connection
            do {
                try loop.watch(fd, interest: .readable) { readiness in self.service(fd, readiness) }
                connection.deadline = loop.schedule(after: StatusSocketServer.idleTimeout) { self.finish(fd) }
            } catch {
                connections[fd] = nil
                close(fd)
            }
        }
    }

    private func pauseAccepting() {
        loop.unwatch(listener)
        loop.schedule(after: .seconds(1)) {
            if self.isShutDown { return }
            try? self.loop.watch(self.listener, interest: .readable) { _ in self.acceptAll() }
        }
    }

    private func service(_ fd: Int32, _ readiness: IOReadiness) {
        guard let connection = connections[fd] else { return }
        if connection.response == nil {
            switch connection.readRequest(fd) {
            case .incomplete: if readiness.contains(.hangup) { finish(fd) }; return
            case .failed: finish(fd); return
            case .complete(let line):
                connection.response = respond(line)
                try? loop.changeInterest(of: fd, to: .writable)
            }
        }
        if connection.writeResponse(fd) { finish(fd) }
    }

    private func finish(_ fd: Int32) {
        guard let connection = connections.removeValue(forKey: fd) else { return }
        if let deadline = connection.deadline { loop.cancel(deadline) }
        loop.unwatch(fd)
        close(fd)
    }
}

/// One client: its request bytes so far, then the response and how much of it was sent.
final class StatusConnection {
    enum ReadResult {
        case incomplete
        case complete(String)
        case failed
    }

    private var request: [UInt8] = []
    var response: [UInt8]? = nil
    /// The idle timeout's timer.
    var deadline: TimerHandle? = nil
    private var sent = 0

    func readRequest(_ fd: Int32) -> ReadResult {
        var chunk = [UInt8](repeating: 0, count: 256)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 { return kinglet_errno() == EAGAIN ? .incomplete : .failed }
            if count == 0 { return request.isEmpty ? .failed : .complete(line()) }
            request.append(contentsOf: chunk[0..<count])
            if request.contains(10) { return .complete(line()) }
            if request.count > StatusSocketServer.requestLimit { return .failed }
        }
    }

    private func line() -> String {
        let end = request.firstIndex(of: 10) ?? request.count
        var slice = request[0..<end]
        if slice.last == 13 { slice = slice.dropLast() }
        return String(decoding: slice, as: UTF8.self)
    }

    /// Writes what the socket takes; true when done (all sent, or the client went away).
    func writeResponse(_ fd: Int32) -> Bool {
        guard let response else { return true }
        while sent < response.count {
            let count = response.withUnsafeBytes { write(fd, $0.baseAddress! + sent, response.count - sent) }
            if count < 0 { return kinglet_errno() != EAGAIN }
            sent += count
        }
        return true
    }
}

public enum StatusSocketError: Error, Equatable {
    case system(call: String, errno: Int32)
    case responseTooLarge(limit: Int)

    public var description: String {
        switch self {
        case .system(let call, let code):
            return "\(call): \(String(cString: kinglet_strerror(code)))"
        case .responseTooLarge(let limit):
            return "the agent's answer is larger than \(limit) bytes"
        }
    }
}
