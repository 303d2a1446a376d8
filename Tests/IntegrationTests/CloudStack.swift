import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import KingletTestPeers

/// The whole system on loopback, as `make demo` runs it: a throwaway CA, mosquitto with the
/// config and ACL of `kinglet-relay broker-config` (mTLS only), etcd and the test API
/// server, and the relay. Agents are started by the tests. `stop()` stops and reaps all.
final class CloudStack {
    let folder: String
    let ca: TestCA
    let broker: MosquittoPeer
    let api: TestAPIPeer
    private(set) var relay: PeerProcess
    let brokerURL: String
    private let relayArguments: [String]

    /// Relay timings shortened for tests: a silent board turns Unknown after
    /// `leaseSeconds` instead of 40 s.
    static let leaseSeconds = 8
    static let renewSeconds = 2

    init(label: String) throws {
        folder = try BuiltProducts.temporaryFolder("stack-\(label)")
        ca = try TestCA(folder: folder + "/ca")
        let server = try ca.server()
        let relayIdentity = try ca.client(commonName: "kinglet-relay")
        let tlsPort = try Loopback.freePort()
        let generated = try PeerProcess.run(BuiltProducts.path("kinglet-relay"), [
            "broker-config", "--out", folder + "/broker", "--port", String(tlsPort), "--bind-address", "127.0.0.1",
            "--cafile", ca.certificate, "--certfile", server.certificate, "--keyfile", server.key,
            "--persistence-location", folder + "/broker/", "--user", "root",  // the test folder is root's
        ], within: 30)
        guard generated.status == 0 else { throw PeerError("broker-config failed: \(generated.output)") }
        broker = try MosquittoPeer(configPath: folder + "/broker/mosquitto.conf", port: 0, tlsPort: tlsPort,
                                   folder: folder + "/broker")
        brokerURL = "mqtts://127.0.0.1:\(tlsPort)"
        do {
            // No token: kubectl sends bearer tokens over https only, and the stand-in serves http.
            api = try TestAPIPeer.start(label: label)
        } catch {
            broker.stop()
            throw error
        }
        // What `kubectl apply -f deploy/relay-rbac.yaml` creates first: the replicas' namespace.
        do {
            try Self.createNamespace("kinglet-system", api: api)
        } catch {
            api.stop()
            broker.stop()
            throw error
        }
        relayArguments = [
            "run", "--kubeconfig", api.kubeconfigPath, "--broker", brokerURL,
            "--ca-file", ca.certificate, "--cert-file", relayIdentity.certificate, "--key-file", relayIdentity.key,
            "--replica-id", "e2e", "--lease-duration", String(Self.leaseSeconds),
            "--renew-interval", String(Self.renewSeconds), "--log-level", "debug",
        ]
        do {
            relay = try Self.startRelay(relayArguments, log: folder + "/relay-1.log")
        } catch {
            api.stop()
            broker.stop()
            throw error
        }
    }

    private static func createNamespace(_ name: String, api: TestAPIPeer) throws {
        var request = URLRequest(url: URL(string: api.url + "/api/v1/namespaces")!)
        request.httpMethod = "POST"
        if let token = api.token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.httpBody = Data(#"{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"\#(name)"}}"#.utf8)
        let status = try send(request).1
        guard status == 201 || status == 409 else { throw PeerError("creating namespace \(name): HTTP \(status)") }
    }

    private static func startRelay(_ arguments: [String], log: String) throws -> PeerProcess {
        try PeerProcess(name: "kinglet-relay", executable: BuiltProducts.path("kinglet-relay"), arguments: arguments,
                        logPath: log)
    }

    /// A board config for `node`, with a certificate of its own (CN = node name), and
    /// `extraConfig` (top-level sections other than `cloud:`).
    func board(node: String, extraConfig: String = "") throws -> TemporaryBoard {
        let identity = try ca.client(commonName: node)
        return try TemporaryBoard(node: node, extraConfig: """
            cloud:
              broker: \(brokerURL)
              caFile: \(ca.certificate)
              certFile: \(identity.certificate)
              keyFile: \(identity.key)
            \(extraConfig)
            """)
    }

    /// `kubectl` against the test API server; nil when it timed out.
    func kubectl(_ arguments: [String], within seconds: Double = 30) throws -> CommandResult {
        try PeerProcess.run("/usr/bin/env", ["kubectl", "--kubeconfig", api.kubeconfigPath] + arguments, within: seconds)
    }

    /// GET on the API, decoded; nil on 404.
    func get(_ path: String) throws -> [String: Any]? {
        var request = URLRequest(url: URL(string: api.url + path)!)
                let (data, status) = try Self.send(request)
        if status == 404 { return nil }
        guard status == 200 else { throw PeerError("GET \(path): HTTP \(status): \(String(decoding: data, as: UTF8.self))") }
        return try JSONSerialization.jsonObject(with: data) as? [String: Any]
    }

    /// A JSON request with a body; returns the status code.
    @discardableResult
    func send(_ method: String, _ path: String, _ body: [String: Any], contentType: String = "application/json") throws -> Int {
        var request = URLRequest(url: URL(string: api.url + path)!)
        request.httpMethod = method
                request.setValue(contentType, forHTTPHeaderField: "Content-Type")
        request.httpBody = try JSONSerialization.data(withJSONObject: body)
        return try Self.send(request).1
    }

    private static func send(_ request: URLRequest) throws -> (Data, Int) {
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var result: (Data, Int)? = nil
        nonisolated(unsafe) var failure: Error? = nil
        var bounded = request
        bounded.timeoutInterval = 15
        URLSession.shared.dataTask(with: bounded) { data, response, error in
            if let error { failure = error } else { result = (data ?? Data(), (response as? HTTPURLResponse)?.statusCode ?? 0) }
            done.signal()
        }.resume()
        guard done.wait(timeout: .now() + 20) == .success else { throw PeerError("\(request.url!) timed out") }
        if let failure { throw failure }
        return result!
    }

    /// The Ready condition's status of a Node ("True", "False", "Unknown"), or nil.
    func nodeReady(_ node: String) -> String? {
        guard let object = try? get("/api/v1/nodes/\(node)"),
              let status = object["status"] as? [String: Any],
              let conditions = status["conditions"] as? [[String: Any]] else { return nil }
        return conditions.first { $0["type"] as? String == "Ready" }?["status"] as? String
    }

    func pod(_ name: String, namespace: String = "default") -> [String: Any]? {
        try? get("/api/v1/namespaces/\(namespace)/pods/\(name)")
    }

    /// Restarts the relay (a new process, same arguments).
    func restartRelay(_ index: Int) throws {
        relay.stop()
        relay = try Self.startRelay(relayArguments, log: folder + "/relay-\(index).log")
    }

    /// What the peers logged, for a failing test's message.
    var logs: String {
        "--- relay\n\(relay.tail)\n--- broker\n\(broker.process.tail)\n--- testapi\n\(api.process.tail)"
    }

    func stop() {
        relay.stop()
        api.stop()
        broker.stop()
    }
}
