import KingletAgent
import Testing

@Suite struct AgentCommandLineTests {
    private func parse(_ words: String...) throws(UsageError) -> AgentCommand {
        try AgentCommandLine.parse(["kinglet"] + words)
    }

    @Test func noArgumentsRunsWithTheDefaultConfig() throws {
        guard case .run(let options) = try parse() else { Issue.record("expected run"); return }
        #expect(options.effectiveConfigPath == "/etc/kinglet/kinglet.yaml")
    }

    @Test func versionAndHelpSpellings() throws {
        #expect(try parse("--version") == .version)
        #expect(try parse("-V") == .version)
        #expect(try parse("version") == .version)
        #expect(try parse("--help") == .help(.general))
        #expect(try parse("help", "run") == .help(.run))
        #expect(try parse("run", "--help") == .help(.run))
    }

    @Test func boardSelectsItsProfileUnderTheBoardsFolder() throws {
        guard case .run(let options) = try parse("run", "--board", "sim", "--boards-dir=/opt/boards") else {
            Issue.record("expected run"); return
        }
        #expect(options.effectiveConfigPath == "/opt/boards/sim/kinglet.yaml")
    }

    @Test func bareOptionsMeanRun() throws {
        guard case .run(let options) = try parse("--config", "/tmp/k.yaml") else { Issue.record("expected run"); return }
        #expect(options.effectiveConfigPath == "/tmp/k.yaml")
    }

    @Test func mistakesAreUsageErrorsNamingTheWord() {
        #expect(throws: UsageError("unknown command 'frobnicate'")) { try parse("frobnicate") }
        #expect(throws: UsageError("unknown option '--colour' for 'run'")) { try parse("run", "--colour") }
        #expect(throws: UsageError("option '--config' needs a value")) { try parse("run", "--config") }
        #expect(throws: UsageError("option '--board' needs a value")) { try parse("run", "--board=") }
        #expect(throws: UsageError("give --config or --board, not both")) { try parse("run", "--config", "a", "--board", "b") }
        #expect(throws: UsageError("'--version' takes no arguments")) { try parse("--version", "x") }
    }
}
