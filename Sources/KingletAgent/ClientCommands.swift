import CKingletSystem
import KingletCache
import KingletConfig
import KingletCore
import KingletDocument
import KingletEpoll
import KingletRuntime
import KingletStatusSocket

/// The commands a user runs next to the agent: `status`, `logs`, `cache verify|inspect`.
enum ClientCommands {
    static func cache(_ action: CacheAction, file: String) -> Int32 {
        switch action {
        case .verify:
            let report = PodCache.verify(path: file)
            StandardStream.output.write(report.description + "\n")
            return report.status == .ok ? AgentMain.exitSuccess : AgentMain.exitFailure
        case .inspect:
            do {
                StandardStream.output.write(try PodCache.inspect(path: file))
                return AgentMain.exitSuccess
            } catch {
                StandardStream.error.write("kinglet: \(file): \(error.description)\n")
                return AgentMain.exitFailure
            }
        }
    }

    static func status(_ options: StatusOptions) -> Int32 {
        let socket: String
        if let explicit = options.location.socketPath {
            socket = explicit
        } else {
            switch loadConfig(options.location.configPath) {
            case .success(let config): socket = config.paths.socket
            case .failure(let status): return status.value
            }
        }
        let response: [UInt8]
        switch StatusSocketClient.request("status", path: socket) {
        case .success(let bytes): response = bytes
        case .failure(let error):
            StandardStream.error.write("kinglet: cannot reach the agent: \(error.description)\n(is 'kinglet run' running with this config?)\n")
            return AgentMain.exitFailure
        }
        if options.output == .json {
            StandardStream.output.write(String(decoding: response, as: UTF8.self) + "\n")
            return AgentMain.exitSuccess
        }
        do {
            let document = try JSONReader().parseDocument(response, file: socket)
            StandardStream.output.write(StatusTables.render(document))
            return AgentMain.exitSuccess
        } catch {
            StandardStream.error.write("kinglet: the agent's answer is not valid: \(error.description)\n")
            return AgentMain.exitFailure
        }
    }

    static func logs(_ options: LogsOptions) -> Int32 {
        let config: AgentConfig
        switch loadConfig(options.location.configPath) {
        case .success(let loaded): config = loaded
        case .failure(let status): return status.value
        }
        let logPath: String
        switch ContainerLogLocator.find(options: options, config: config) {
        case .success(let path): logPath = path
        case .failure(let problem):
            StandardStream.error.write("kinglet: \(problem.message)\n")
            return AgentMain.exitFailure
        }
        do {
            let messages = try ContainerLogReader.messages(logPath: logPath)
            StandardStream.output.write(ContainerLogReader.render(messages, timestamps: options.timestamps))
        } catch {
            StandardStream.error.write("kinglet: \(logPath): \(error.description)\n")
            return AgentMain.exitFailure
        }
        return options.follow ? follow(logPath, timestamps: options.timestamps) : AgentMain.exitSuccess
    }

    /// `logs -f`: new lines as they come, until Ctrl-C or SIGTERM.
    private static func follow(_ logPath: String, timestamps: Bool) -> Int32 {
        do {
            let loop = try EpollEventLoop()
            let follower = ContainerLogFollower(loop: loop, logPath: logPath, fromStart: false) { message in
                StandardStream.output.write(ContainerLogReader.render([message], timestamps: timestamps))
            }
            try loop.handle([.interrupt, .terminate]) { _ in loop.stop() }
            follower.start()
            try loop.run()
            follower.stop()
            return AgentMain.exitSuccess
        } catch {
            StandardStream.error.write("kinglet: cannot follow \(logPath): \(error.description)\n")
            return AgentMain.exitFailure
        }
    }

    private static func loadConfig(_ path: String) -> Result<AgentConfig, ExitStatus> {
        do {
            return .success(try ConfigFile.load(path, defaultNodeName: ConfigFile.hostName()))
        } catch {
            StandardStream.error.write("kinglet: \(error.description)\n")
            return .failure(ExitStatus(AgentMain.exitUsage))
        }
    }
}

/// An exit status carried as an error (Result needs an Error type).
struct ExitStatus: Error {
    let value: Int32
    init(_ value: Int32) { self.value = value }
}
