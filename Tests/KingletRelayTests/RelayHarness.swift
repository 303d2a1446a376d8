import Foundation
import KingletKube
import KingletRelay
import KingletTestPeers
import Logging
import Testing

/// The relay's real peers for one test: the test API server (with etcd), mosquitto, relay
/// processes, a Kubernetes client, and an MQTT client that plays the agents. Timings are
/// shortened (lease 4 s, renew 1 s) so that silence and takeover fit in a bounded test.
final class RelayHarness: @unchecked Sendable {
    static let leaseDuration = 4.0
    let api: TestAPIPeer
    let broker: MosquittoPeer
    let kube: KubeClient
    let agent: MQTTClient
    let agentMessages = MessageLog()
    let folder: String
    private var relays: [String: PeerProcess] = [:]
    private var consumer: Task<Void, Never>?
    private var heartbeats: [Heartbeats] = []

    init(_ label: String, bookmarks: Double = 5) throws {
        folder = try BuiltProducts.temporaryFolder("relay-\(label)")
        api = try TestAPIPeer.start(label: label, bookmarkInterval: bookmarks)
        do {
            broker = try MosquittoPeer(folder: folder + "/broker")
            kube = try KubeClient(config: KubeConfig.load(kubeconfig: api.kubeconfigPath), logger: Logger(label: "test"))
            agent = try MQTTClient(broker: BrokerURL(host: "127.0.0.1", port: broker.port, usesTLS: false),
                                   clientID: "test-agents-\(label)", tls: nil, logger: Logger(label: "agent"))
        } catch {
            api.stop()
            throw error
        }
        agent.subscribe("kinglet/v1/nodes/+/desired/#")
        let log = agentMessages
        let events = agent.events
        consumer = Task {
            for await event in events {
                if case .message(let topic, let payload, let retained) = event { await log.add(topic, payload, retained) }
            }
        }
        try agent.start()
    }

    /// Runs `body` with a fresh harness, and stops every peer after it, thrown or not.
    static func with(_ label: String, bookmarks: Double = 5, _ body: (RelayHarness) async throws -> Void) async throws {
        let harness = try RelayHarness(label, bookmarks: bookmarks)
        do {
            // A cluster has kube-node-lease; the relay's manifests make kinglet-system.
            for namespace in ["kube-node-lease", "kinglet-system"] {
                _ = try? await harness.kube.create(.namespaces, ["apiVersion": "v1", "kind": "Namespace", "metadata": ["name": .string(namespace)]])
            }
            try await body(harness)
        } catch {
            await harness.stop()
            throw error
        }
        await harness.stop()
    }

    /// Starts a relay replica.
    @discardableResult
    func startRelay(_ id: String, extra: [String] = []) throws -> PeerProcess {
        let process = try PeerProcess(
            name: "kinglet-relay-\(id)", executable: BuiltProducts.path("kinglet-relay"),
            arguments: ["run", "--kubeconfig", api.kubeconfigPath, "--broker", "mqtt://127.0.0.1:\(broker.port)",
                        "--replica-id", id, "--lease-duration", String(Self.leaseDuration), "--renew-interval", "1",
                        "--log-level", "debug"] + extra,
            logPath: folder + "/relay-\(id).log")
        relays[id] = process
        return process
    }

    func relay(_ id: String) -> PeerProcess? { relays[id] }

    func stop() async {
        for beats in heartbeats { beats.cancel() }
        for relay in relays.values { relay.stop() }
        consumer?.cancel()
        agent.stop()
        await kube.shutdown()
        broker.stop()
        api.stop()
    }

    var relayLogs: String { relays.map { "--- relay \($0.key):\n\($0.value.tail)" }.joined(separator: "\n") }

    // MARK: The agent's side

    func publish(_ topic: LinkTopic, _ json: String, retain: Bool = true) {
        agent.publish(topic.path, Array(json.utf8), qos: 1, retain: retain)
    }

