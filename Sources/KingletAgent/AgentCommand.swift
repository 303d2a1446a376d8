/// KingletAgent: the agent program: its command line, its start-up and its components,
/// wired together on one event loop. The `kinglet` executable only hands it argv.

/// What the command line asked for.
public enum AgentCommand: Equatable {
    case run(RunOptions)
    case version
    case help(HelpTopic)
    case cache(CacheAction, file: String)
    case status(StatusOptions)
    case logs(LogsOptions)
    case images(ImagesOptions)
    case pull(PullOptions)
    case keeper(KeeperOptions)
}

public enum HelpTopic: String, Equatable {
    case general
    case run
    case cache
    case status
    case logs
    case images
    case pull
    case keeper
}

public enum CacheAction: String, Equatable {
    case verify
    case inspect
}

/// Where a client command finds the agent: its config file (for the socket and folder
/// paths in it), or an explicit socket.
public struct AgentLocation: Equatable {
    public var configPath: String = RunOptions.defaultConfigPath
    public var socketPath: String? = nil
    public init() {}
}

public enum OutputFormat: String, Equatable {
    case table
    case json
}

public struct StatusOptions: Equatable {
    public var output: OutputFormat = .table
    public var location = AgentLocation()
    public init() {}
}

public struct LogsOptions: Equatable {
    public var pod: String = ""
    public var namespace: String = "default"
    public var container: String? = nil
    public var follow = false
    public var timestamps = false
    public var location = AgentLocation()
    public init() {}
}

public struct ImagesOptions: Equatable {
    public var output: OutputFormat = .table
    public var configPath: String = RunOptions.defaultConfigPath
    public init() {}
}

public struct PullOptions: Equatable {
    public var image: String = ""
    public var configPath: String = RunOptions.defaultConfigPath
    /// `os/architecture[/variant]` instead of the config's or the kernel's.
    public var platform: String? = nil
    public init() {}
}

/// Options of `kinglet keeper`.
public struct KeeperOptions: Equatable {
    /// The state folder (its keeper.sock and keeper.pid); nil: the config's cache folder.
    public var stateFolder: String? = nil
    public var configPath: String = RunOptions.defaultConfigPath
    /// Stop the running keeper and every container it holds, instead of running one.
    public var stop = false
    public init() {}
}

/// Options of `kinglet run`.
public struct RunOptions: Equatable {
    /// The config file; `nil` means the default, or the board's profile when `board` is set.
    public var configPath: String? = nil
    /// A board profile folder name under `boards/`, e.g. "sim".
    public var board: String? = nil
    /// Where the board profiles live.
    public var boardsFolder: String = "boards"

    public init() {}

    public static let defaultConfigPath = "/etc/kinglet/kinglet.yaml"

    /// The config file this run reads.
    public var effectiveConfigPath: String {
        if let configPath { return configPath }
        if let board { return "\(boardsFolder)/\(board)/kinglet.yaml" }
        return RunOptions.defaultConfigPath
    }
}

/// A command line the agent cannot act on.
public struct UsageError: Error, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Parses argv by hand: the agent has no Foundation and no argument-parser package.
public enum AgentCommandLine {
    public static func parse(_ arguments: [String]) throws(UsageError) -> AgentCommand {
        var rest = arguments.dropFirst()
        guard let first = rest.first else { return .run(RunOptions()) }
        switch first {
        case "--version", "-V", "version":
            guard rest.count == 1 else { throw UsageError("'\(first)' takes no arguments") }
            return .version
        case "--help", "-h", "help":
            rest = rest.dropFirst()
            if rest.isEmpty { return .help(.general) }
            if rest.count == 1, let topic = HelpTopic(rawValue: rest.first!), topic != .general { return .help(topic) }
            throw UsageError("no help for '\(rest.joined(separator: " "))'")
        case "run":
            return try parseRun(rest.dropFirst())
        case "cache":
            return try parseCache(rest.dropFirst())
        case "status":
            return try parseStatus(rest.dropFirst())
        case "logs":
            return try parseLogs(rest.dropFirst())
        case "images":
            return try parseImages(rest.dropFirst())
        case "pull":
            return try parsePull(rest.dropFirst())
        case "keeper":
            return try parseKeeper(rest.dropFirst())
        default:
            // `kinglet --config X` means `kinglet run --config X`, as with the kubelet.
            if first.hasPrefix("-") { return try parseRun(rest) }
            throw UsageError("unknown command '\(first)'")
        }
    }

