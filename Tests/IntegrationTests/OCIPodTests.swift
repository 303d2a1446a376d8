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

    @Test(.enabled(if: canRun, skipReason), arguments: agents)
    func aRuncContainerOutlivesAKilledAgentIsAdoptedAndIsRemovedWhenItsPodIsGone(binary: String) throws {
        let registry = try RegistryPeer.start(label: "oci-keep")
        defer { registry.stop() }
        let images = try TestImages(label: "oci-keep")
        defer { images.remove() }
        let pushed = try images.push(try images.busybox(tag: "1", command: ["sh"]), to: registry, repository: "kinglet/busybox", tag: "1")
        let board = try TemporaryBoard(node: "oci-keep", extraConfig: "runtime: {oci: \(OCIPodTests.runc!)}\n")
        defer { board.remove() }
        try board.write(manifest: "ticker.yaml", """
            metadata: {name: ticker}
            spec:
              terminationGracePeriodSeconds: 2
              containers:
              - name: main
                image: \(pushed.reference)
                command: ["sh", "-c", "i=0; while true; do i=$((i+1)); echo line $i; sleep 0.02; done"]
            """)
        let client = AgentStatusClient(socket: board.socket)
        let first = AgentProcess(["run", "--config", board.configPath], binary: binary)
        try first.start()
        defer { if first.process.isRunning { kill(first.process.processIdentifier, SIGKILL); first.process.waitUntilExit() } }
        let before = client.waitFor(within: 90) { PodJSON.ready($0["ticker-oci-keep"], "main") }
        let pid = try #require(PodJSON.pid(before?["ticker-oci-keep"], "main"), "\(String(describing: before))")
        let ticks = try #require(ContainerKeeperTests.startTicks(pid))

        // kill -9 mid-run: the container's init goes on under the keeper.
        kill(first.process.processIdentifier, SIGKILL)
        first.process.waitUntilExit()
        usleep(1_000_000)
        #expect(ContainerKeeperTests.isAlive(pid))

        let second = AgentProcess(["run", "--config", board.configPath], binary: binary)
        try second.start()
        defer { if second.process.isRunning { kill(second.process.processIdentifier, SIGKILL); second.process.waitUntilExit() } }
        let after = client.waitFor(within: 60) { PodJSON.ready($0["ticker-oci-keep"], "main") }
        #expect(PodJSON.pid(after?["ticker-oci-keep"], "main") == pid, "adopted, not started again")
        #expect(ContainerKeeperTests.startTicks(pid) == ticks)
        #expect(PodJSON.restarts(after?["ticker-oci-keep"], "main") == 0)
        usleep(500_000)
        let logs = try #require(try AgentProcess.run(["logs", "ticker-oci-keep", "--config", board.configPath], binary: binary))
        let numbers = logs.output.split(separator: "\n").compactMap { $0.hasPrefix("line ") ? Int($0.dropFirst(5)) : nil }
        try #require(numbers.count > 50, "\(numbers.count) lines")
        #expect(numbers == Array(1...numbers.count), "a line was lost or repeated around the restart")

        // Stopped (the agent goes, the container stays), then its pod removed while no
        // agent runs: the next agent stops it and removes its bundle and runc state.
        kill(second.process.processIdentifier, SIGTERM)
        #expect(second.finish(within: 30)?.status == 0)
        #expect(ContainerKeeperTests.isAlive(pid))
        try FileManager.default.removeItem(atPath: board.manifests + "/ticker.yaml")
        let third = AgentProcess(["run", "--config", board.configPath], binary: binary)
        try third.start()
        defer { if third.process.isRunning { kill(third.process.processIdentifier, SIGKILL); third.process.waitUntilExit() } }
        #expect(third.waitForError(containing: "0 adopted, 1 held for no pod stopped", within: 30))
        for _ in 0..<100 where ContainerKeeperTests.isAlive(pid) { usleep(100_000) }
        #expect(!ContainerKeeperTests.isAlive(pid))
        var left = "?"
        var bundles: [String] = []
        for _ in 0..<100 {
            left = (try? PeerProcess.run(OCIPodTests.runc!, ["--root", board.stateFolder + "/runc", "list", "-q"], within: 20).output) ?? "?"
            bundles = (try? FileManager.default.contentsOfDirectory(atPath: board.stateFolder + "/bundles")) ?? []
            if left.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty && bundles.isEmpty { break }
            usleep(100_000)
        }
        #expect(left.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, "runc list: \(left)")
        #expect(bundles.isEmpty, "\(bundles)")
        kill(third.process.processIdentifier, SIGTERM)
        #expect(third.finish(within: 30)?.status == 0)
    }

    static func waitingReason(_ pod: [String: Any]?) -> String {
        ((PodJSON.container(pod, "main")["state"] as? [String: Any])?["waiting"] as? [String: Any])?["reason"] as? String ?? ""
    }
}