    func comeOnline(_ node: String, arch: String = "arm64", labels: String = #"{"site":"plant-3"}"#) {
        publish(.online(node: node), #"{"v":1,"online":true,"since":"2026-11-30T10:00:00Z","agentVersion":"0.2.0"}"#)
        publish(.nodeStatus(node: node), """
            {"v":1,"labels":\(labels),"addresses":[{"type":"InternalIP","address":"192.0.2.10"},{"type":"Hostname","address":"\(node)"}],
             "capacity":{"cpu":"4","memory":"3884Mi","pods":"110"},"allocatable":{"cpu":"4","memory":"3884Mi","pods":"110"},
             "conditions":[{"type":"Ready","status":"True","reason":"KubeletReady","message":"kinglet is posting ready status","lastTransitionTime":"2026-11-30T10:00:00Z"}],
             "nodeInfo":{"machineID":"m","systemUUID":"s","bootID":"b","kernelVersion":"6.1.0","osImage":"Debian","containerRuntimeVersion":"kinglet-exec://0.2.0",
                         "kubeletVersion":"v1.32.0-kinglet-0.2.0","kubeProxyVersion":"","operatingSystem":"linux","architecture":"\(arch)"}}
            """)
    }

    func heartbeat(_ node: String) {
        publish(.heartbeat(node: node), #"{"v":1,"time":"2026-11-30T10:00:10Z"}"#, retain: false)
    }

    /// Sends heartbeats for `nodes` every second until `cancel()`. A thread of its own, not a
    /// task: other tests block the cooperative pool, and a late heartbeat is a silent board.
    func keepBeating(_ nodes: [String]) -> Heartbeats {
        let beats = Heartbeats(nodes: nodes, harness: self)
        heartbeats.append(beats)
        return beats
    }

    // MARK: Waiting

    /// Polls `body` until it gives a value or `seconds` pass.
    func eventually<T>(within seconds: Double = 20, _ body: () async throws -> T?) async -> T? {
        let deadline = Date().addingTimeInterval(seconds)
        repeat {
            if let value = try? await body() { return value }
            try? await Task.sleep(for: .milliseconds(200))
        } while Date() < deadline
        return nil
    }

    func node(_ name: String) async -> JSONValue? { try? await kube.get(.nodes, name: name) }

    func readyStatus(_ name: String) async -> String? {
        guard let node = await node(name) else { return nil }
        return node[path: "status", "conditions"]?.arrayValue?.first { $0["type"] == "Ready" }?["status"]?.stringValue
    }

    func lease(_ name: String) async -> JSONValue? { try? await kube.get(.leases, namespace: "kube-node-lease", name: name) }

    func pod(_ name: String, namespace: String = "default") -> JSONValue {
        [
            "apiVersion": "v1", "kind": "Pod",
            "metadata": ["name": .string(name), "namespace": .string(namespace), "labels": ["app": "web"]],
            "spec": [
                "nodeName": "edge-1", "restartPolicy": "Always", "terminationGracePeriodSeconds": 30,
                "containers": [["name": "web", "image": "/usr/bin/busybox", "command": ["httpd", "-f", "-p", "8080"]]],
            ],
        ]
    }
}

/// What the agents' MQTT client received: the latest payload of each topic, and every
/// message in order.
actor MessageLog {
    struct Message {
        var topic: String
        var payload: [UInt8]
        var retained: Bool
        var at: Date
    }

    private(set) var messages: [Message] = []
    private(set) var latest: [String: [UInt8]] = [:]

    func add(_ topic: String, _ payload: [UInt8], _ retained: Bool) {
        messages.append(Message(topic: topic, payload: payload, retained: retained, at: Date()))
        latest[topic] = payload
    }

    func json(_ topic: String) -> JSONValue? {
        guard let payload = latest[topic], !payload.isEmpty else { return nil }
        return try? JSONValue.parse(payload)
    }

    func payload(_ topic: String) -> [UInt8]? { latest[topic] }

    func received(after date: Date, prefix: String) -> [Message] {
        messages.filter { $0.at > date && $0.topic.hasPrefix(prefix) }
    }
}

/// The agents' heartbeat loop (see RelayHarness.keepBeating).
final class Heartbeats: @unchecked Sendable {
    private let lock = NSLock()
    private var stopped = false

    init(nodes: [String], harness: RelayHarness) {
        let thread = Thread { [self] in
            while !lock.withLock({ stopped }) {
                for node in nodes { harness.heartbeat(node) }
                Thread.sleep(forTimeInterval: 1)
            }
        }
        thread.start()
    }

    func cancel() { lock.withLock { stopped = true } }

    deinit { cancel() }
}
