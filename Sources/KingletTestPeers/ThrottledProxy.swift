import Foundation

/// A TCP relay on a free loopback port to a server on another loopback port, whose answers
/// (server to client) flow at most `bytesPerSecond`: a registry on a slow link, so a test
/// can act mid-download. Requests pass at full speed. One thread per direction per
/// connection, each waking at least every 100 ms; `stop()` closes everything and waits for
/// the threads (bounded).
///
///     let proxy = try ThrottledProxy.start(to: registry.port, bytesPerSecond: 2_000_000)
///     defer { proxy.stop() }
///     // pull from 127.0.0.1:\(proxy.port)/...; proxy.setRate(nil) lifts the limit
public final class ThrottledProxy: @unchecked Sendable {
    public let port: Int
    private let target: Int
    private let listener: Int32
    private let lock = NSLock()
    private var rate: Int?
    private var stopped = false
    private var sockets: [Int32] = []
    private var running = 0
    private var answered: [Int] = []

    /// `host:port` to put in an image reference.
    public var host: String { "127.0.0.1:\(port)" }

    /// Bytes relayed from the server, per connection, in the order they were accepted.
    public var bytesAnswered: [Int] { lock.withLock { answered } }

    public static func start(to targetPort: Int, bytesPerSecond: Int?) throws -> ThrottledProxy {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw PeerError("ThrottledProxy: socket: \(String(cString: strerror(errno)))") }
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = ThrottledProxy.loopback(port: 0)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 16) == 0 else {
            close(fd)
            throw PeerError("ThrottledProxy: bind/listen: \(String(cString: strerror(errno)))")
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        let proxy = ThrottledProxy(listener: fd, port: Int(UInt16(bigEndian: address.sin_port)), target: targetPort,
                                   rate: bytesPerSecond)
        proxy.spawn { proxy.acceptLoop() }
        return proxy
    }

    private init(listener: Int32, port: Int, target: Int, rate: Int?) {
        self.listener = listener
        self.port = port
        self.target = target
        self.rate = rate
    }

    /// A new limit for the answers from now on; nil: none.
    public func setRate(_ bytesPerSecond: Int?) { lock.withLock { rate = bytesPerSecond } }

    /// Closes the listener and every connection, and waits (at most 5 s) for the threads.
    public func stop() {
        let open: [Int32] = lock.withLock {
            stopped = true
            return sockets
        }
        for fd in open { shutdown(fd, Int32(SHUT_RDWR)) }
        let deadline = Date().addingTimeInterval(5)
        while lock.withLock({ running }) > 0 && Date() < deadline { usleep(10_000) }
        lock.withLock {
            for fd in sockets { close(fd) }
            sockets = []
        }
        close(listener)
    }

    deinit { if !lock.withLock({ stopped }) { stop() } }

    private var isStopped: Bool { lock.withLock { stopped } }

    private func spawn(_ body: @escaping @Sendable () -> Void) {
        lock.withLock { running += 1 }
        let thread = Thread { [self] in
            body()
            self.lock.withLock { self.running -= 1 }
        }
        thread.start()
    }

    private func acceptLoop() {
        while !isStopped {
            guard ThrottledProxy.readable(listener) else { continue }
            let client = accept(listener, nil, nil)
            guard client >= 0 else { continue }
            let server = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = ThrottledProxy.loopback(port: target)
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(server, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard server >= 0, connected == 0 else {
                close(client)
                if server >= 0 { close(server) }
                continue
            }
            let index: Int = lock.withLock {
                sockets += [client, server]
                answered.append(0)
                return answered.count - 1
            }
            spawn { [self] in self.pump(from: client, to: server, index: nil) }
            spawn { [self] in self.pump(from: server, to: client, index: index) }
        }
    }

    /// Copies until EOF or an error; answers (`index` given) at the current rate.
    private func pump(from source: Int32, to destination: Int32, index: Int?) {
        var buffer = [UInt8](repeating: 0, count: 16 * 1024)
        let started = Date()
        var sent = 0
        while !isStopped {
            guard ThrottledProxy.readable(source) else { continue }
            let limit = index == nil ? nil : lock.withLock { rate }
            let wanted = limit.map { max(1, min(buffer.count, $0 / 20)) } ?? buffer.count
            let count = buffer.withUnsafeMutableBytes { recv(source, $0.baseAddress, wanted, 0) }
            if count <= 0 { break }
            var offset = 0
            while offset < count {
                let wrote = buffer.withUnsafeBytes { send(destination, $0.baseAddress! + offset, count - offset, Int32(MSG_NOSIGNAL)) }
                if wrote <= 0 { shutdown(source, Int32(SHUT_RDWR)); return }
                offset += wrote
            }
            sent += count
            if let index { lock.withLock { answered[index] += count } }
            if let limit, limit > 0 {
                // Sleep until this much would have taken at the rate.
                let due = Double(sent) / Double(limit) - Date().timeIntervalSince(started)
                if due > 0 { usleep(UInt32(min(due, 0.1) * 1_000_000)) }
            }
        }
        shutdown(destination, Int32(SHUT_WR))
    }

    /// Whether `fd` has something to read (or hung up) within 100 ms.
    private static func readable(_ fd: Int32) -> Bool {
        var poll = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        return Glibc.poll(&poll, 1, 100) > 0
    }

    private static func loopback(port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        return address
    }
}
