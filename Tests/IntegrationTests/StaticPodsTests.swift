import Foundation
import Testing

/// The agent core's acceptance test: static pods of every kind on the real agent, then
/// kill -9 and an offline restart from the cache.
@Suite(.serialized) struct StaticPodsTests {
    static let manifests: [(String, String)] = [
        ("long.yaml", """
        metadata: {name: long}
        spec:
          containers:
          - name: main
            image: /bin/sh
            command: ["/bin/sh", "-c", "echo started $(WHO); exec sleep 1000"]
            env: [{name: WHO, value: long}]
        """),
        ("crash.yaml", """
        metadata: {name: crash}
        spec:
          containers:
          - {name: main, image: /bin/sh, command: ["/bin/sh", "-c", "echo failing; exit 2"]}
        """),
        ("init.yaml", """
        metadata: {name: init}
        spec:
          initContainers:
          - {name: setup, image: /bin/sh, command: ["/bin/sh", "-c", "echo prepared > marker.txt"], workingDir: "WORKDIR"}
          containers:
          - {name: main, image: /bin/sh, command: ["/bin/sh", "-c", "cat marker.txt; exec sleep 1000"], workingDir: "WORKDIR"}
        """),
        ("probe.yaml", """
        metadata: {name: probe}
        spec:
          terminationGracePeriodSeconds: 2
          containers:
          - name: main
            image: /bin/sh
            command: ["/bin/sh", "-c", "exec sleep 1000"]
            livenessProbe:
              exec: {command: ["/bin/sh", "-c", "echo unhealthy; exit 1"]}
              periodSeconds: 1
              failureThreshold: 1
        """),
    ]

    private func board(extraConfig: String = "") throws -> TemporaryBoard {
        let board = try TemporaryBoard(node: "it", extraConfig: extraConfig)
        let work = board.folder + "/work"
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        for (name, text) in StaticPodsTests.manifests {
            try board.write(manifest: name, text.replacingOccurrences(of: "WORKDIR", with: work))
        }
        return board
    }

    private func isAlive(_ pid: Int32) -> Bool {
        guard kill(pid, 0) == 0 else { return false }
        // A zombie is dead for our purposes.
        let stat = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
        return !stat.contains(") Z ")
    }

