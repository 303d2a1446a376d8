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

@Suite struct ClientCommandLineTests {
    private func parse(_ words: String...) throws(UsageError) -> AgentCommand {
        try AgentCommandLine.parse(["kinglet"] + words)
    }

    @Test func cacheCommandsTakeOneFile() throws {
        #expect(try parse("cache", "verify", "/var/lib/kinglet/cache.kc") == .cache(.verify, file: "/var/lib/kinglet/cache.kc"))
        #expect(try parse("cache", "inspect", "x.kc") == .cache(.inspect, file: "x.kc"))
        #expect(throws: UsageError("unknown cache command 'fix' (expected verify or inspect)")) { try parse("cache", "fix", "x") }
        #expect(throws: UsageError("'cache verify' needs exactly one cache file")) { try parse("cache", "verify") }
    }

    @Test func statusTakesAnOutputFormatAndALocation() throws {
        var expected = StatusOptions()
        expected.output = .json
        expected.location.socketPath = "/run/k.sock"
        #expect(try parse("status", "-o", "json", "--socket", "/run/k.sock") == .status(expected))
        #expect(try parse("status") == .status(StatusOptions()))
        #expect(throws: UsageError("unknown output format 'yaml' (expected table or json)")) { try parse("status", "-o=yaml") }
    }

    @Test func logsFollowsKubectlSpelling() throws {
        var expected = LogsOptions()
        expected.pod = "web"
        expected.namespace = "edge"
        expected.container = "nginx"
        expected.follow = true
        expected.location.configPath = "boards/sim/kinglet.yaml"
        #expect(try parse("logs", "web", "-n", "edge", "-c", "nginx", "-f", "--config", "boards/sim/kinglet.yaml") == .logs(expected))
        #expect(throws: UsageError("'logs' needs a pod name")) { try parse("logs", "-f") }
        #expect(throws: UsageError("'logs' takes one pod name, got 'a' and 'b'")) { try parse("logs", "a", "b") }
    }

    @Test func everyCommandHasAHelpPage() throws {
        for topic in ["run", "status", "logs", "cache"] {
            #expect(try parse("help", topic) == .help(HelpTopic(rawValue: topic)!))
            #expect(try parse(topic, "--help") == .help(HelpTopic(rawValue: topic)!))
        }
    }
}
