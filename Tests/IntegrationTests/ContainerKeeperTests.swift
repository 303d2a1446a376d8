import Foundation
import Testing

/// Containers outlive the agent (runtime.containersOutliveAgent, the default): kill -9,
/// SIGTERM and a changed manifest, with the host agent and the static x86_64 agent.
@Suite(.serialized) struct ContainerKeeperTests {
    static var agents: [String] { OCIPodTests.agents }

    static let manifests: [(String, String)] = [
        ("long.yaml", """
        metadata: {name: long}
        spec:
          containers:
          - {name: main, image: /bin/sh, command: ["/bin/sh", "-c", "echo started $(WHO); exec sleep 1000"], env: [{name: WHO, value: long}]}
        """),
        // Numbered lines every 10 ms, through the agent's kill and restart: none may be lost.
        ("counter.yaml", """
        metadata: {name: counter}
        spec:
          containers:
          - {name: main, image: /bin/sh, command: ["/bin/sh", "-c", "i=0; while true; do i=$((i+1)); echo line $i; sleep 0.01; done"]}
        """),
        ("crash.yaml", """
        metadata: {name: crash}
        spec:
          containers:
          - {name: main, image: /bin/sh, command: ["/bin/sh", "-c", "echo failing; sleep 3; exit 2"]}
        """),
        ("init.yaml", """
        metadata: {name: init}
        spec:
          initContainers:
          - {name: setup, image: /bin/sh, command: ["/bin/sh", "-c", "echo prepared"]}
          containers:
          - {name: main, image: /bin/sh, command: ["/bin/sh", "-c", "exec sleep 1000"]}
        """),
        // Ends with code 3 once the test says so (while no agent runs); it never restarts.
        ("late.yaml", """
        metadata: {name: late}
        spec:
          restartPolicy: Never
          containers:
          - {name: main, image: /bin/sh, command: ["/bin/sh", "-c", "echo waiting; while [ ! -e GO ]; do sleep 0.1; done; exit 3"]}
        """),
    ]

