import Foundation
import KingletTestPeers
import Testing

/// `kinglet-sim nodes` against the real stack: mosquitto with the generated mTLS config and
/// ACL (one certificate per simulated board), etcd + kinglet-testapi, kinglet-relay.
@Suite(.serialized)
struct SimulatedNodesTests {
    static let names = ["sim-00001", "sim-00002", "sim-00003"]

    @Test("three simulated boards become Ready nodes, report a pod Running, remove it on delete, and stop cleanly")
    func simulatedBoardsServeTheRelay() throws {
        let stack = try CloudStack(label: "sim-nodes")
        defer { stack.stop() }
        let certificates = stack.folder + "/sim-certs"
        try FileManager.default.createDirectory(atPath: certificates, withIntermediateDirectories: true)
        for name in Self.names {
            let identity = try stack.ca.client(commonName: name)
            try FileManager.default.copyItem(atPath: identity.certificate, toPath: "\(certificates)/\(name).crt")
            try FileManager.default.copyItem(atPath: identity.key, toPath: "\(certificates)/\(name).key")
        }
        let sim = try PeerProcess(name: "kinglet-sim", executable: BuiltProducts.path("kinglet-sim"), arguments: [
            "nodes", "--count", "3", "--broker", stack.brokerURL, "--ca-file", stack.ca.certificate,
            "--cert-file", certificates + "/{node}.crt", "--key-file", certificates + "/{node}.key",
            "--progress-seconds", "1",
        ], logPath: stack.folder + "/sim.log")
        defer { sim.stop() }
        func check(_ condition: Bool, _ what: String) throws {
            if !condition { throw PeerError("\(what)\n--- sim\n\(sim.tail)\n\(stack.logs)") }
        }

        let ready = Loopback.eventually(within: 45, interval: 0.25) { () -> Bool? in
            Self.names.allSatisfy { stack.nodeReady($0) == "True" } ? true : nil
        }
        try check(ready != nil, "not every simulated board became a Ready node: \(Self.names.map { stack.nodeReady($0) ?? "none" })")
        let node = try stack.get("/api/v1/nodes/sim-00002")
        let info = (node?["status"] as? [String: Any])?["nodeInfo"] as? [String: Any]
        try check((info?["architecture"] as? String ?? "").isEmpty == false && info?["kubeletVersion"] as? String != nil,
                  "nodeInfo not reported: \(String(describing: info))")

        let created = try stack.send("POST", "/api/v1/namespaces/default/pods", [
            "apiVersion": "v1", "kind": "Pod", "metadata": ["name": "simulated"],
            "spec": ["nodeName": "sim-00002", "containers": [
                ["name": "app", "image": "/bin/sleep", "args": ["1000"]],
                ["name": "sidecar", "image": "/bin/sleep", "args": ["1000"]],
            ]],
        ])
        try check(created == 201, "create pod: HTTP \(created)")
        let running = Loopback.eventually(within: 30, interval: 0.25) { () -> [String: Any]? in
            guard let pod = stack.pod("simulated"), PodJSON.phase(pod) == "Running",
                  ["app", "sidecar"].allSatisfy({ PodJSON.stateName(pod, $0) == "running" && PodJSON.ready(pod, $0) }) else { return nil }
            return pod
        }
        try check(running != nil, "the pod never showed Running with ready containers: \(String(describing: stack.pod("simulated")))")
        try check(PodJSON.containerID(running, "app").hasPrefix("kinglet-sim://sim-00002/"),
                  "containerID \(PodJSON.containerID(running, "app"))")

        // Deleted in the API: the board reports it removed, and the relay deletes the object.
        let deleted = try stack.kubectl(["delete", "pod", "simulated", "--timeout=30s"], within: 40)
        try check(deleted.status == 0, "kubectl delete: \(deleted.output)")
        try check(Loopback.eventually(within: 20, interval: 0.25) { stack.pod("simulated") == nil ? true : nil } != nil,
                  "the pod object is still in the API")

        try check(sim.output.contains("connected 3/3"), "no progress line with every board connected")
        let status = sim.stop(grace: 15)
        try check(status == 0, "kinglet-sim exited with \(status)")
        try check(sim.output.contains("summary after") && sim.output.contains("removed 1"), "no summary on SIGTERM")
        // The clean stop said online:false: the nodes turn Unknown without waiting for the lease.
        try check(Loopback.eventually(within: Double(CloudStack.leaseSeconds) + 20, interval: 0.25) { () -> Bool? in
            Self.names.allSatisfy { stack.nodeReady($0) == "Unknown" } ? true : nil
        } != nil, "the nodes did not turn Unknown after the simulator stopped")
    }

    @Test("simulated boards connect as KingletLink clients and report their desired pods Running, then removed")
    func simulatedNodesConnectAndReportTheirDesiredPodsRunning() throws {
        let broker = try MosquittoPeer()
        defer { broker.stop() }
        let relay = MosquittoClient(port: broker.port)
        let root = "kinglet/v1/nodes/sim-00003/"
        try relay.publish(root + "desired/pods/p1",
                          #"{"v":1,"uid":"p1","specHash":"01","pod":{"metadata":{"name":"w"},"spec":{"containers":[{"name":"c","image":"x"}]}}}"#,
                          retain: true)
        try relay.publish(root + "desired/index", #"{"v":1,"pods":{"p1":"01"}}"#, retain: true)
        let sim = try PeerProcess(name: "kinglet-sim", executable: BuiltProducts.path("kinglet-sim"),
                                  arguments: ["nodes", "--count", "5", "--broker", "mqtt://127.0.0.1:\(broker.port)", "--seconds", "60"],
                                  logPath: broker.folder + "/sim.log")
        defer { sim.stop() }
        let status = relay.waitForRetained(root + "status/pods/p1", within: 20, folder: broker.folder) { $0.contains(#""phase":"Running""#) }
        #expect(status?.contains(#""name":"w","specHash":"0000000000000001""#) == true, "\(status ?? "none")\n\(sim.tail)")
        for number in 1...5 {
            let online = relay.retained("kinglet/v1/nodes/sim-0000\(number)/status/online", folder: broker.folder)
            #expect(online?.hasPrefix(#"{"v":1,"online":true"#) == true)
        }
        // The index drops the pod: `removed` goes up, with no process ever started.
        try relay.publish(root + "desired/index", #"{"v":1,"pods":{}}"#, retain: true)
        let removed = #"{"v":1,"uid":"p1","namespace":"default","name":"w","removed":true}"#
        #expect(relay.waitForRetained(root + "status/pods/p1", within: 20, folder: broker.folder) { $0 == removed } == removed)
        #expect(sim.stop() == 0)
        #expect(relay.retained("kinglet/v1/nodes/sim-00005/status/online", folder: broker.folder) == #"{"v":1,"online":false}"#)
    }

    @Test("kinglet-sim nodes rejects a bad prefix and a plain broker URL off loopback with a clear message")
    func badArgumentsAreRejected() throws {
        let prefix = try PeerProcess.run(BuiltProducts.path("kinglet-sim"),
                                          ["nodes", "--count", "1", "--broker", "mqtt://127.0.0.1:1", "--prefix", "Sim_"], within: 10)
        #expect(prefix.status != 0)
        #expect(prefix.output.contains("--prefix"))
        let remote = try PeerProcess.run(BuiltProducts.path("kinglet-sim"),
                                          ["nodes", "--count", "1", "--broker", "mqtt://192.0.2.1:1883"], within: 10)
        #expect(remote.status != 0)
        #expect(remote.output.contains("loopback"))
    }
}
