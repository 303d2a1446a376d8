import Foundation

/// The result of a tool run whose standard output is data (a manifest) kept apart from
/// its standard error (messages).
public struct TestImageToolResult: Sendable {
    public let status: Int32
    public let standardOutput: Data
    public let standardError: String
    public let timedOut: Bool
    public var text: String { String(decoding: standardOutput, as: UTF8.self) }
}

/// Runs the image tools (umoci, skopeo) to completion with a time bound, always reaped.
public enum TestImageTool {
    /// Runs `executable` with `arguments`; after `seconds` it gets SIGTERM, then SIGKILL.
    public static func run(_ executable: String, _ arguments: [String], within seconds: Double,
                           workingDirectory: String? = nil) throws -> TestImageToolResult {
        let base = NSTemporaryDirectory() + "kinglet-tool-\(UUID().uuidString.prefix(12))"
        _ = FileManager.default.createFile(atPath: base + ".out", contents: nil)
        _ = FileManager.default.createFile(atPath: base + ".err", contents: nil)
        defer {
            try? FileManager.default.removeItem(atPath: base + ".out")
            try? FileManager.default.removeItem(atPath: base + ".err")
        }
        guard let out = FileHandle(forWritingAtPath: base + ".out"), let err = FileHandle(forWritingAtPath: base + ".err") else {
            throw PeerError("cannot write \(base).out/.err")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let workingDirectory { process.currentDirectoryURL = URL(fileURLWithPath: workingDirectory) }
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = out
        process.standardError = err
        do {
            try process.run()
        } catch {
            try? out.close()
            try? err.close()
            throw PeerError("cannot start \(executable): \(error)")
        }
        try? out.close()
        try? err.close()
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning && Date() < deadline { usleep(5_000) }
        let timedOut = process.isRunning
        if timedOut {
            kill(process.processIdentifier, SIGTERM)
            let grace = Date().addingTimeInterval(2)
            while process.isRunning && Date() < grace { usleep(10_000) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        }
        process.waitUntilExit()
        let status = process.terminationReason == .uncaughtSignal ? 128 + process.terminationStatus : process.terminationStatus
        return TestImageToolResult(status: status,
                                   standardOutput: (try? Data(contentsOf: URL(fileURLWithPath: base + ".out"))) ?? Data(),
                                   standardError: (try? String(contentsOfFile: base + ".err", encoding: .utf8)) ?? "",
                                   timedOut: timedOut)
    }

    /// Like `run`, but throws with the tool's messages unless it exits 0.
    @discardableResult
    public static func check(_ executable: String, _ arguments: [String], within seconds: Double,
                             workingDirectory: String? = nil) throws -> TestImageToolResult {
        let result = try run(executable, arguments, within: seconds, workingDirectory: workingDirectory)
        guard result.status == 0 else {
            let name = URL(fileURLWithPath: executable).lastPathComponent
            throw PeerError("\(name) \(arguments.joined(separator: " ")) failed (\(result.status)"
                            + (result.timedOut ? ", timed out after \(seconds) s" : "") + "):\n\(result.standardError)\(result.text)")
        }
        return result
    }
}
