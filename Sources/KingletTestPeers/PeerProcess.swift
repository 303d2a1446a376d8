/// KingletTestPeers: starts the real peers the tests and benchmarks talk to (etcd,
/// mosquitto, the test API server, the relay, agents) on loopback, with bounded waits,
/// and reaps every process it starts. Test support, host only.
import Foundation

public struct PeerError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// One child process whose output goes to a log file, stopped (and reaped) by `stop()`
/// or, as a last resort, when the object is released.
public final class PeerProcess: @unchecked Sendable {
    public let name: String
    public let logPath: String
    public let process = Process()
    private let lock = NSLock()
    private var stopped = false

    /// Starts `executable` with `arguments`; standard output and error go to `logPath`.
    public init(name: String, executable: String, arguments: [String], environment: [String: String]? = nil,
                logPath: String, workingDirectory: String? = nil) throws {
        self.name = name
        self.logPath = logPath
        FileManager.default.createFile(atPath: logPath, contents: nil)
        guard let log = FileHandle(forWritingAtPath: logPath) else { throw PeerError("\(name): cannot write \(logPath)") }
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment { process.environment = environment }
        if let workingDirectory { process.currentDirectoryURL = URL(fileURLWithPath: workingDirectory) }
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = log
        process.standardError = log
        do {
            try process.run()
        } catch {
            throw PeerError("\(name): cannot start \(executable): \(error)")
        }
        try? log.close()
    }

    public var pid: Int32 { process.processIdentifier }
    public var isRunning: Bool { process.isRunning }

    /// The log so far.
    public var output: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// Waits until the log contains `text`; fails when the process exits or `seconds` pass.
    public func waitForOutput(_ text: String, within seconds: Double) throws {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if output.contains(text) { return }
            if !process.isRunning { throw PeerError("\(name) exited (\(process.terminationStatus)) before printing '\(text)':\n\(tail)") }
            usleep(20_000)
        }
        throw PeerError("\(name) did not print '\(text)' within \(seconds) s:\n\(tail)")
    }

    /// The last lines of the log, for failure messages.
    public var tail: String { output.split(separator: "\n", omittingEmptySubsequences: false).suffix(30).joined(separator: "\n") }

    /// Sends `signal` (the process keeps running if it ignores it).
    public func signal(_ signal: Int32) { if process.isRunning { kill(process.processIdentifier, signal) } }

    /// SIGTERM, then SIGKILL after `grace` seconds; always reaps. Returns the exit status
    /// (or the signal number + 128 when killed by one).
    @discardableResult
    public func stop(grace: Double = 5) -> Int32 {
        lock.lock()
        defer { lock.unlock() }
        if !stopped {
            stopped = true
            if process.isRunning {
                kill(process.processIdentifier, SIGTERM)
                let deadline = Date().addingTimeInterval(grace)
                while process.isRunning && Date() < deadline { usleep(10_000) }
                if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            }
            process.waitUntilExit()
        }
        return process.terminationReason == .uncaughtSignal ? 128 + process.terminationStatus : process.terminationStatus
    }

    /// SIGKILL at once, and reap.
    public func kill9() {
        lock.lock()
        defer { lock.unlock() }
        guard !stopped else { return }
        stopped = true
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    deinit {
        if !stopped, process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }
}
