import Foundation
import KingletTestPeers
import Testing

/// The issue's end-to-end scenario, with every part real except the API server's stand-in:
/// mosquitto (mTLS, generated ACL), etcd + kinglet-testapi, kinglet-relay, and the agent
/// (the host build, and the static x86_64 build that `make test` makes first).
@Suite(.serialized)
struct CloudEndToEndTests {
    enum AgentBuild: String, CustomTestStringConvertible, CaseIterable {
        case host, staticX86_64
        var testDescription: String { rawValue }

        /// The agent binary, or nil with the reason it is not there.
        var path: (String?, String) {
            switch self {
            case .host:
                return (BuiltProducts.path("kinglet"), "")
            case .staticX86_64:
                let environment = ProcessInfo.processInfo.environment
                let path = environment["KINGLET_STATIC_AGENT"] ?? BuiltProducts.packageRoot.path + "/build/x86_64/kinglet"
                if FileManager.default.isExecutableFile(atPath: path) { return (path, "") }
                return (nil, "no static x86_64 agent at \(path) (make test builds it before swift test; `make cross ARCH=x86_64`)")
            }
        }
    }

    static let podManifest = """
        apiVersion: v1
        kind: Pod
        metadata:
          name: hello
        spec:
          nodeName: edge-1
          terminationGracePeriodSeconds: 5
          containers:
          - name: main
            image: /bin/sh
            command: ["/bin/sh", "-c", "echo GREETING=$GREETING; exec sleep 1000"]
            env:
            - name: GREETING
              valueFrom:
                configMapKeyRef: {name: greeting, key: message}
        """

