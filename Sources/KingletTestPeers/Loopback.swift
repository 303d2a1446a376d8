import Foundation

/// Loopback ports and waits for them.
public enum Loopback {
    /// A TCP port that was free on 127.0.0.1 a moment ago (the kernel picks it).
    public static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw PeerError("socket: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else { throw PeerError("bind: \(String(cString: strerror(errno)))") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// Whether something accepts TCP connections on 127.0.0.1:`port`.
    public static func accepts(port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        } == 0
    }

    /// Waits until `port` accepts connections, or `seconds` pass.
    public static func waitForPort(_ port: Int, within seconds: Double, process: PeerProcess? = nil) throws {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if accepts(port: port) { return }
            if let process, !process.isRunning { throw PeerError("\(process.name) exited before listening on \(port):\n\(process.tail)") }
            usleep(20_000)
        }
        throw PeerError("nothing listens on 127.0.0.1:\(port) after \(seconds) s" + (process.map { ":\n" + $0.tail } ?? ""))
    }

    /// Runs `body` until it returns a value or `seconds` pass, pausing `interval` between tries.
    public static func eventually<T>(within seconds: Double, interval: Double = 0.05, _ body: () throws -> T?) rethrows -> T? {
        let deadline = Date().addingTimeInterval(seconds)
        repeat {
            if let value = try body() { return value }
            usleep(useconds_t(interval * 1_000_000))
        } while Date() < deadline
        return nil
    }
}

/// Where the built products and the package are, for tests that start our own binaries.
public enum BuiltProducts {
    /// The folder holding the host build's executables (the test bundle sits beside them).
    public static var folder: URL {
        var folder = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<3 where !FileManager.default.fileExists(atPath: folder.appendingPathComponent("kinglet").path) {
            folder = folder.deletingLastPathComponent()
        }
        return folder
    }

    public static func path(_ product: String) -> String { folder.appendingPathComponent(product).path }

    /// The package root (this file is Sources/KingletTestPeers/Loopback.swift).
    public static var packageRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    /// A fresh temporary folder for one test.
    public static func temporaryFolder(_ label: String) throws -> String {
        let path = NSTemporaryDirectory() + "kinglet-\(label)-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }
}
