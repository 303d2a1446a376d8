import Foundation
import Testing

@Suite struct CacheAndLogsTests {
    private let ticker = """
    metadata: {name: ticker}
    spec:
      containers:
      - {name: main, image: /bin/sh, command: ["/bin/sh", "-c", "i=0; while true; do i=$((i+1)); echo line $i; sleep 0.2; done"]}
    """

    @Test func corruptCacheIsMovedAsideAndStaticPodsStillRun() throws {
        let board = try TemporaryBoard(node: "cc")
        defer { board.remove() }
        try board.write(manifest: "ticker.yaml", ticker)
        try FileManager.default.createDirectory(atPath: board.folder + "/state", withIntermediateDirectories: true)
        try Data(repeating: 0xA5, count: 8192).write(to: URL(fileURLWithPath: board.cacheFile))

        let agent = AgentProcess(["run", "--config", board.configPath])
        try agent.start()
        defer { if agent.process.isRunning { kill(agent.process.processIdentifier, SIGKILL); agent.process.waitUntilExit() } }
        #expect(AgentStatusClient(socket: board.socket).waitFor(within: 30) { PodJSON.ready($0["ticker-cc"], "main") } != nil)
        kill(agent.process.processIdentifier, SIGTERM)
        let result = try #require(agent.finish(within: 30))
        #expect(result.status == 0)
        #expect(result.error.contains("pod cache \(board.cacheFile) is corrupt"))
        #expect(result.error.contains("moved it to \(board.cacheFile).corrupt-"))
        let aside = try FileManager.default.contentsOfDirectory(atPath: board.folder + "/state").filter { $0.hasPrefix("cache.kc.corrupt-") }
        #expect(aside.count == 1)
        #expect(try #require(try AgentProcess.run(["cache", "verify", board.cacheFile])).status == 0)
    }

    @Test func logsFollowPrintsNewLinesUntilInterrupted() throws {
        let board = try TemporaryBoard(node: "lf")
        defer { board.remove() }
        try board.write(manifest: "ticker.yaml", ticker)
        let agent = AgentProcess(["run", "--config", board.configPath])
        try agent.start()
        defer {
            kill(agent.process.processIdentifier, SIGTERM)
            _ = agent.finish(within: 30)
        }
        #expect(AgentStatusClient(socket: board.socket).waitFor(within: 30) { PodJSON.ready($0["ticker-lf"], "main") } != nil)

        let follower = AgentProcess(["logs", "ticker", "-f", "--config", board.configPath])
        try follower.start()
        usleep(1_500_000)
        kill(follower.process.processIdentifier, SIGINT)
        let followed = try #require(follower.finish(within: 20))
        #expect(followed.status == 0)
        let lines = followed.output.split(separator: "\n")
        #expect(lines.count >= 5, "\(followed.output)")
        // Consecutive, starting at line 1: what was there, then what came while following.
        for (index, line) in lines.enumerated() { #expect(line == "line \(index + 1)") }
    }
}
