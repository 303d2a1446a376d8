/// KingletTestAPI: a test stand-in for kube-apiserver, backed by a real etcd. It keeps the
/// semantics a controller, `kubectl` and the Python client rely on (resourceVersion =
/// etcd revision, 409 on stale writes, watches from a revision, 410 after compaction,
/// status subresources, graceful pod deletion, pod defaults and tolerations admission,
/// discovery, server-side tables). Test support, not product.
import Foundation
import Hummingbird
import Logging

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
        let responder = APIResponder(store: store, token: configuration.token, bookmarkInterval: configuration.bookmarkInterval,
                                     serverAddress: "\(configuration.host):\(configuration.port)", logger: logger)
        let app = Application(
            responder: responder,
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "kinglet-testapi"),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? configuration.port
                let url = "http://\(configuration.host):\(port)"
                if let path = configuration.kubeconfigPath {
                    do { try Kubeconfig.write(to: path, server: url, token: configuration.token) } catch {
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

/// A kubeconfig for clients of the test server.
public enum Kubeconfig {
    public static func text(server: String, token: String?) -> String {
        var text = """
        apiVersion: v1
        kind: Config
        clusters:
        - name: kinglet-testapi
          cluster:
            server: \(server)
        contexts:
        - name: kinglet-testapi
          context:
            cluster: kinglet-testapi
            user: kinglet-testapi
            namespace: default
        current-context: kinglet-testapi
        users:
        - name: kinglet-testapi
          user:
        """
        if let token { text += "\n    token: \(token)\n" } else { text += " {}\n" }
        return text
    }

    public static func write(to path: String, server: String, token: String?) throws {
        try text(server: server, token: token).write(toFile: path, atomically: true, encoding: .utf8)
    }
}
