import Foundation
import KingletTestPeers
import Testing

/// The agent with a `cloud:` section against a real mosquitto: the test plays the relay
/// with mosquitto_pub/mosquitto_sub (docs/protocol.md).
@Suite(.serialized) struct CloudLinkAgentTests {
    static let node = "edge-it"
    static let root = "kinglet/v1/nodes/edge-it/"
    static let uid = "6f1c2a9e-0000-4000-8000-000000000001"

    static func podMessage(hash: String, greeting: String) -> String {
        """
        {"v":1,"uid":"\(uid)","specHash":"\(hash)","pod":{"apiVersion":"v1","kind":"Pod",\
        "metadata":{"name":"web","namespace":"default","uid":"\(uid)"},\
        "spec":{"nodeName":"\(node)","terminationGracePeriodSeconds":5,"containers":[{"name":"web","image":"/bin/sh",\
        "command":["/bin/sh","-c","echo $GREETING; exec sleep 1000"],\
        "env":[{"name":"GREETING","value":"\(greeting)"}]}]}},\
        "files":{"config":{"app.conf":"bGlzdGVuIDgwODAK"}}}
        """
    }

    private func isAlive(_ pid: Int32) -> Bool {
        guard kill(pid, 0) == 0 else { return false }
        let stat = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
        return !stat.contains(") Z ")
    }

