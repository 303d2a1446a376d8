import Foundation

/// Runs the host-built `kinglet` binary as a child process, with bounded waits.
struct AgentProcess {
    /// The products folder: the test bundle sits beside the built executables.
    static var productsFolder: URL {
        URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
    }

    static var agentPath: String {
        var folder = productsFolder
        // Swift Testing may run from inside the .xctest bundle folder.
        for _ in 0..<3 where !FileManager.default.fileExists(atPath: folder.appendingPathComponent("kinglet").path) {
            folder = folder.deletingLastPathComponent()
        }
        return folder.appendingPathComponent("kinglet").path
    }

    static var packageRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    struct Result {
        var status: Int32
        var output: String
        var error: String
    }

    let process = Process()
    private let outputPipe = Pipe()
    private let errorPipe = Pipe()

    init(_ arguments: [String], binary: String = AgentProcess.agentPath) {
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        process.currentDirectoryURL = AgentProcess.packageRoot
        process.standardOutput = outputPipe
        process.standardError = errorPipe
    }

    func start() throws { try process.run() }

    /// Waits at most `seconds` for the process to exit; kills it when it does not, so no
    /// test leaves a process behind.
    func finish(within seconds: Double) -> Result? {
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        let exited = !process.isRunning
        if !exited {
            process.terminate()
            kill(process.processIdentifier, SIGKILL)
        }
        process.waitUntilExit()
        let output = String(decoding: outputPipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let error = String(decoding: (try? errorPipe.fileHandleForReading.readToEnd()) ?? nil ?? Data(), as: UTF8.self)
        return exited ? Result(status: process.terminationStatus, output: output, error: error) : nil
    }

    /// Closes our end of the agent's standard error, as a dead log reader would.
    func closeErrorPipe() {
        try? errorPipe.fileHandleForReading.close()
    }

    /// Reads standard error until `text` appears or `seconds` pass.
    func waitForError(containing text: String, within seconds: Double) -> Bool {
        let handle = errorPipe.fileHandleForReading
        var seen = ""
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline && process.isRunning {
            var poll = pollfd(fd: handle.fileDescriptor, events: Int16(POLLIN), revents: 0)
            if Glibc.poll(&poll, 1, 50) > 0 {
                let chunk = handle.availableData
                if chunk.isEmpty { break }
                seen += String(decoding: chunk, as: UTF8.self)
                if seen.contains(text) { return true }
            }
        }
        return seen.contains(text)
    }

    static func run(_ arguments: [String], within seconds: Double = 30, binary: String = AgentProcess.agentPath) throws -> Result? {
        let agent = AgentProcess(arguments, binary: binary)
        try agent.start()
        return agent.finish(within: seconds)
    }
}
