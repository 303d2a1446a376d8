/// kinglet-testapi: the test stand-in for kube-apiserver (etcd-backed), for tests, demos
/// and benchmarks. Not a product.
import ArgumentParser
import Foundation
import KingletTestAPI
import Logging

@main
struct TestAPIMain: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kinglet-testapi",
        abstract: "A test stand-in for kube-apiserver, backed by a real etcd (test support, not a product).",
        subcommands: [TestAPICommand.self, LeaseLoadCommand.self],
        defaultSubcommand: TestAPICommand.self)
}

/// Measures Lease renewals against a running server, bounded in count and time.
struct LeaseLoadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "load-leases",
        abstract: "Renew Leases against a running kinglet-testapi for a bounded time and print the rate.")

    @Option(help: "The server's URL (loopback only).") var server: String
    @Option(help: "Bearer token.") var token: String?
    @Option(help: "Number of Leases.") var leases: Int = 1000
    @Option(help: "Concurrent workers.") var workers: Int = 64
    @Option(help: "Stop after this many renewals.") var renewals: Int = 20_000
    @Option(help: "Stop after this many seconds.") var seconds: Double = 10

    func validate() throws {
        guard server.hasPrefix("http://127.") || server.hasPrefix("http://localhost") else {
            throw ValidationError("--server must be a loopback http:// URL")
        }
        guard leases > 0, workers > 0, renewals > 0, seconds > 0, seconds <= 300 else {
            throw ValidationError("--leases, --workers, --renewals must be positive and --seconds in (0, 300]")
        }
    }

    func run() async throws {
        let client = APIClient(baseURL: server, token: token, maxConnections: workers)
        do {
            print(try await LeaseLoad.run(client: client, leases: leases, workers: workers, maxRenewals: renewals, seconds: seconds))
        } catch {
            await client.shutdown()
            throw error
        }
        await client.shutdown()
    }
}

struct TestAPICommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "A test stand-in for kube-apiserver, backed by a real etcd (test support, not a product).",
        discussion: """
        Serves the core v1 namespaces, nodes, pods, configmaps, secrets and events and the coordination.k8s.io/v1 leases over HTTP (or HTTPS with --tls-cert) on 127.0.0.1, storing objects in etcd under /registry/<resource>/... as kube-apiserver does. Prints '\(TestAPIServer.readyPrefix)http(s)://127.0.0.1:PORT' once it accepts requests.

        POST /admin/compact compacts etcd at its current revision: lists and watches from older resourceVersions then get 410 Expired. See docs/testapi.md.
        """)

    @Option(help: "etcd client URL.")
    var etcd: String = "http://127.0.0.1:2379"

    @Option(help: "Address to listen on.")
    var host: String = "127.0.0.1"

    @Option(help: "Port to listen on (0 picks a free one and prints it).")
    var port: Int = 0

    @Option(help: "Require 'Authorization: Bearer TOKEN' on every request but health checks (401 otherwise).")
    var token: String?

    @Option(name: .customLong("kubeconfig-out"), help: "Write a kubeconfig for this server (with the token) to PATH.")
    var kubeconfigOut: String?

    @Option(name: .customLong("tls-cert"), help: "Serve HTTPS with this certificate chain (PEM).")
    var tlsCert: String?

    @Option(name: .customLong("tls-key"), help: "The private key of --tls-cert (PEM).")
    var tlsKey: String?

    @Option(name: .customLong("client-ca"), help: "Require client certificates signed by this CA (PEM); the token is then not required.")
    var clientCA: String?

    @Option(name: .customLong("kubeconfig-ca"), help: "CA file written into the kubeconfig as the cluster's certificate-authority.")
    var kubeconfigCA: String?

    @Option(name: .customLong("kubeconfig-client-cert"), help: "Client certificate written into the kubeconfig.")
    var kubeconfigClientCert: String?

    @Option(name: .customLong("kubeconfig-client-key"), help: "Client key written into the kubeconfig.")
    var kubeconfigClientKey: String?

    @Option(name: .customLong("bookmark-interval"), help: "Seconds between BOOKMARK events on watches that allow them.")
    var bookmarkInterval: Double = 5

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel: String = "info"

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be between 0 and 65535") }
        guard bookmarkInterval > 0 else { throw ValidationError("--bookmark-interval must be positive") }
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("unknown --log-level \(logLevel)") }
        guard etcd.hasPrefix("http://") else { throw ValidationError("--etcd must be an http:// URL") }
        guard (tlsCert == nil) == (tlsKey == nil) else { throw ValidationError("--tls-cert and --tls-key go together") }
        guard clientCA == nil || tlsCert != nil else { throw ValidationError("--client-ca needs --tls-cert and --tls-key") }
        for path in [tlsCert, tlsKey, clientCA].compactMap({ $0 }) where !FileManager.default.isReadableFile(atPath: path) {
            throw ValidationError("cannot read \(path)")
        }
    }

    func run() async throws {
        var logger = Logger(label: "kinglet-testapi")
        logger.logLevel = Logger.Level(rawValue: logLevel) ?? .info
        logger.info("kinglet-testapi: a test stand-in for kube-apiserver (not a product)", metadata: ["etcd": "\(etcd)"])
        var configuration = TestAPIConfiguration(etcdEndpoint: etcd)
        configuration.host = host
        configuration.port = port
        configuration.token = token
        configuration.kubeconfigPath = kubeconfigOut
        configuration.bookmarkInterval = bookmarkInterval
        configuration.tlsCertificatePath = tlsCert
        configuration.tlsKeyPath = tlsKey
        configuration.clientCAPath = clientCA
        configuration.kubeconfigCAPath = kubeconfigCA
        configuration.kubeconfigClientCertificatePath = kubeconfigClientCert
        configuration.kubeconfigClientKeyPath = kubeconfigClientKey
        try await TestAPIServer.run(configuration, logger: logger)
    }
}
