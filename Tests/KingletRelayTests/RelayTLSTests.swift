import Foundation
import KingletKube
import KingletRelay
import KingletTestPeers
import Logging
import Testing

/// The relay on the production broker setup: mqtts with its own client certificate
/// (CN kinglet-relay) through the ACL that `kinglet-relay broker-config` writes.
@Suite(.serialized, .enabled(if: MosquittoPeer.isInstalled && MosquittoClient.isInstalled, "needs Debian's mosquitto and mosquitto-clients"))
struct RelayTLSTests {
    @Test func relayWorksOverMutualTLSWithinTheGeneratedACL() async throws {
        let broker = try GeneratedBroker("relay-tls")
        defer { broker.broker.stop() }
        let api = try TestAPIPeer.start(label: "relay-tls")
        defer { api.stop() }
        let kube = try KubeClient(config: KubeConfig.load(kubeconfig: api.kubeconfigPath), logger: Logger(label: "test"))
        for namespace in ["kube-node-lease", "kinglet-system"] {
            _ = try? await kube.create(.namespaces, ["apiVersion": "v1", "kind": "Namespace", "metadata": ["name": .string(namespace)]])
        }
        let identity = try broker.ca.client(commonName: "kinglet-relay")
        let relay = try PeerProcess(
            name: "kinglet-relay", executable: BuiltProducts.path("kinglet-relay"),
            arguments: ["run", "--kubeconfig", api.kubeconfigPath, "--broker", "mqtts://127.0.0.1:\(broker.broker.tlsPort!)",
                        "--ca-file", broker.ca.certificate, "--cert-file", identity.certificate, "--key-file", identity.key,
                        "--replica-id", "tls", "--log-level", "debug"],
            logPath: broker.folder + "/relay.log")
        defer { relay.stop() }

        let index = try broker.subscribe(broker.edge1, "kinglet/v1/nodes/edge-1/desired/index")
        defer { index.stop() }
        try broker.publish(broker.edge1, "kinglet/v1/nodes/edge-1/status/online", #"{"v":1,"online":true}"#, retain: true)
        try broker.publish(broker.edge1, "kinglet/v1/nodes/edge-1/status/node", """
            {"v":1,"conditions":[{"type":"Ready","status":"True","reason":"KubeletReady","message":"ok","lastTransitionTime":"2026-11-30T10:00:00Z"}],
             "nodeInfo":{"architecture":"amd64","operatingSystem":"linux"},"capacity":{"cpu":"2"}}
            """, retain: true)

        let ready = await Self.eventually { () -> Bool? in
            let node = try await kube.get(.nodes, name: "edge-1")
            return node[path: "status", "conditions"]?.arrayValue?.first?["status"] == "True" ? true : nil
        }
        #expect(ready == true, "\(relay.tail)")
        // The board reads the index the relay wrote (the ACL let both through).
        #expect(index.waitFor(#"kinglet/v1/nodes/edge-1/desired/index {"deleting":{},"pods":{},"v":1}"#, within: 15), "\(index.output)\n\(relay.tail)")
        await kube.shutdown()
    }

    static func eventually<T>(within seconds: Double = 20, _ body: () async throws -> T?) async -> T? {
        let deadline = Date().addingTimeInterval(seconds)
        repeat {
            if let value = try? await body() { return value }
            try? await Task.sleep(for: .milliseconds(200))
        } while Date() < deadline
        return nil
    }
}
