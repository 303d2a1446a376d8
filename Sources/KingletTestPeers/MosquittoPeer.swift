import Foundation

/// Debian's mosquitto broker on loopback, for one test: a plain listener and optionally
/// an mTLS listener, on free ports that stay the same across `restart()`.
public final class MosquittoPeer: @unchecked Sendable {
    /// The mTLS listener: clients must present a certificate from `caFile`; its CN is
    /// their username.
    public struct TLS: Sendable {
        public var caFile: String
        public var certFile: String
        public var keyFile: String
        public var requireCertificate = true
        public var useIdentityAsUsername = true

        public init(caFile: String, certFile: String, keyFile: String,
                    requireCertificate: Bool = true, useIdentityAsUsername: Bool = true) {
            self.caFile = caFile
            self.certFile = certFile
            self.keyFile = keyFile
            self.requireCertificate = requireCertificate
            self.useIdentityAsUsername = useIdentityAsUsername
        }

        /// The listener for a server certificate from `ca`.
        public init(ca: TestCA, server: CertificateFiles) {
            self.init(caFile: ca.certificate, certFile: server.certificate, keyFile: server.key)
        }
    }

    public struct Options: Sendable {
        /// Whether to open the plain (unencrypted) loopback listener.
        public var plainListener = true
        public var tls: TLS?
        public var aclFile: String?
        /// Anonymous clients (no username) are let in unless false.
        public var allowAnonymous = true
        /// Keeps sessions and retained messages in `folder`/data across restarts.
        public var persistence = false
        /// Extra mosquitto.conf lines, appended as given.
        public var extraConfig = ""

        public init(plainListener: Bool = true, tls: TLS? = nil, aclFile: String? = nil, allowAnonymous: Bool = true,
                    persistence: Bool = false, extraConfig: String = "") {
            self.plainListener = plainListener
            self.tls = tls
            self.aclFile = aclFile
            self.allowAnonymous = allowAnonymous
            self.persistence = persistence
            self.extraConfig = extraConfig
        }
    }

    public static let executable = "/usr/sbin/mosquitto"
    /// Whether the broker is installed (tests skip, saying why, when it is not).
    public static var isInstalled: Bool { FileManager.default.isExecutableFile(atPath: executable) }

    public let folder: String
    /// The plain listener's port (0 when `plainListener` is off).
    public let port: Int
    /// The mTLS listener's port, when there is one.
    public let tlsPort: Int?
    public let configPath: String
    private let lock = NSLock()
    private var current: PeerProcess
    private var starts = 0

    /// Starts a broker with `options`, its config, log and data in `folder` (made if
    /// missing; a fresh temporary folder when nil), and waits until every listener accepts.
    public init(options: Options = Options(), folder: String? = nil, within seconds: Double = 10) throws {
        guard Self.isInstalled else { throw PeerError("\(Self.executable) is not installed (apt-get install mosquitto)") }
        let folder = try folder ?? BuiltProducts.temporaryFolder("mosquitto")
        try FileManager.default.createDirectory(atPath: folder + "/data", withIntermediateDirectories: true)
        self.folder = folder
        port = options.plainListener ? try Loopback.freePort() : 0
        tlsPort = options.tls == nil ? nil : try Loopback.freePort()
        configPath = folder + "/mosquitto.conf"
        try Self.config(options: options, port: port, tlsPort: tlsPort, folder: folder)
            .write(toFile: configPath, atomically: true, encoding: .utf8)
        current = try Self.launch(configPath: configPath, logPath: folder + "/mosquitto-1.log")
        starts = 1
        try waitUntilListening(within: seconds)
    }

    /// Runs mosquitto with a config written elsewhere (e.g. `kinglet-relay broker-config`),
    /// whose listeners are on 127.0.0.1 at `port` (plain, 0 for none) and `tlsPort`;
    /// its log goes to `folder`.
    public init(configPath: String, port: Int, tlsPort: Int?, folder: String, within seconds: Double = 10) throws {
        guard Self.isInstalled else { throw PeerError("\(Self.executable) is not installed (apt-get install mosquitto)") }
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        self.folder = folder
        self.port = port
        self.tlsPort = tlsPort
        self.configPath = configPath
        current = try Self.launch(configPath: configPath, logPath: folder + "/mosquitto-1.log")
        starts = 1
        try waitUntilListening(within: seconds)
    }

    /// The running broker process (a new one after each restart).
    public var process: PeerProcess { lock.withLock { current } }
    /// Every listener's port.
    public var ports: [Int] { (port == 0 ? [] : [port]) + (tlsPort.map { [$0] } ?? []) }
    /// The current run's log.
    public var log: String { process.output }

    /// SIGTERM (mosquitto saves its persistence file), then reaps.
    @discardableResult
    public func stop(grace: Double = 5) -> Int32 { process.stop(grace: grace) }

    /// SIGKILL, as a crash: nothing is saved beyond the last autosave.
    public func kill9() { process.kill9() }

    /// Stops the broker if it still runs (SIGTERM) and starts it again with the same
    /// config and ports, waiting until it accepts.
    public func restart(within seconds: Double = 10) throws {
        let next: Int = lock.withLock { starts + 1 }
        process.stop()
        let started = try Self.launch(configPath: configPath, logPath: folder + "/mosquitto-\(next).log")
        lock.withLock {
            current = started
            starts = next
        }
        try waitUntilListening(within: seconds)
    }

    private func waitUntilListening(within seconds: Double) throws {
        let process = self.process
        for port in ports { try Loopback.waitForPort(port, within: seconds, process: process) }
    }

    /// The soft descriptor limit is raised to the hard one in the child (a 10,000-client
    /// run needs more than the usual 1024); `exec` keeps the broker's pid for signals.
    private static func launch(configPath: String, logPath: String) throws -> PeerProcess {
        try PeerProcess(name: "mosquitto", executable: "/bin/sh",
                        arguments: ["-c", "ulimit -n \"$(ulimit -H -n)\" 2>/dev/null; exec \"$0\" -c \"$1\"",
                                    executable, configPath],
                        logPath: logPath)
    }

    /// The broker's mosquitto.conf.
    static func config(options: Options, port: Int, tlsPort: Int?, folder: String) -> String {
        var lines = [
            "# Written by KingletTestPeers.MosquittoPeer for one test.",
            // Root keeps root: the test folder's key files are readable by root only.
            "user root",
            "log_dest stderr",
            "log_type error",
            "log_type warning",
            "log_type notice",
            "log_type information",
            "connection_messages true",
            "log_timestamp_format %H:%M:%S",
            "allow_anonymous \(options.allowAnonymous)",
            "max_queued_messages 10000",
            "persistence \(options.persistence)",
        ]
        if options.persistence {
            lines += ["persistence_location \(folder)/data/", "autosave_interval 1"]
        }
        if let acl = options.aclFile { lines.append("acl_file \(acl)") }
        if options.plainListener {
            lines += ["", "listener \(port) 127.0.0.1", "max_connections -1"]
        }
        if let tls = options.tls, let tlsPort {
            lines += [
                "", "listener \(tlsPort) 127.0.0.1", "max_connections -1",
                "cafile \(tls.caFile)", "certfile \(tls.certFile)", "keyfile \(tls.keyFile)",
                "require_certificate \(tls.requireCertificate)",
                "use_identity_as_username \(tls.useIdentityAsUsername)",
            ]
        }
        if !options.extraConfig.isEmpty { lines += ["", options.extraConfig] }
        return lines.joined(separator: "\n") + "\n"
    }

    deinit { current.stop(grace: 2) }
}