    private static func parseRun(_ arguments: ArraySlice<String>) throws(UsageError) -> AgentCommand {
        var options = RunOptions()
        var rest = arguments
        while let argument = rest.first {
            rest = rest.dropFirst()
            let (name, inlineValue) = split(argument)
            switch name {
            case "--help", "-h":
                return .help(.run)
            case "--config", "-c":
                options.configPath = try value(of: name, inline: inlineValue, rest: &rest)
            case "--board":
                options.board = try value(of: name, inline: inlineValue, rest: &rest)
            case "--boards-dir":
                options.boardsFolder = try value(of: name, inline: inlineValue, rest: &rest)
            default:
                throw UsageError("unknown option '\(argument)' for 'run'")
            }
        }
        if options.configPath != nil && options.board != nil {
            throw UsageError("give --config or --board, not both")
        }
        return .run(options)
    }

    private static func parseCache(_ arguments: ArraySlice<String>) throws(UsageError) -> AgentCommand {
        if arguments.first == "--help" || arguments.first == "-h" { return .help(.cache) }
        guard let verb = arguments.first else { throw UsageError("'cache' needs 'verify FILE' or 'inspect FILE'") }
        guard let action = CacheAction(rawValue: verb) else {
            throw UsageError("unknown cache command '\(verb)' (expected verify or inspect)")
        }
        let files = arguments.dropFirst()
        guard files.count == 1, let file = files.first, !file.hasPrefix("-") else {
            throw UsageError("'cache \(verb)' needs exactly one cache file")
        }
        return .cache(action, file: file)
    }

    private static func parseStatus(_ arguments: ArraySlice<String>) throws(UsageError) -> AgentCommand {
        var options = StatusOptions()
        var rest = arguments
        while let argument = rest.first {
            rest = rest.dropFirst()
            let (name, inlineValue) = split(argument)
            switch name {
            case "--help", "-h": return .help(.status)
            case "-o", "--output":
                let format = try value(of: name, inline: inlineValue, rest: &rest)
                guard let parsed = OutputFormat(rawValue: format) else {
                    throw UsageError("unknown output format '\(format)' (expected table or json)")
                }
                options.output = parsed
            default:
                if try !parseLocation(name, inlineValue, &rest, &options.location) {
                    throw UsageError("unknown option '\(argument)' for 'status'")
                }
            }
        }
        return .status(options)
    }

    private static func parseLogs(_ arguments: ArraySlice<String>) throws(UsageError) -> AgentCommand {
        var options = LogsOptions()
        var rest = arguments
        while let argument = rest.first {
            rest = rest.dropFirst()
            let (name, inlineValue) = split(argument)
            switch name {
            case "--help", "-h": return .help(.logs)
            case "-c", "--container": options.container = try value(of: name, inline: inlineValue, rest: &rest)
            case "-n", "--namespace": options.namespace = try value(of: name, inline: inlineValue, rest: &rest)
            case "-f", "--follow": options.follow = true
            case "--timestamps": options.timestamps = true
            default:
                if name.hasPrefix("-") {
                    if try !parseLocation(name, inlineValue, &rest, &options.location) {
                        throw UsageError("unknown option '\(argument)' for 'logs'")
                    }
                } else if options.pod.isEmpty {
                    options.pod = argument
                } else {
                    throw UsageError("'logs' takes one pod name, got '\(options.pod)' and '\(argument)'")
                }
            }
        }
        if options.pod.isEmpty { throw UsageError("'logs' needs a pod name") }
        return .logs(options)
    }

