/// KingletAgent: the agent program: its command line, its start-up and its components,
/// wired together on one event loop. The `kinglet` executable only hands it argv.

/// What the command line asked for.
public enum AgentCommand: Equatable {
    case run(RunOptions)
    case version
    case help(HelpTopic)
}

public enum HelpTopic: Equatable {
    case general
    case run
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
            if rest.count == 1 && rest.first == "run" { return .help(.run) }
            throw UsageError("no help for '\(joined(rest))'")
        case "run":
            return try parseRun(rest.dropFirst())
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

    /// "--name=value" -> ("--name", "value"); "--name" -> ("--name", nil).
    private static func split(_ argument: String) -> (String, String?) {
        guard argument.hasPrefix("--"), let equals = argument.firstIndex(of: "=") else { return (argument, nil) }
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

    private static func joined(_ words: ArraySlice<String>) -> String {
        var text = ""
        for word in words {
            if !text.isEmpty { text += " " }
            text += word
        }
        return text
    }
}