    /// runtime.containersOutliveAgent false: the agent's old behaviour, pods stop with it.
    @Test func staticPodsRunRestartAndStartAgainAfterKill9WhenContainersStopWithTheAgent() throws {
        let board = try board(extraConfig: "runtime: {containersOutliveAgent: false}\n")
        defer { board.remove() }
        let client = AgentStatusClient(socket: board.socket)

        let first = AgentProcess(["run", "--config", board.configPath])
        try first.start()
        defer { if first.process.isRunning { kill(first.process.processIdentifier, SIGKILL); first.process.waitUntilExit() } }

        let pods = try #require(client.waitFor(within: 60) { pods in
            PodJSON.ready(pods["long-it"], "main")
                && PodJSON.restarts(pods["crash-it"], "main") >= 1
                && PodJSON.ready(pods["init-it"], "main")
                && PodJSON.restarts(pods["probe-it"], "main") >= 1
        })
        #expect(PodJSON.phase(pods["long-it"]) == "Running")
        // The crashing container restarted after its back-off and reports how it ended.
        #expect(PodJSON.lastTerminated(pods["crash-it"], "main")["exitCode"] as? Int == 2)
        #expect(PodJSON.phase(pods["crash-it"]) == "Running")
        // The init container ran first and to completion; the app read what it wrote.
        #expect(PodJSON.stateName(pods["init-it"], "setup") == "terminated")
        let initLogs = try #require(try AgentProcess.run(["logs", "init-it", "-c", "main", "--config", board.configPath]))
        #expect(initLogs.output == "prepared\n")
        // The failing liveness probe killed the container, which was restarted.
        #expect((PodJSON.lastTerminated(pods["probe-it"], "main")["message"] as? String)?
            .hasPrefix("Container main failed liveness probe, will be restarted: command") == true)
        let longLogs = try #require(try AgentProcess.run(["logs", "long", "--config", board.configPath]))
        #expect(longLogs.output == "started long\n")

        // kill -9: the container processes outlive the agent...
        let oldPID = try #require(PodJSON.pid(pods["long-it"], "main"))
        kill(first.process.processIdentifier, SIGKILL)
        first.process.waitUntilExit()
        #expect(isAlive(oldPID))

        // ...and a restarted agent, with no cloud, stops them and runs every cached pod again.
        let restartedAt = Date()
        let second = AgentProcess(["run", "--config", board.configPath])
        try second.start()
        defer { if second.process.isRunning { kill(second.process.processIdentifier, SIGKILL); second.process.waitUntilExit() } }
        let again = try #require(client.waitFor(within: 60) { pods in
            PodJSON.ready(pods["long-it"], "main") && PodJSON.ready(pods["init-it"], "main")
                && PodJSON.stateName(pods["probe-it"], "main") != "" && pods["crash-it"] != nil
        })
        let restoreSeconds = Date().timeIntervalSince(restartedAt)
        print("restart to all pods running again: \(Int(restoreSeconds * 1000)) ms (including status polling)")
        let newPID = try #require(PodJSON.pid(again["long-it"], "main"))
        #expect(newPID != oldPID)
        for _ in 0..<50 where isAlive(oldPID) { usleep(100_000) }
        #expect(!isAlive(oldPID), "the killed agent's container must not run twice")

        kill(second.process.processIdentifier, SIGTERM)
        let result = try #require(second.finish(within: 30))
        #expect(result.status == 0)
        #expect(result.error.contains("restoring 4 pod(s) from the cache"))
        #expect(result.error.contains("container process group(s) left by a previous run"))
        #expect(!isAlive(newPID), "SIGTERM stops the pods before the agent exits")

        let verify = try #require(try AgentProcess.run(["cache", "verify", board.cacheFile]))
        #expect(verify.status == 0, "\(verify.output)")
        let inspect = try #require(try AgentProcess.run(["cache", "inspect", board.cacheFile]))
        for name in ["long-it", "crash-it", "init-it", "probe-it"] { #expect(inspect.output.contains(name)) }
    }

    @Test func badManifestStopsStartUpWithItsPosition() throws {
        let board = try TemporaryBoard(node: "it")
        defer { board.remove() }
        try board.write(manifest: "bad.yaml", "metadata: {name: bad}\nspec:\n  containers:\n  - name: c\n    image: /bin/sh\n    restartPolicy: x\n    resources: {limits: {memory: lots}}\n")
        let result = try #require(try AgentProcess.run(["run", "--config", board.configPath], within: 20))
        #expect(result.status == 2)
        #expect(result.error.contains("\(board.manifests)/bad.yaml:7:34: spec.containers[0].resources.limits.memory: 'lots' does not start with a number"))
    }

    @Test func hangupWithABrokenConfigKeepsRunningAndAGoodOneAddsPods() throws {
        let board = try TemporaryBoard(node: "it")
        defer { board.remove() }
        try board.write(manifest: "a.yaml", "metadata: {name: a}\nspec: {containers: [{name: c, image: /bin/sh, command: [/bin/sh, -c, exec sleep 1000]}]}\n")
        let client = AgentStatusClient(socket: board.socket)
        let agent = AgentProcess(["run", "--config", board.configPath])
        try agent.start()
        defer { if agent.process.isRunning { kill(agent.process.processIdentifier, SIGKILL); agent.process.waitUntilExit() } }
        #expect(client.waitFor(within: 30) { PodJSON.ready($0["a-it"], "c") } != nil)

        let good = try String(contentsOfFile: board.configPath, encoding: .utf8)
        try (good + "\nbogus: 1\n").write(toFile: board.configPath, atomically: true, encoding: .utf8)
        kill(agent.process.processIdentifier, SIGHUP)
        try board.write(manifest: "b.yaml", "metadata: {name: b}\nspec: {containers: [{name: c, image: /bin/sh, command: [/bin/sh, -c, exec sleep 1000]}]}\n")
        usleep(500_000)
        #expect(client.pods()?["b-it"] == nil, "a failed reload must not apply anything")
        #expect(PodJSON.ready(client.pods()?["a-it"], "c"))

        try good.write(toFile: board.configPath, atomically: true, encoding: .utf8)
        kill(agent.process.processIdentifier, SIGHUP)
        #expect(client.waitFor(within: 30) { PodJSON.ready($0["b-it"], "c") && PodJSON.ready($0["a-it"], "c") } != nil)

        // A manifest removed from the folder: its pod stops, and its logs go with it.
        let logFolders = { (try? FileManager.default.contentsOfDirectory(atPath: board.logs)) ?? [] }
        #expect(logFolders().contains { $0.hasPrefix("default_a-it_") })
        try FileManager.default.removeItem(atPath: board.manifests + "/a.yaml")
        kill(agent.process.processIdentifier, SIGHUP)
        #expect(client.waitFor(within: 30) { $0["a-it"] == nil && PodJSON.ready($0["b-it"], "c") } != nil)
        #expect(!logFolders().contains { $0.hasPrefix("default_a-it_") })

        kill(agent.process.processIdentifier, SIGTERM)
        let result = try #require(agent.finish(within: 30))
        #expect(result.status == 0)
        #expect(result.error.contains("reload failed, keeping the running state: \(board.configPath):"))
        #expect(result.error.contains("unknown field 'bogus'"))
        #expect(result.error.contains("reloaded: 2 static pod(s)"))
        #expect(result.error.contains("pod default/a-it removed"))
    }
}