    private func link(_ socket: String) -> [String: Any]? {
        guard let result = try? AgentProcess.run(["status", "-o", "json", "--socket", socket], within: 10), result.status == 0,
              let document = try? JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any] else { return nil }
        return document["link"] as? [String: Any]
    }

    private func stopAgent(_ agent: AgentProcess) -> AgentProcess.Result? {
        kill(agent.process.processIdentifier, SIGTERM)
        return agent.finish(within: 30)
    }

    @Test func relayPodRunsSurvivesBrokerAndAgentRestartsAndLeavesWithTheIndex() throws {
        let broker = try MosquittoPeer(options: MosquittoPeer.Options(persistence: true))
        defer { broker.stop() }
        let relay = MosquittoClient(port: broker.port)
        let board = try TemporaryBoard(node: Self.node, extraConfig: "cloud: {broker: \"mqtt://127.0.0.1:\(broker.port)\"}")
        defer { board.remove() }
        let client = AgentStatusClient(socket: board.socket)
        let statusTopic = Self.root + "status/pods/\(Self.uid)"

        // 1. The relay's retained pod and index: the pod runs, with its env and files.
        try relay.publish(Self.root + "desired/pods/\(Self.uid)", Self.podMessage(hash: "00000000000000a1", greeting: "hello from the relay"), retain: true)
        try relay.publish(Self.root + "desired/index", #"{"v":1,"pods":{"\#(Self.uid)":"00000000000000a1"}}"#, retain: true)
        var agent = AgentProcess(["run", "--config", board.configPath])
        try agent.start()
        defer { if agent.process.isRunning { kill(agent.process.processIdentifier, SIGKILL); agent.process.waitUntilExit() } }
        let running = try #require(client.waitFor(within: 30) { PodJSON.ready($0["web"], "web") })
        let pid = try #require(PodJSON.pid(running["web"], "web"))
        let logs = try #require(try AgentProcess.run(["logs", "web", "--config", board.configPath]))
        #expect(logs.output == "hello from the relay\n")
        let file = board.folder + "/state/pods/\(Self.uid)/volumes/config/app.conf"
        #expect((try? String(contentsOfFile: file, encoding: .utf8)) == "listen 8080\n")
        let status = relay.waitForRetained(statusTopic, within: 15, folder: board.folder) { $0.contains(#""phase":"Running""#) }
        #expect(status?.contains(#""phase":"Running""#) == true, "\(status ?? "no status")")
        #expect(status?.contains(#""specHash":"00000000000000a1""#) == true)
        #expect(link(board.socket)?["connected"] as? Bool == true)

        // 2. Broker killed and back: the agent reconnects; the container is not restarted.
        broker.kill9()
        #expect(Loopback.eventually(within: 10) { link(board.socket)?["connected"] as? Bool == false ? true : nil } == true)
        try broker.restart()
        #expect(Loopback.eventually(within: 20) { (link(board.socket)?["connections"] as? Int ?? 0) >= 2 ? true : nil } == true)
        usleep(500_000)
        let afterBroker = try #require(client.pods())
        #expect(PodJSON.pid(afterBroker["web"], "web") == pid)
        #expect(PodJSON.restarts(afterBroker["web"], "web") == 0)

        // 3. The agent restarted while the broker is down: the pod comes back from the cache,
        // its container never stopped (it outlives the agent, and the new agent adopts it).
        broker.stop()
        #expect(stopAgent(agent)?.status == 0)
        #expect(isAlive(pid))
        agent = AgentProcess(["run", "--config", board.configPath])
        try agent.start()
        let offline = try #require(client.waitFor(within: 30) { PodJSON.ready($0["web"], "web") })
        let offlinePID = try #require(PodJSON.pid(offline["web"], "web"))
        #expect(offlinePID == pid)
        #expect(link(board.socket)?["connected"] as? Bool == false)
        // The broker comes back with the same retained index: nothing restarts.
        try broker.restart()
        #expect(Loopback.eventually(within: 20) { link(board.socket)?["connected"] as? Bool == true ? true : nil } == true)
        usleep(500_000)
        #expect(PodJSON.pid(client.pods()?["web"], "web") == offlinePID)

        // 4. An index without the pod: it stops (with the deleting grace) and `removed` goes up.
        try relay.publish(Self.root + "desired/index", #"{"v":1,"pods":{},"deleting":{"\#(Self.uid)":1}}"#, retain: true)
        let removed = #"{"v":1,"uid":"\#(Self.uid)","namespace":"default","name":"web","removed":true}"#
        #expect(relay.waitForRetained(statusTopic, within: 20, folder: board.folder) { $0 == removed } == removed)
        #expect(client.waitFor(within: 10) { $0["web"] == nil } != nil)
        #expect(!isAlive(offlinePID))
        #expect(!FileManager.default.fileExists(atPath: file))

        let result = try #require(stopAgent(agent))
        #expect(result.status == 0)
        #expect(result.error.contains("cloud link: connected to mqtt://127.0.0.1:\(broker.port)"))
        #expect(result.error.contains("is no longer in the relay's index: stopping it"))
        let inspect = try #require(try AgentProcess.run(["cache", "inspect", board.cacheFile]))
        #expect(!inspect.output.contains(Self.uid))
    }

    /// A mosquitto that takes TLS clients of a throwaway CA, and a board whose cloud link
    /// reaches it with the node's certificate.
    static func mutualTLSBoard() throws -> (broker: MosquittoPeer, board: TemporaryBoard, tlsPort: Int) {
        let ca = try TestCA(folder: try BuiltProducts.temporaryFolder("ca"))
        let identity = try ca.client(commonName: Self.node)
        let broker = try MosquittoPeer(options: MosquittoPeer.Options(tls: MosquittoPeer.TLS(ca: ca, server: try ca.server())))
        guard let tlsPort = broker.tlsPort else {
            broker.stop()
            throw MutualTLSSetupError()
        }
        do {
            let board = try TemporaryBoard(node: Self.node, extraConfig: """
                cloud:
                  broker: mqtts://127.0.0.1:\(tlsPort)
                  caFile: \(ca.certificate)
                  certFile: \(identity.certificate)
                  keyFile: \(identity.key)
                """)
            return (broker, board, tlsPort)
        } catch {
            broker.stop()
            throw error
        }
    }

    struct MutualTLSSetupError: Error, CustomStringConvertible {
        var description: String { "mosquitto has no TLS port" }
    }

    @Test func mutualTLSConnectsWithTheNodeCertificate() throws {
        let (broker, board, tlsPort) = try Self.mutualTLSBoard()
        defer { broker.stop() }
        defer { board.remove() }
        let relay = MosquittoClient(port: broker.port)
        let topic = Self.root + "status/online"
        var agent = AgentProcess(["run", "--config", board.configPath])
        try agent.start()
        defer { if agent.process.isRunning { kill(agent.process.processIdentifier, SIGKILL); agent.process.waitUntilExit() } }
        let online = relay.waitForRetained(topic, within: 20, folder: board.folder) { $0.hasPrefix(#"{"v":1,"online":true"#) }
        #expect(online?.hasPrefix(#"{"v":1,"online":true,"since":""#) == true, "\(online ?? "nothing")")
        // Killed: the broker publishes the will.
        kill(agent.process.processIdentifier, SIGKILL)
        agent.process.waitUntilExit()
        #expect(relay.waitForRetained(topic, within: 10, folder: board.folder) { $0 == #"{"v":1,"online":false}"# } == #"{"v":1,"online":false}"#)
        // Back, then a clean stop says so itself.
        agent = AgentProcess(["run", "--config", board.configPath])
        try agent.start()
        #expect(relay.waitForRetained(topic, within: 20, folder: board.folder) { $0.hasPrefix(#"{"v":1,"online":true"#) } != nil)
        #expect(stopAgent(agent)?.status == 0)
        #expect(relay.retained(topic, folder: board.folder) == #"{"v":1,"online":false}"#)
        #expect(broker.log.contains("as kinglet-\(Self.node)"))
    }

    /// A static agent from `cross/build`, run as on its board: under qemu-user for ARM.
    enum StaticAgent: String, CaseIterable, CustomTestStringConvertible {
        case aarch64, armv7, x86_64
        var testDescription: String { rawValue }

        /// The binary, or nil with the reason it is not there.
        var path: (String?, String) {
            var path = BuiltProducts.packageRoot.path + "/build/\(rawValue)/kinglet"
            if self == .x86_64, let chosen = ProcessInfo.processInfo.environment["KINGLET_STATIC_AGENT"] { path = chosen }
            if FileManager.default.isExecutableFile(atPath: path) { return (path, "") }
            return (nil, "no static \(rawValue) agent at \(path) (`make cross ARCH=\(rawValue)`)")
        }

        /// The qemu-user emulator ("" to run natively), or nil with the reason it is missing.
        var emulator: (String?, String) {
            let name: String
            switch self {
            case .aarch64: name = "qemu-aarch64-static"
            case .armv7: name = "qemu-arm-static"
            case .x86_64: return ("", "")
            }
            let folders = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map(String.init) + ["/usr/bin"]
            if let found = folders.map({ $0 + "/" + name }).first(where: { FileManager.default.isExecutableFile(atPath: $0) }) {
                return (found, "")
            }
            return (nil, "\(name) is not installed (cross/setup installs qemu-user-static)")
        }
    }

    /// `kinglet status` on a static agent whose link is up (mTLS, as on a board), asked with
    /// the same binary. The aarch64 agent died on the first such request: Swift 6.3's
    /// Embedded runtime handed back a masked BridgeObject from swift_bridgeObjectRetain, so
    /// the copy of `lastError` ("" since the CONNACK) in the status report was no valid
    /// String (Sources/CKingletSystem/kinglet_embedded_runtime.c).
    @Test(arguments: StaticAgent.allCases)
    func staticAgentAnswersStatusWhileItsLinkIsConnected(agent build: StaticAgent) throws {
        let (binary, missing) = build.path
        let (emulator, noEmulator) = build.emulator
        guard let binary, let emulator else {
            let reason = binary == nil ? missing : noEmulator
            if binary == nil && ProcessInfo.processInfo.environment["KINGLET_REQUIRE_STATIC_AGENT"] == "1" {
                Issue.record("\(reason)")
            } else {
                print("skipping the static \(build.rawValue) agent: \(reason)")
            }
            return
        }
        // The program to start and the arguments that come before the agent's own.
        let (program, prefix) = emulator.isEmpty ? (binary, [String]()) : (emulator, [binary])
        let (broker, board, tlsPort) = try Self.mutualTLSBoard()
        defer { broker.stop() }
        defer { board.remove() }
        let agent = AgentProcess(prefix + ["run", "--config", board.configPath], binary: program)
        try agent.start()
        defer { if agent.process.isRunning { kill(agent.process.processIdentifier, SIGKILL); agent.process.waitUntilExit() } }
        func status(_ format: [String]) -> AgentProcess.Result? {
            try? AgentProcess.run(prefix + ["status"] + format + ["--socket", board.socket], within: 30, binary: program)
        }
        func link() -> [String: Any]? {
            guard let result = status(["-o", "json"]), result.status == 0,
                  let document = try? JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any] else { return nil }
            return document["link"] as? [String: Any]
        }

        // Asked until the link is up (the first answer after the CONNACK is what crashed);
        // an agent that ended stops the wait ([:]).
        let connected = Loopback.eventually(within: 60, interval: 0.2) { () -> [String: Any]? in
            guard agent.process.isRunning else { return [:] }
            return link().flatMap { $0["connected"] as? Bool == true ? $0 : nil }
        }
        guard let connected, !connected.isEmpty else {
            let wasRunning = agent.process.isRunning
            if wasRunning { kill(agent.process.processIdentifier, SIGTERM) }
            let ended = agent.finish(within: 30)
            Issue.record("""
                the \(build.rawValue) agent \(wasRunning ? "never reported its link connected" : "ended (status \(ended?.status ?? -1)) while asked for its status"); \
                its log:
                \(ended?.error ?? "(killed)")
                --- broker
                \(broker.log)
                """)
            return
        }
        #expect(connected["state"] as? String == "connected")
        #expect(connected["lastError"] as? String == "")
        #expect(connected["broker"] as? String == "mqtts://127.0.0.1:\(tlsPort)")
        #expect(connected["connections"] as? Int == 1)
        // Again, as a user would: the tables, then JSON once more.
        let tables = status([])
        #expect(tables?.status == 0)
        #expect(tables?.output.contains("LINK mqtts://127.0.0.1:\(tlsPort)  connected since ") == true, "\(tables?.output ?? "no answer")")
        #expect(link()?["lastError"] as? String == "")
        #expect(agent.process.isRunning, "the agent ended after answering its status")

        kill(agent.process.processIdentifier, SIGTERM)
        let result = try #require(agent.finish(within: 30), "the agent did not stop within 30 s of SIGTERM")
        #expect(result.status == 0, "\(result.error)")
        #expect(result.error.contains("cloud link: connected to mqtts://127.0.0.1:\(tlsPort)"))
        #expect(result.error.contains("stopped cleanly"))
    }

    @Test func plainMQTTToANonLoopbackHostIsAConfigError() throws {
        let board = try TemporaryBoard(node: Self.node, extraConfig: "cloud: {broker: \"mqtt://relay.example.com:1883\"}")
        defer { board.remove() }
        let result = try #require(try AgentProcess.run(["run", "--config", board.configPath], within: 20))
        #expect(result.status == 2)
        #expect(result.error.contains("\(board.configPath):9:"))
        #expect(result.error.contains("cloud.broker: mqtt:// (no TLS) is only allowed for a loopback host"))
        let tls = try TemporaryBoard(node: Self.node, extraConfig: "cloud: {broker: \"mqtts://relay.example.com\"}")
        defer { tls.remove() }
        let missing = try #require(try AgentProcess.run(["run", "--config", tls.configPath], within: 20))
        #expect(missing.status == 2)
        #expect(missing.error.contains("cloud.caFile: required for an mqtts:// broker"))
        let absent = try TemporaryBoard(node: Self.node, extraConfig: "cloud: {broker: \"mqtts://127.0.0.1:1\", caFile: no-ca.crt, certFile: no.crt, keyFile: no.key}")
        defer { absent.remove() }
        try absent.write(manifest: "a.yaml", "metadata: {name: a}\nspec: {containers: [{name: c, image: /bin/sh, command: [/bin/sh, -c, exec sleep 1000]}]}\n")
        let unusable = try #require(try AgentProcess.run(["run", "--config", absent.configPath], within: 20))
        #expect(unusable.status == 2)
        #expect(unusable.error.contains("cloud link: cannot use the TLS files"))
        #expect(!unusable.error.contains("static pod(s)"), "no pod starts before the link is set up")
    }
}
