import Foundation
import KingletTestPeers
import Testing

/// Pods with registry images: pulled from Debian's docker-registry and run under runc by
/// the agent (the static x86_64 agent under `make test`), probes and logs as for exec pods.
@Suite(.serialized) struct OCIPodTests {
    static var runc: String? { ["/usr/sbin/runc", "/usr/bin/runc"].first { FileManager.default.isExecutableFile(atPath: $0) } }
    static var canRun: Bool { getuid() == 0 && runc != nil && RegistryPeer.isInstalled && TestImages.isInstalled }
    static let skipReason: Comment = "needs root, runc, docker-registry, umoci, skopeo and busybox-static (make test installs them)"

    /// The host agent, and the static x86_64 agent when it is built (make test builds it).
    static var agents: [String] {
        let staticAgent = ProcessInfo.processInfo.environment["KINGLET_STATIC_AGENT"] ?? ""
        return [AgentProcess.agentPath] + (FileManager.default.isExecutableFile(atPath: staticAgent) ? [staticAgent] : [])
    }

    @Test(.enabled(if: canRun, skipReason), arguments: agents)
    func aRegistryImageRunsUnderRuncAndBecomesReadyWithItsProbes(binary: String) throws {
        let registry = try RegistryPeer.start(label: "oci-pod")
        defer { registry.stop() }
        let images = try TestImages(label: "oci-pod")
        defer { images.remove() }
        let pushed = try images.push(try images.busybox(tag: "1", command: ["sh"]), to: registry, repository: "kinglet/busybox", tag: "1")
        let board = try TemporaryBoard(node: "oci-node", extraConfig: "runtime: {oci: \(OCIPodTests.runc!), containersOutliveAgent: false}\n")
        defer { board.remove() }
        let httpPort = try Loopback.freePort()
        try board.write(manifest: "web.yaml", """
            apiVersion: v1
            kind: Pod
            metadata: {name: web}
            spec:
              # httpd is the container's PID 1, which ignores SIGTERM: the stop waits out this.
              terminationGracePeriodSeconds: 2
              containers:
              - name: main
                image: \(pushed.reference)
                command: ["sh", "-c", "echo serving from $(hostname); exec httpd -f -p 127.0.0.1:\(httpPort)"]
                readinessProbe: {tcpSocket: {port: \(httpPort)}, periodSeconds: 1}
                livenessProbe: {exec: {command: ["test", "-x", "/bin/busybox"]}, periodSeconds: 1}
            """)
        try board.write(manifest: "missing.yaml", """
            apiVersion: v1
            kind: Pod
            metadata: {name: missing}
            spec:
              containers:
              - {name: main, image: "\(registry.host)/kinglet/none:1"}
            """)
        let agent = AgentProcess(["run", "--config", board.configPath], binary: binary)
        try agent.start()
        defer { _ = agent.finish(within: 0) }
        let client = AgentStatusClient(socket: board.socket)

        let pods = client.waitFor(within: 90) { pods in
            PodJSON.ready(pods["web-oci-node"], "main")
                && ["ErrImagePull", "ImagePullBackOff"].contains(OCIPodTests.waitingReason(pods["missing-oci-node"]))
        }
        #expect(PodJSON.ready(pods?["web-oci-node"], "main"), "\(String(describing: pods?["web-oci-node"]))")
        #expect(PodJSON.phase(pods?["web-oci-node"]) == "Running")
        #expect(PodJSON.restarts(pods?["web-oci-node"], "main") == 0, "the exec liveness probe (runc exec) passes")
        let reason = OCIPodTests.waitingReason(pods?["missing-oci-node"])
        #expect(["ErrImagePull", "ImagePullBackOff"].contains(reason), "\(String(describing: pods?["missing-oci-node"]))")

        // The container's output is in its log, as for an exec container.
        let logs = try #require(try AgentProcess.run(["logs", "web-oci-node", "--config", board.configPath], binary: binary))
        #expect(logs.output.hasPrefix("serving from "), "\(logs.output)")
        // The image is in the store and listed.
        let listed = try #require(try AgentProcess.run(["images", "--config", board.configPath], binary: binary))
        #expect(listed.output.contains("\(registry.host)/kinglet/busybox:1 "), "\(listed.output)")

        // A clean stop stops the container: runc has nothing left.
        agent.process.terminate()
        #expect(agent.finish(within: 40)?.status == 0)
        let list = try PeerProcess.run(OCIPodTests.runc!, ["--root", board.folder + "/state/runc", "list", "-q"], within: 20)
        #expect(list.output.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, "runc list: \(list.output)")
    }

    static func waitingReason(_ pod: [String: Any]?) -> String {
        ((PodJSON.container(pod, "main")["state"] as? [String: Any])?["waiting"] as? [String: Any])?["reason"] as? String ?? ""
    }
}
