import Foundation

/// A user name and password for a registry (HTTP Basic on the registry in `.basic` mode,
/// on the token realm in `.token` mode).
public struct RegistryCredentials: Sendable, Equatable {
    public var username: String
    public var password: String
    public init(username: String, password: String) {
        self.username = username
        self.password = password
    }
    /// `user:password`, as skopeo's --creds and curl's -u take them.
    public var colonSeparated: String { "\(username):\(password)" }
}

/// Debian's `docker-registry` (the CNCF distribution registry 2.8, `docker-registry serve
/// config.yml`) on a free loopback port, filesystem storage in a scratch folder, for one test:
///
///     let registry = try RegistryPeer.start(label: "pull")                    // anonymous
///     let registry = try RegistryPeer.start(auth: .basic(.init(username: "u", password: "p")))
///     let tokens = try TokenServerPeer.start()
///     let registry = try RegistryPeer.start(auth: .token(tokens))              // bearer tokens
///     defer { registry.stop() }
///     // registry.host == "127.0.0.1:<port>", registry.url == "http://127.0.0.1:<port>"
///
/// With `tls: true` it serves https with a server certificate from a `TestCA` (`caFile`).
/// `stop()` reaps the process and removes the storage; the token server is the caller's.
public final class RegistryPeer: @unchecked Sendable {
    public enum Auth: Sendable {
        /// No authentication: anyone pulls and pushes.
        case anonymous
        /// HTTP Basic against a bcrypt htpasswd file (`htpasswd -Bbc`).
        case basic(RegistryCredentials)
        /// Bearer tokens from `TokenServerPeer` (`auth.token` realm/service/issuer/rootcertbundle).
        case token(TokenServerPeer)
    }

    public static let executable = "/usr/bin/docker-registry"
    public static let htpasswd = "/usr/bin/htpasswd"
    /// Whether the registry (and htpasswd) are installed (tests skip, saying why, when not).
    public static var isInstalled: Bool {
        FileManager.default.isExecutableFile(atPath: executable) && FileManager.default.isExecutableFile(atPath: htpasswd)
    }

    public let auth: Auth
    public let port: Int
    /// `127.0.0.1:<port>`, the registry part of an image reference.
    public var host: String { "127.0.0.1:\(port)" }
    /// `http://127.0.0.1:<port>` (`https://` with TLS).
    public var url: String { "\(tls == nil ? "http" : "https")://\(host)" }
    /// The folder holding the config, the log and `storage/`.
    public let folder: String
    /// The filesystem driver's root directory.
    public var storageFolder: String { folder + "/storage" }
    public let configPath: String
    /// The CA that issued the https certificate (nil without TLS).
    public let tls: TestCA?
    /// The CA certificate to trust for `url` (nil without TLS).
    public var caFile: String? { tls?.certificate }

    private let lock = NSLock()
    private var current: PeerProcess
    private var starts = 1

    /// The registry process now running.
    public var process: PeerProcess { lock.withLock { current } }
    /// The registry's log (all starts).
    public var log: String {
        (1...lock.withLock({ starts })).map { (try? String(contentsOfFile: logPath(start: $0), encoding: .utf8)) ?? "" }
            .joined()
    }

    /// The credentials that pull and push: the Basic user, or the token server's first user.
    public var credentials: RegistryCredentials? {
        switch auth {
        case .anonymous: nil
        case .basic(let credentials): credentials
        case .token(let server): server.options.users.first.map { RegistryCredentials(username: $0.name, password: $0.password) }
        }
    }

    /// `127.0.0.1:<port>/<repository>:<tag>`.
    public func reference(_ repository: String, tag: String) -> String { "\(host)/\(repository):\(tag)" }

