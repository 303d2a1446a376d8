import Foundation

/// The result of a short command run to completion.
public struct CommandResult: Sendable {
    /// Exit status, or 128 + signal when a signal ended it (a timeout ends it with SIGTERM).
    public let status: Int32
    /// Standard output and error together.
    public let output: String
    /// Whether the time bound ended it.
    public let timedOut: Bool
}

extension PeerProcess {
    /// Waits until the process exits or `seconds` pass; true when it exited.
    public func waitForExit(within seconds: Double) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning && Date() < deadline { usleep(5_000) }
        return !process.isRunning
    }

    /// Runs a short command to completion, stopping it after `seconds` (always reaped).
    /// Its output goes to `logPath`, or to a temporary file removed afterwards.
    public static func run(_ executable: String, _ arguments: [String], within seconds: Double,
                           logPath: String? = nil, environment: [String: String]? = nil) throws -> CommandResult {
        let name = URL(fileURLWithPath: executable).lastPathComponent
        let log = logPath ?? NSTemporaryDirectory() + "kinglet-cmd-\(UUID().uuidString.prefix(12)).log"
        let child = try PeerProcess(name: name, executable: executable, arguments: arguments,
                                    environment: environment, logPath: log)
        let exited = child.waitForExit(within: seconds)
        let status = child.stop(grace: 1)
        let output = child.output
        if logPath == nil { try? FileManager.default.removeItem(atPath: log) }
        return CommandResult(status: status, output: output, timedOut: !exited)
    }
}