    private static func parseImages(_ arguments: ArraySlice<String>) throws(UsageError) -> AgentCommand {
        var options = ImagesOptions()
        var rest = arguments
        while let argument = rest.first {
            rest = rest.dropFirst()
            let (name, inlineValue) = split(argument)
            switch name {
            case "--help", "-h": return .help(.images)
            case "--config", "-c": options.configPath = try value(of: name, inline: inlineValue, rest: &rest)
            case "-o", "--output":
                let format = try value(of: name, inline: inlineValue, rest: &rest)
                guard let output = OutputFormat(rawValue: format) else { throw UsageError("unknown output format '\(format)' (table or json)") }
                options.output = output
            default: throw UsageError("unknown option '\(argument)' for 'images'")
            }
        }
        return .images(options)
    }

    private static func parsePull(_ arguments: ArraySlice<String>) throws(UsageError) -> AgentCommand {
        var options = PullOptions()
        var rest = arguments
        while let argument = rest.first {
            rest = rest.dropFirst()
            let (name, inlineValue) = split(argument)
            switch name {
            case "--help", "-h": return .help(.pull)
            case "--config", "-c": options.configPath = try value(of: name, inline: inlineValue, rest: &rest)
            case "--platform": options.platform = try value(of: name, inline: inlineValue, rest: &rest)
            default:
                if argument.hasPrefix("-") { throw UsageError("unknown option '\(argument)' for 'pull'") }
                guard options.image.isEmpty else { throw UsageError("'pull' takes one image, got '\(options.image)' and '\(argument)'") }
                options.image = argument
            }
        }
        if options.image.isEmpty { throw UsageError("'pull' needs an image, e.g. 'kinglet pull eclipse-mosquitto:2'") }
        return .pull(options)
    }

    private static func parseKeeper(_ arguments: ArraySlice<String>) throws(UsageError) -> AgentCommand {
        var options = KeeperOptions()
        var rest = arguments
        while let argument = rest.first {
            rest = rest.dropFirst()
            let (name, inlineValue) = split(argument)
            switch name {
            case "--help", "-h": return .help(.keeper)
            case "--config", "-c": options.configPath = try value(of: name, inline: inlineValue, rest: &rest)
            case "--state": options.stateFolder = try value(of: name, inline: inlineValue, rest: &rest)
            case "--stop": options.stop = true
            default: throw UsageError("unknown argument '\(argument)' for 'keeper'")
            }
        }
        return .keeper(options)
    }

    /// --config and --socket, shared by the client commands. False when `name` is neither.
    private static func parseLocation(_ name: String, _ inlineValue: String?, _ rest: inout ArraySlice<String>,
                                      _ location: inout AgentLocation) throws(UsageError) -> Bool {
        switch name {
        case "--config":
            location.configPath = try value(of: name, inline: inlineValue, rest: &rest)
        case "--socket":
            location.socketPath = try value(of: name, inline: inlineValue, rest: &rest)
        default:
            return false
        }
        return true
    }

    /// "--name=value" or "-o=json" -> (name, value); "--name" -> ("--name", nil).
    private static func split(_ argument: String) -> (String, String?) {
        guard argument.hasPrefix("-"), let equals = argument.firstIndex(of: "=") else { return (argument, nil) }
        return (String(argument[..<equals]), String(argument[argument.index(after: equals)...]))
    }

    private static func value(of name: String, inline: String?, rest: inout ArraySlice<String>) throws(UsageError) -> String {
        if let inline {
            if inline.isEmpty { throw UsageError("option '\(name)' needs a value") }
            return inline
        }
        guard let next = rest.first, !next.hasPrefix("-") else { throw UsageError("option '\(name)' needs a value") }
        rest = rest.dropFirst()
        return next
    }
}
