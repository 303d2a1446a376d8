import CKingletSystem
import KingletCore
import KingletConfig
import KingletEpoll

/// The agent's version.
public enum AgentVersion {
    public static let number = "0.1.0"

    /// How this binary was built: "embedded" (static musl) or "host" (full Swift).
    public static var buildMode: String {
        #if hasFeature(Embedded)
        return "embedded"
        #else
        return "host"
        #endif
    }

    public static var architecture: String {
        #if arch(arm64)
        return "aarch64"
        #elseif arch(arm)
        return "armv7"
        #elseif arch(x86_64)
        return "x86_64"
        #else
        return "unknown"
        #endif
    }

    public static var linkage: String {
        #if KINGLET_STATIC_DEPS
        return "static musl"
        #else
        return "dynamic"
        #endif
    }
}

/// The agent's entry point: parses argv and runs the command. Returns the exit status.
public enum AgentMain {
    /// Exit statuses, as the docs promise them.
    public static let exitSuccess: Int32 = 0
    public static let exitFailure: Int32 = 1
    public static let exitUsage: Int32 = 2

    public static func main(_ arguments: [String]) -> Int32 {
        let command: AgentCommand
        do {
            command = try AgentCommandLine.parse(arguments)
        } catch {
            StandardStream.error.write("kinglet: \(error.description)\nTry 'kinglet --help'.\n")
            return exitUsage
        }
        switch command {
        case .version:
            StandardStream.output.write(versionReport())
            return exitSuccess
        case .help(let topic):
            StandardStream.output.write(HelpText.page(topic) + "\n")
            return exitSuccess
        case .run(let options):
            return run(options)
        case .cache(let action, let file):
            return ClientCommands.cache(action, file: file)
        case .status(let options):
            return ClientCommands.status(options)
        case .logs(let options):
            return ClientCommands.logs(options)
        case .images(let options):
            return ImageCommands.images(options)
        case .pull(let options):
            return ImageCommands.pull(options)
        case .keeper(let options):
            return KeeperCommand.run(options)
        }
    }

    /// "kinglet 0.1.0 (embedded, aarch64, static musl)" and one line per linked C library.
    public static func versionReport() -> String {
        var report = "kinglet \(AgentVersion.number) (\(AgentVersion.buildMode), \(AgentVersion.architecture), \(AgentVersion.linkage))\n"
        for library in LinkedLibraries.all() {
            report += "  \(library.name) \(library.version)\n"
        }
        return report
    }

    static func run(_ options: RunOptions) -> Int32 {
        let log = AgentLog()
        _ = kinglet_advise_program_random()
        _ = kinglet_ignore_sigpipe()
        _ = kinglet_cloexec_inherited_descriptors()
        let configPath = options.effectiveConfigPath
        log.info("kinglet \(AgentVersion.number) starting (\(AgentVersion.buildMode), \(AgentVersion.architecture)); config \(configPath)")
        let agent: Agent
        do {
            agent = try Agent(configPath: configPath, log: log)
        } catch {
            log.error(error.message)
            return error.status
        }
        let bootTime = agent.loop.now.since(agent.bootStarted)
        log.info("node \(agent.config.nodeName) ready in \(bootTime.nanoseconds / 1000) us; status socket \(agent.config.paths.socket)")
        if agent.config.cloud == nil {
            log.info("running headless: no cloud link configured; Ctrl-C or SIGTERM stops")
        }
        do {
            try agent.loop.run()
        } catch {
            log.error("event loop failed: \(error.description)")
            agent.shutdown()
            return exitFailure
        }
        agent.shutdown()
        let uptime = agent.loop.now.since(agent.bootStarted)
        if agent.stoppedPods {
            log.info("stopped cleanly after \(uptime.milliseconds) ms, \(agent.loop.iterations) loop wake-ups")
        } else {
            log.warning("stopped at once after \(uptime.milliseconds) ms; containers still running are stopped at the next start")
        }
        return exitSuccess
    }
}
