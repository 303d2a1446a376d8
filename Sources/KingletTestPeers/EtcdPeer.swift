import Foundation

/// A real etcd (Debian's etcd-server, 3.4) on free loopback ports with a temporary data
/// folder. 3.4 has no --unsafe-no-fsync, so writes are durable (and slower).
public final class EtcdPeer: @unchecked Sendable {
    public let clientPort: Int
    public let peerPort: Int
    public let dataFolder: String
    public let process: PeerProcess

    /// `http://127.0.0.1:<clientPort>`, the gRPC and JSON gateway endpoint.
    public var clientURL: String { "http://127.0.0.1:\(clientPort)" }

    /// The etcd binary: $KINGLET_ETCD, else `etcd` on the usual paths.
    public static var executable: String? {
        if let path = ProcessInfo.processInfo.environment["KINGLET_ETCD"] { return path }
        return ["/usr/bin/etcd", "/usr/local/bin/etcd"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// Starts etcd and waits until it serves client requests (at most `within` seconds).
    public static func start(label: String, within seconds: Double = 30) throws -> EtcdPeer {
        guard let executable else { throw PeerError("etcd is not installed (apt-get install etcd-server)") }
        let folder = try BuiltProducts.temporaryFolder("etcd-\(label)")
        var lastError: Error = PeerError("etcd did not start")
        for _ in 0..<3 {  // a port taken between picking and binding: try again with others
            let clientPort = try Loopback.freePort()
            let peerPort = try Loopback.freePort()
            let dataFolder = folder + "/data-\(clientPort)"
            let process = try PeerProcess(
                name: "etcd", executable: executable,
                arguments: [
                    "--name", "kinglet-test", "--data-dir", dataFolder,
                    "--listen-client-urls", "http://127.0.0.1:\(clientPort)",
                    "--advertise-client-urls", "http://127.0.0.1:\(clientPort)",
                    "--listen-peer-urls", "http://127.0.0.1:\(peerPort)",
                    "--initial-advertise-peer-urls", "http://127.0.0.1:\(peerPort)",
                    "--initial-cluster", "kinglet-test=http://127.0.0.1:\(peerPort)",
                    // Watches get progress notifications this often (the test API's bookmarks use them).
                    "--experimental-watch-progress-notify-interval", "5s",
                ],
                logPath: folder + "/etcd-\(clientPort).log")
            do {
                try process.waitForOutput("ready to serve client requests", within: seconds)
                try Loopback.waitForPort(clientPort, within: seconds, process: process)
                return EtcdPeer(clientPort: clientPort, peerPort: peerPort, dataFolder: dataFolder, process: process)
            } catch {
                process.stop()
                lastError = error
            }
        }
        throw lastError
    }

    init(clientPort: Int, peerPort: Int, dataFolder: String, process: PeerProcess) {
        self.clientPort = clientPort
        self.peerPort = peerPort
        self.dataFolder = dataFolder
        self.process = process
    }

    /// Stops etcd (SIGTERM, then SIGKILL), reaps it and removes its data.
    public func stop() {
        process.stop()
        try? FileManager.default.removeItem(atPath: dataFolder)
    }

    deinit { process.kill9() }
}