    /// Field 22 of /proc/<pid>/stat: with the pid, it names one process.
    static func startTicks(_ pid: Int32) -> String? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        return fields.count > 19 ? String(fields[19]) : nil
    }

    /// A SOCK_SEQPACKET connection to a keeper, as an agent makes it.
    static func connect(_ path: String) -> Int32? {
        let fd = socket(AF_UNIX, Int32(SOCK_SEQPACKET.rawValue), 0)
        guard fd >= 0 else { return nil }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in path.utf8.prefix(raw.count - 1).enumerated() { raw[index] = byte }
        }
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard connected == 0 else { close(fd); return nil }
        return fd
    }

    static func isAlive(_ pid: Int32) -> Bool {
        guard kill(pid, 0) == 0, let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return false }
        return !stat.contains(") Z ")
    }

    /// The numbers of the counter's log lines, in order.
    static func counted(_ board: TemporaryBoard, binary: String) throws -> [Int] {
        let logs = try #require(try AgentProcess.run(["logs", "counter-kp", "--config", board.configPath], binary: binary))
        return logs.output.split(separator: "\n").compactMap { line in
            line.hasPrefix("line ") ? Int(line.dropFirst(5)) : nil
        }
    }

    @Test(arguments: agents)
    func containersOutliveAKilledAgentAndTheNextOneAdoptsThemWithPidLogAndRestartCount(binary: String) throws {
        let board = try TemporaryBoard(node: "kp")
        defer { board.remove() }
        let go = board.folder + "/go"
        for (name, text) in ContainerKeeperTests.manifests {
            try board.write(manifest: name, text.replacingOccurrences(of: "GO", with: go))
        }
        let client = AgentStatusClient(socket: board.socket)

        let first = AgentProcess(["run", "--config", board.configPath], binary: binary)
        try first.start()
        defer { if first.process.isRunning { kill(first.process.processIdentifier, SIGKILL); first.process.waitUntilExit() } }
        let before = try #require(client.waitFor(within: 60) { pods in
            PodJSON.ready(pods["long-kp"], "main") && PodJSON.ready(pods["counter-kp"], "main")
                && PodJSON.ready(pods["init-kp"], "main") && PodJSON.ready(pods["late-kp"], "main")
                && PodJSON.restarts(pods["crash-kp"], "main") >= 1
        })
        #expect(PodJSON.ready(before["late-kp"], "main") && PodJSON.ready(before["init-kp"], "main"))
        #expect(PodJSON.restarts(before["crash-kp"], "main") >= 1)
        let names = ["long-kp", "counter-kp", "init-kp"]
        var pids: [String: Int32] = [:]
        var ticks: [String: String] = [:]
        for name in names {
            pids[name] = try #require(PodJSON.pid(before[name], "main"))
            ticks[name] = try #require(ContainerKeeperTests.startTicks(pids[name]!))
        }
        let crashRestarts = PodJSON.restarts(before["crash-kp"], "main")
        let latePID = try #require(PodJSON.pid(before["late-kp"], "main"))
        let keeper = try #require(board.keeperPID)

        // kill -9: every container goes on, the keeper holds their pipes and exit codes.
        kill(first.process.processIdentifier, SIGKILL)
        first.process.waitUntilExit()
        for name in names { #expect(ContainerKeeperTests.isAlive(pids[name]!), "\(name) must outlive the agent") }
        #expect(ContainerKeeperTests.isAlive(keeper))
        // `late` ends (code 3) with no agent; the counter writes on, nobody reading.
        FileManager.default.createFile(atPath: go, contents: nil)
        for _ in 0..<100 where ContainerKeeperTests.isAlive(latePID) { usleep(100_000) }
        #expect(!ContainerKeeperTests.isAlive(latePID), "late ends while no agent runs")
        usleep(1_000_000)

        let second = AgentProcess(["run", "--config", board.configPath], binary: binary)
        try second.start()
        defer { if second.process.isRunning { kill(second.process.processIdentifier, SIGKILL); second.process.waitUntilExit() } }
        let after = try #require(client.waitFor(within: 60) { pods in
            PodJSON.ready(pods["long-kp"], "main") && PodJSON.ready(pods["counter-kp"], "main")
                && PodJSON.ready(pods["init-kp"], "main") && PodJSON.stateName(pods["late-kp"], "main") == "terminated"
                && pods["crash-kp"] != nil
        })
        // The same processes: same pid, same start time, nothing restarted.
        for name in names {
            #expect(PodJSON.pid(after[name], "main") == pids[name], "\(name) was adopted, not restarted")
            #expect(ContainerKeeperTests.startTicks(pids[name]!) == ticks[name])
            #expect(PodJSON.restarts(after[name], "main") == 0)
        }
        #expect(PodJSON.stateName(after["init-kp"], "setup") == "terminated")
        // The exit that happened while no agent ran, with its code; Never: no restart.
        let late = PodJSON.container(after["late-kp"], "main")
        let ended = (late["state"] as? [String: Any])?["terminated"] as? [String: Any]
        #expect(ended?["exitCode"] as? Int == 3, "\(late)")
        #expect(ended?["reason"] as? String == "Error")
        #expect(PodJSON.restarts(after["late-kp"], "main") == 0)
        // The crash-looping container keeps counting from where it was.
        #expect(PodJSON.restarts(after["crash-kp"], "main") >= crashRestarts, "restart count kept: \(crashRestarts) before")

        // Every counter line, across the kill and the restart: no gap, no repeat.
        usleep(500_000)
        let lines = try ContainerKeeperTests.counted(board, binary: binary)
        try #require(lines.count > 300, "\(lines.count) lines")
        #expect(lines == Array(1...lines.count), "a line was lost or repeated around the restart")
        let lateLog = try #require(try AgentProcess.run(["logs", "late-kp", "--config", board.configPath], binary: binary))
        #expect(lateLog.output == "waiting\n")

        // SIGTERM (an upgrade): the agent goes, the containers stay.
        kill(second.process.processIdentifier, SIGTERM)
        let stopped = try #require(second.finish(within: 30))
        #expect(stopped.status == 0)
        #expect(stopped.error.contains("container keeper \(keeper): containers outlive the agent; "), "\(stopped.error)")
        #expect(!stopped.error.contains("; 0 adopted"))
        #expect(stopped.error.contains("go on running with the keeper \(keeper)"))
        for name in names { #expect(ContainerKeeperTests.isAlive(pids[name]!)) }

        // A manifest changed while no agent ran: that pod's container is replaced, the
        // others are adopted again.
        try board.write(manifest: "long.yaml", ContainerKeeperTests.manifests[0].1.replacingOccurrences(of: "value: long", with: "value: longer"))
        let third = AgentProcess(["run", "--config", board.configPath], binary: binary)
        try third.start()
        defer { if third.process.isRunning { kill(third.process.processIdentifier, SIGKILL); third.process.waitUntilExit() } }
        let replaced = try #require(client.waitFor(within: 60) { pods in
            PodJSON.ready(pods["long-kp"], "main") && PodJSON.pid(pods["long-kp"], "main") != pids["long-kp"]
                && PodJSON.ready(pods["counter-kp"], "main")
        })
        #expect(PodJSON.pid(replaced["counter-kp"], "main") == pids["counter-kp"])
        for _ in 0..<100 where ContainerKeeperTests.isAlive(pids["long-kp"]!) { usleep(100_000) }
        #expect(!ContainerKeeperTests.isAlive(pids["long-kp"]!), "the changed pod's old container is stopped")
        let longLog = try #require(try AgentProcess.run(["logs", "long-kp", "--config", board.configPath], binary: binary))
        #expect(longLog.output.hasSuffix("started longer\n"), "\(longLog.output)")

        // `kinglet keeper --stop` ends the keeper and every container it holds.
        kill(third.process.processIdentifier, SIGKILL)
        third.process.waitUntilExit()
        let stop = try #require(try AgentProcess.run(["keeper", "--stop", "--state", board.stateFolder], within: 30, binary: binary))
        #expect(stop.status == 0, "\(stop.error)")
        #expect(stop.output.contains("keeper \(keeper) stopped"))
        #expect(!ContainerKeeperTests.isAlive(keeper))
        for name in names where name != "long-kp" {
            #expect(!ContainerKeeperTests.isAlive(pids[name]!), "\(name) ends with the keeper")
        }
    }

    /// kill -9 of the keeper while the agent runs: its containers lost their parent, so
    /// the agent ends them and their pods start them again through a new keeper.
    @Test func aKilledKeeperIsReplacedAndItsContainersStartAgainByTheirPolicy() throws {
        let board = try TemporaryBoard(node: "kk")
        defer { board.remove() }
        try board.write(manifest: "long.yaml", ContainerKeeperTests.manifests[0].1)
        let client = AgentStatusClient(socket: board.socket)
        let agent = AgentProcess(["run", "--config", board.configPath])
        try agent.start()
        defer { if agent.process.isRunning { kill(agent.process.processIdentifier, SIGKILL); agent.process.waitUntilExit() } }
        let before = client.waitFor(within: 30) { PodJSON.ready($0["long-kk"], "main") }
        let pid = try #require(PodJSON.pid(before?["long-kk"], "main"))
        let keeper = try #require(board.keeperPID)

        kill(keeper, SIGKILL)
        let after = client.waitFor(within: 40) { pods in
            PodJSON.ready(pods["long-kk"], "main") && PodJSON.pid(pods["long-kk"], "main") != pid
        }
        #expect(PodJSON.restarts(after?["long-kk"], "main") == 1, "\(String(describing: after?["long-kk"]))")
        for _ in 0..<50 where ContainerKeeperTests.isAlive(pid) { usleep(100_000) }
        #expect(!ContainerKeeperTests.isAlive(pid), "the orphaned container was ended")
        let replacement = try #require(board.keeperPID)
        #expect(replacement != keeper && ContainerKeeperTests.isAlive(replacement))
        #expect(agent.waitForError(containing: "the container keeper went away", within: 5))
        kill(agent.process.processIdentifier, SIGTERM)
        #expect(agent.finish(within: 30)?.status == 0)
    }

    @Test func theKeeperRefusesASecondKeeperAndExitsWhenIdle() throws {
        let board = try TemporaryBoard(node: "kq")
        defer { board.remove() }
        try FileManager.default.createDirectory(atPath: board.stateFolder, withIntermediateDirectories: true)
        let keeper = AgentProcess(["keeper", "--state", board.stateFolder])
        try keeper.start()
        defer { _ = keeper.finish(within: 0) }
        #expect(keeper.waitForError(containing: "listening on", within: 20))
        let second = try #require(try AgentProcess.run(["keeper", "--state", board.stateFolder], within: 20))
        #expect(second.status == 1)
        #expect(second.error.contains("another keeper runs for \(board.stateFolder)"))

        // Bytes that are no message: the keeper says so in its log and goes on.
        let socket = try #require(ContainerKeeperTests.connect(board.stateFolder + "/keeper.sock"))
        for garbage: [UInt8] in [[0xff, 1, 2], [4, 0xff, 0xff, 0xff, 0x7f]] {
            _ = garbage.withUnsafeBufferPointer { send(socket, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        }
        #expect(keeper.waitForError(containing: "unreadable message from the agent", within: 10))
        close(socket)
        #expect(keeper.process.isRunning)
        let hello = try #require(ContainerKeeperTests.connect(board.stateFolder + "/keeper.sock"))
        let bytes: [UInt8] = [1] + [UInt8](repeating: 0, count: 8)
        var helloBytes = bytes
        helloBytes[1] = 1
        _ = helloBytes.withUnsafeBufferPointer { send(hello, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        var answer = [UInt8](repeating: 0, count: 64)
        let length = answer.withUnsafeMutableBufferPointer { recv(hello, $0.baseAddress, $0.count, 0) }
        close(hello)
        #expect(length == 25 && answer[0] == 2, "a welcome after the garbage")
        let stop = try #require(try AgentProcess.run(["keeper", "--stop", "--state", board.stateFolder], within: 30))
        #expect(stop.status == 0)
        #expect(keeper.finish(within: 10)?.status == 0)
        let none = try #require(try AgentProcess.run(["keeper", "--stop", "--state", board.stateFolder], within: 30))
        #expect(none.output.contains("no keeper runs"))
    }
}