    @Test("a pod created with kubectl runs on the board, survives broker and agent outages, and is deleted",
          arguments: AgentBuild.allCases)
    func podLifecycleThroughTheRelay(build: AgentBuild) throws {
        let (agentPath, missing) = build.path
        guard let agentPath else {
            if ProcessInfo.processInfo.environment["KINGLET_REQUIRE_STATIC_AGENT"] == "1" {
                Issue.record("\(missing)")
            } else {
                print("skipping the \(build.rawValue) run: \(missing)")
            }
            return
        }
        let stack = try CloudStack(label: "e2e-\(build.rawValue)")
        defer { stack.stop() }
        let board = try stack.board(node: "edge-1")
        defer { board.remove() }
        let status = AgentStatusClient(socket: board.socket)
        func check(_ condition: Bool, _ what: String) throws {
            if !condition { throw PeerError("\(what)\n\(stack.logs)") }
        }

        try stack.send("POST", "/api/v1/namespaces/default/configmaps", [
            "apiVersion": "v1", "kind": "ConfigMap", "metadata": ["name": "greeting"],
            "data": ["message": "hello from a ConfigMap"],
        ])
        var agent = try PeerProcess(name: "kinglet", executable: agentPath, arguments: ["run", "--config", board.configPath],
                                    logPath: board.folder + "/agent-1.log")
        defer { agent.stop() }

        // The board becomes a Ready node.
        try check(Loopback.eventually(within: 30) { stack.nodeReady("edge-1") == "True" ? true : nil } != nil,
                  "edge-1 never became Ready\n--- agent\n\(agent.tail)")
        let listed = try stack.kubectl(["get", "nodes", "-o", "wide"])
        try check(listed.status == 0 && listed.output.contains("edge-1") && listed.output.contains("Ready"),
                  "kubectl get nodes: \(listed.output)")

        // kubectl create -> the pod runs on the board with the ConfigMap's value in its env.
        let manifest = board.folder + "/hello.yaml"
        try Self.podManifest.write(toFile: manifest, atomically: true, encoding: .utf8)
        let created = try stack.kubectl(["create", "-f", manifest])
        try check(created.status == 0, "kubectl create: \(created.output)")
        let running = Loopback.eventually(within: 30) { () -> [String: Any]? in
            guard let pod = stack.pod("hello"), PodJSON.phase(pod) == "Running",
                  PodJSON.stateName(pod, "main") == "running" else { return nil }
            return pod
        }
        try check(running != nil, "pod hello never Running in the API: \(String(describing: stack.pod("hello")))\n--- agent\n\(agent.tail)")
        let containerID = PodJSON.containerID(running, "main")
        try check(containerID.hasPrefix("exec://"), "containerID \(containerID)")
        let logs = Loopback.eventually(within: 10) { () -> String? in
            let result = try? PeerProcess.run(agentPath, ["logs", "hello", "-c", "main", "--config", board.configPath], within: 10)
            return result.flatMap { $0.output.contains("GREETING=hello from a ConfigMap") ? $0.output : nil }
        }
        try check(logs != nil, "the container's env lacks the ConfigMap value")
        let python = try PeerProcess.run("/usr/bin/python3", [
            "-c", """
            import sys
            from kubernetes import client, config
            config.load_kube_config(config_file=sys.argv[1])
            pod = client.CoreV1Api().read_namespaced_pod("hello", "default")
            print(pod.spec.node_name, pod.status.phase, pod.status.container_statuses[0].restart_count)
            """, stack.api.kubeconfigPath,
        ], within: 30)
        try check(python.output.contains("edge-1 Running 0"), "python client: \(python.output)")

        // The broker dies: the Node goes Unknown, the pod keeps running on the board.
        stack.broker.kill9()
        let unknownWithin = Double(CloudStack.leaseSeconds) + 20
        try check(Loopback.eventually(within: unknownWithin) { stack.nodeReady("edge-1") == "Unknown" ? true : nil } != nil,
                  "edge-1 not Unknown after the broker died: \(stack.nodeReady("edge-1") ?? "none")")
        let offline = status.pods()?["hello"]
        try check(PodJSON.phase(offline) == "Running" && PodJSON.containerID(offline, "main") == containerID,
                  "pod not running on the board while offline: \(String(describing: offline))")

        // The broker returns: Ready again, and no container was restarted.
        try stack.broker.restart()
        try check(Loopback.eventually(within: 60) { stack.nodeReady("edge-1") == "True" ? true : nil } != nil,
                  "edge-1 not Ready after the broker returned\n--- agent\n\(agent.tail)")
        let after = stack.pod("hello")
        try check(PodJSON.containerID(after, "main") == containerID && PodJSON.restarts(after, "main") == 0,
                  "the container was restarted: \(String(describing: after))")

        // The agent restarts while offline: its pods come back from the cache.
        stack.broker.kill9()
        agent.stop()
        agent = try PeerProcess(name: "kinglet", executable: agentPath, arguments: ["run", "--config", board.configPath],
                                logPath: board.folder + "/agent-2.log")
        let restored = status.waitFor(within: 30) { PodJSON.phase($0["hello"]) == "Running" }
        try check(PodJSON.phase(restored?["hello"]) == "Running", "pod not restored from the cache offline\n--- agent\n\(agent.tail)")
        try stack.broker.restart()
        try check(Loopback.eventually(within: 60) { stack.nodeReady("edge-1") == "True" ? true : nil } != nil,
                  "edge-1 not Ready after the second outage")

        // Delete: the process goes, then the API object (the relay deletes it with grace 0).
        let pid = Int32(PodJSON.containerID(status.pods()?["hello"], "main").dropFirst("exec://".count)) ?? 0
        let deleted = try stack.kubectl(["delete", "pod", "hello", "--timeout=60s"], within: 70)
        try check(deleted.status == 0, "kubectl delete: \(deleted.output)")
        try check(stack.pod("hello") == nil, "pod object still in the API")
        try check(status.waitFor(within: 15) { $0["hello"] == nil } != nil, "pod still on the board")
        try check(pid > 0 && kill(pid, 0) != 0, "container process \(pid) still alive")
    }
}
