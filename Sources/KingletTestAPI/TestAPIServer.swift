/// KingletTestAPI: a test stand-in for kube-apiserver, backed by a real etcd. It keeps the
/// semantics a controller, `kubectl` and the Python client rely on (resourceVersion =
/// etcd revision, 409 on stale writes, watches from a revision, 410 after compaction,
/// status subresources, graceful pod deletion, pod defaults and tolerations admission,
/// CustomResourceDefinitions and their resources, discovery, server-side tables). Test
/// support, not product.
import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import NIOSSL

public struct TestAPIConfiguration: Sendable {
    /// etcd's client URL, e.g. `http://127.0.0.1:2379`.
    public var etcdEndpoint: String
    public var host: String = "127.0.0.1"
    /// 0 picks a free port; the ready line says which.
    public var port: Int = 0
    /// When set, every request but health checks needs `Authorization: Bearer <token>`.
    public var token: String?
    /// Seconds between BOOKMARK events of watches that allow them.
    public var bookmarkInterval: Double = 5
    /// Where to write a kubeconfig for this server once it listens.
    public var kubeconfigPath: String?
    /// HTTPS: the serving certificate chain and key (PEM). Without them the server speaks HTTP.
    public var tlsCertificatePath: String?
    public var tlsKeyPath: String?
    /// Client certificates signed by this CA are required (mutual TLS); the bearer token
    /// is then not asked for.
    public var clientCAPath: String?
    /// Written into the kubeconfig: the CA of the serving certificate, and a client
    /// certificate and key for mutual TLS.
    public var kubeconfigCAPath: String?
    public var kubeconfigClientCertificatePath: String?
    public var kubeconfigClientKeyPath: String?

    var scheme: String { tlsCertificatePath == nil ? "http" : "https" }

    public init(etcdEndpoint: String) { self.etcdEndpoint = etcdEndpoint }
}

public enum TestAPIServer {
    /// The line printed once the server accepts requests; launchers wait for it.
    public static let readyPrefix = "kinglet-testapi: serving on "

    /// Runs until SIGTERM/SIGINT.
    public static func run(_ configuration: TestAPIConfiguration, logger: Logger) async throws {
        let etcd = EtcdClient(endpoint: configuration.etcdEndpoint)
        let store = ObjectStore(etcd: etcd)
        try await waitForEtcd(store, logger: logger)
        try await store.ensureSystemNamespaces()
        try await store.refreshCustomResources()
        let server = try serverBuilder(configuration)
        let responder = APIResponder(store: store, token: configuration.clientCAPath == nil ? configuration.token : nil, bookmarkInterval: configuration.bookmarkInterval,
                                     serverAddress: "\(configuration.host):\(configuration.port)", logger: logger)
        let app = Application(
            responder: responder,
            server: server,
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "kinglet-testapi"),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? configuration.port
                let url = "\(configuration.scheme)://\(configuration.host):\(port)"
                if let path = configuration.kubeconfigPath {
                    do {
                        try Kubeconfig.write(to: path, server: url, token: configuration.token, caPath: configuration.kubeconfigCAPath,
                                             clientCertificatePath: configuration.kubeconfigClientCertificatePath,
                                             clientKeyPath: configuration.kubeconfigClientKeyPath)
                    } catch {
                        logger.error("cannot write the kubeconfig \(path): \(error)")
                    }
                }
                logger.info("test stand-in for kube-apiserver ready", metadata: ["url": "\(url)", "etcd": "\(configuration.etcdEndpoint)"])
                FileHandle.standardOutput.write(Data((readyPrefix + url + "\n").utf8))
            },
            logger: logger)
        do { try await app.runService() } catch {
            await etcd.shutdown()
            throw error
        }
        await etcd.shutdown()
    }

    /// Plain HTTP/1.1, or HTTPS (with client certificates required when a client CA is given).
    static func serverBuilder(_ configuration: TestAPIConfiguration) throws -> HTTPServerBuilder {
        guard let certificatePath = configuration.tlsCertificatePath else { return .http1() }
        guard let keyPath = configuration.tlsKeyPath else { throw TestAPIConfigurationError("--tls-cert needs --tls-key") }
        do {
            let chain = try NIOSSLCertificate.fromPEMFile(certificatePath).map { NIOSSLCertificateSource.certificate($0) }
            let key = try NIOSSLPrivateKey(file: keyPath, format: .pem)
            var tls = TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(key))
            if let caPath = configuration.clientCAPath {
                tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(caPath))
                tls.certificateVerification = .noHostnameVerification
            }
            return try .tls(.http1(), tlsConfiguration: tls)
        } catch {
            throw TestAPIConfigurationError("cannot set up TLS from \(certificatePath) and \(keyPath): \(error)")
        }
    }

    static func waitForEtcd(_ store: ObjectStore, logger: Logger) async throws {
        let deadline = Date().addingTimeInterval(30)
        while true {
            do { _ = try await store.etcd.currentRevision(); return } catch {
                if Date() > deadline { throw error }
                logger.info("waiting for etcd at \(store.etcd.endpoint): \(error)")
                try await Task.sleep(for: .milliseconds(200))
            }
        }
    }
}

public struct TestAPIConfigurationError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// A kubeconfig for clients of the test server.
public enum Kubeconfig {
    public static func text(server: String, token: String?, caPath: String? = nil, clientCertificatePath: String? = nil,
                            clientKeyPath: String? = nil) -> String {
        var cluster = "    server: \(server)\n"
        if let caPath { cluster += "    certificate-authority: \(caPath)\n" }
        var user = ""
        if let token { user += "    token: \(token)\n" }
        if let clientCertificatePath, let clientKeyPath {
            user += "    client-certificate: \(clientCertificatePath)\n    client-key: \(clientKeyPath)\n"
        }
        return """
        apiVersion: v1
        kind: Config
        clusters:
        - name: kinglet-testapi
          cluster:
        \(cluster)contexts:
        - name: kinglet-testapi
          context:
            cluster: kinglet-testapi
            user: kinglet-testapi
            namespace: default
        current-context: kinglet-testapi
        users:
        - name: kinglet-testapi
          user:\(user.isEmpty ? " {}\n" : "\n" + user)
        """
    }

    public static func write(to path: String, server: String, token: String?, caPath: String? = nil,
                             clientCertificatePath: String? = nil, clientKeyPath: String? = nil) throws {
        try text(server: server, token: token, caPath: caPath, clientCertificatePath: clientCertificatePath,
                 clientKeyPath: clientKeyPath).write(toFile: path, atomically: true, encoding: .utf8)
    }
}
