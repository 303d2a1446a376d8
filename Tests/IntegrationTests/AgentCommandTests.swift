import Foundation
import Testing

/// The host-built agent binary, run as a user would run it.
@Suite struct AgentCommandTests {
    @Test func versionListsEveryLinkedLibrary() throws {
        let result = try #require(try AgentProcess.run(["--version"]))
        #expect(result.status == 0)
        #expect(result.output.hasPrefix("kinglet 0.1.0 (host, "))
        for name in ["libmosquitto", "OpenSSL", "libmodbus", "libyaml", "libbluetooth", "zlib"] {
            #expect(result.output.contains("\n  \(name) "), "missing \(name) in: \(result.output)")
        }
    }

    @Test func helpNamesTheCommands() throws {
        let result = try #require(try AgentProcess.run(["--help"]))
        #expect(result.status == 0)
        #expect(result.output.contains("usage: kinglet [command] [options]"))
        #expect(result.output.contains("run "))
    }

    @Test func unknownOptionExitsWithUsageStatus() throws {
        let result = try #require(try AgentProcess.run(["run", "--bogus"]))
        #expect(result.status == 2)
        #expect(result.error.contains("unknown option '--bogus' for 'run'"))
    }

    @Test func missingConfigFileIsNamedAndExitsWithStatus2() throws {
        let result = try #require(try AgentProcess.run(["run", "--config", "/nonexistent/kinglet.yaml"]))
        #expect(result.status == 2)
        #expect(result.error.contains("ERROR /nonexistent/kinglet.yaml: cannot read: No such file or directory"))
    }

    @Test func runningAgentStopsCleanlyOnSIGTERM() throws {
        let board = try TemporaryBoard()
        defer { board.remove() }
        let agent = AgentProcess(["run", "--config", board.configPath])
        try agent.start()
        #expect(agent.waitForError(containing: "running headless", within: 20))
        kill(agent.process.processIdentifier, SIGTERM)
        let result = try #require(agent.finish(within: 20))
        #expect(result.status == 0)
        #expect(result.error.contains("SIGTERM received, stopping"))
        #expect(result.error.contains("stopped cleanly"))
    }

    @Test func runningAgentStopsCleanlyOnCtrlC() throws {
        let board = try TemporaryBoard()
        defer { board.remove() }
        let agent = AgentProcess(["run", "--config", board.configPath])
        try agent.start()
        #expect(agent.waitForError(containing: "running headless", within: 20))
        kill(agent.process.processIdentifier, SIGINT)
        let result = try #require(agent.finish(within: 20))
        #expect(result.status == 0)
        #expect(result.error.contains("SIGINT received, stopping"))
    }
}

@Suite struct AgentPipeTests {
    @Test func closedLogPipeDoesNotKillTheAgent() throws {
        let board = try TemporaryBoard()
        defer { board.remove() }
        let agent = AgentProcess(["run", "--config", board.configPath])
        try agent.start()
        #expect(agent.waitForError(containing: "running headless", within: 20))
        agent.closeErrorPipe()
        // The stop message now goes to a pipe nobody reads: EPIPE, not death by SIGPIPE.
        kill(agent.process.processIdentifier, SIGTERM)
        let result = try #require(agent.finish(within: 20))
        #expect(result.status == 0)
        #expect(agent.process.terminationReason == .exit)
    }
}