    /// Starts the registry and waits until `GET /v2/` answers 200 or 401 (at most `seconds`).
    public static func start(label: String = "registry", auth: Auth = .anonymous, tls: Bool = false,
                             within seconds: Double = 30) throws -> RegistryPeer {
        guard FileManager.default.isExecutableFile(atPath: executable) else {
            throw PeerError("docker-registry is not installed (apt-get install docker-registry)")
        }
        let folder = try BuiltProducts.temporaryFolder("registry-\(label)")
        var authConfig = ""
        switch auth {
        case .anonymous: break
        case .basic(let credentials):
            let file = folder + "/htpasswd"
            let result = try PeerProcess.run(htpasswd, ["-Bbc", file, credentials.username, credentials.password], within: 20)
            guard result.status == 0 else { throw PeerError("htpasswd failed (\(result.status)):\n\(result.output)") }
            authConfig = """
                auth:
                  htpasswd:
                    realm: kinglet-registry
                    path: \(file)
                """
        case .token(let server):
            authConfig = """
                auth:
                  token:
                    realm: \(server.realm)
                    service: \(server.service)
                    issuer: \(server.issuer)
                    rootcertbundle: \(server.rootCertificateBundle)
                """
        }
        var ca: TestCA?
        var tlsConfig = ""
        if tls {
            let made = try TestCA(folder: folder + "/ca", commonName: "Kinglet Test Registry CA")
            let server = try made.server(certFor: "kinglet-registry")
            ca = made
            tlsConfig = """
                  tls:
                    certificate: \(server.certificate)
                    key: \(server.key)
                """
        }
        var lastError: Error = PeerError("docker-registry did not start")
        for _ in 0..<3 {  // a port taken between picking and binding: try again with another
            let port = try Loopback.freePort()
            let configPath = folder + "/config.yml"
            let config = """
                # Written by KingletTestPeers.RegistryPeer for one test.
                version: 0.1
                log:
                  level: info
                  formatter: text
                storage:
                  filesystem:
                    rootdirectory: \(folder)/storage
                  delete:
                    enabled: true
                  maintenance:
                    uploadpurging:
                      enabled: false
                http:
                  addr: 127.0.0.1:\(port)
                  secret: kinglet-test-registry-secret
                  headers:
                    X-Content-Type-Options: [nosniff]
                \(tlsConfig)
                \(authConfig)

                """
            try config.write(toFile: configPath, atomically: true, encoding: .utf8)
            let process = try launch(configPath: configPath, logPath: folder + "/registry-1.log")
            let peer = RegistryPeer(auth: auth, port: port, folder: folder, configPath: configPath, tls: ca, process: process)
            do {
                try peer.waitUntilServing(within: seconds)
                return peer
            } catch {
                process.stop()
                lastError = error
            }
        }
        throw lastError
    }

    init(auth: Auth, port: Int, folder: String, configPath: String, tls: TestCA?, process: PeerProcess) {
        self.auth = auth
        self.port = port
        self.folder = folder
        self.configPath = configPath
        self.tls = tls
        self.current = process
    }

    private func logPath(start: Int) -> String { folder + "/registry-\(start).log" }

    private static func launch(configPath: String, logPath: String) throws -> PeerProcess {
        try PeerProcess(name: "docker-registry", executable: executable, arguments: ["serve", configPath], logPath: logPath)
    }

    private func waitUntilServing(within seconds: Double) throws {
        let process = self.process
        try process.waitForOutput("listening on 127.0.0.1:\(port)", within: seconds)
        try Loopback.waitForPort(port, within: seconds, process: process)
        guard tls == nil else { return }
        let status = Loopback.eventually(within: seconds) { () -> Int? in
            guard process.isRunning else { return -1 }
            return Self.status(port: port, path: "/v2/").flatMap { $0 == 200 || $0 == 401 ? $0 : nil }
        }
        guard let status, status > 0 else {
            throw PeerError("docker-registry on \(port) does not answer GET /v2/ with 200 or 401:\n\(process.tail)")
        }
    }

    /// The status of a plain-HTTP `GET path` on 127.0.0.1:`port` (nil when no answer
    /// within 5 s). For the readiness check; tests use curl and skopeo.
    public static func status(port: Int, path: String) -> Int? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { return nil }
        let request = Array("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\n\r\n".utf8)
        guard request.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }) == request.count else { return nil }
        var buffer = [UInt8](repeating: 0, count: 512)
        var received = [UInt8]()
        while !received.contains(10) {
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { break }
            received += buffer[0..<count]
        }
        // "HTTP/1.1 200 OK"
        let line = String(decoding: received.prefix { $0 != 13 && $0 != 10 }, as: UTF8.self).split(separator: " ")
        return line.count >= 2 ? Int(line[1]) : nil
    }

    /// The file holding the blob `digest` (`sha256:<hex>`) in the filesystem storage, for
    /// tests that corrupt or remove content behind the registry's back.
    public func blobPath(_ digest: String) -> String {
        let hex = digest.hasPrefix("sha256:") ? String(digest.dropFirst(7)) : digest
        return storageFolder + "/docker/registry/v2/blobs/sha256/\(hex.prefix(2))/\(hex)/data"
    }

    /// SIGTERM (then SIGKILL after `grace`), reap, and remove the folder.
    public func stop(grace: Double = 5) {
        process.stop(grace: grace)
        try? FileManager.default.removeItem(atPath: folder)
    }

    /// SIGKILL at once (a registry that vanishes mid-transfer); `restart()` brings it back.
    public func kill9() { process.kill9() }

    /// Stops the registry if it runs and starts it again on the same port and storage.
    public func restart(within seconds: Double = 30) throws {
        let next: Int = lock.withLock { starts + 1 }
        process.stop()
        let started = try Self.launch(configPath: configPath, logPath: logPath(start: next))
        lock.withLock {
            current = started
            starts = next
        }
        try waitUntilServing(within: seconds)
    }

    deinit { current.stop(grace: 2) }
}
