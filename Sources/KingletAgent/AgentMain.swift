import CKingletSystem
import KingletCore
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
            StandardStream.output.write((topic == .run ? HelpText.run : HelpText.general) + "\n")
            return exitSuccess
        case .run(let options):
            return run(options)
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
        _ = kinglet_ignore_sigpipe()
        let configPath = options.effectiveConfigPath
        if access(configPath, R_OK) != 0 {
            log.error("config file \(configPath): \(String(cString: kinglet_strerror(kinglet_errno())))")
            return exitUsage
        }
        let loop: EpollEventLoop
        do {
            loop = try EpollEventLoop()
            try loop.handle([.terminate, .interrupt]) { signal in
                log.info("\(signal.name) received, stopping")
                loop.stop()
            }
        } catch {
            log.error("cannot start the event loop: \(error.description)")
            return exitFailure
        }
        let started = loop.now
        log.info("kinglet \(AgentVersion.number) starting (\(AgentVersion.buildMode), \(AgentVersion.architecture)); config \(configPath)")
        log.info("running headless: no cloud link configured; Ctrl-C or SIGTERM stops")
        do {
            try loop.run()
        } catch {
            log.error("event loop failed: \(error.description)")
            return exitFailure
        }
        let uptime = loop.now.since(started)
        log.info("stopped cleanly after \(uptime.milliseconds) ms, \(loop.iterations) loop wake-ups")
        return exitSuccess
    }
}
