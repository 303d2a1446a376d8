import Foundation

/// The `cache-torture-writer` child process, spawned with posix_spawn so the test controls
/// exactly when it dies (SIGKILL) and reaps it.
final class TortureWriterProcess {
    /// The products folder holds the writer next to the test bundle; Swift Testing may run
    /// from inside the bundle, so walk up at most three levels.
    static var executablePath: String {
        var folder = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<3 where !FileManager.default.fileExists(atPath: folder.appendingPathComponent("cache-torture-writer").path) {
            folder = folder.deletingLastPathComponent()
        }
        return folder.appendingPathComponent("cache-torture-writer").path
    }

    let pid: pid_t
    let outputPath: String
    /// The wait status once reaped; a reaped pid is never signalled (it may be reused).
    private var waitStatus: Int32? = nil

    /// Starts the writer with its standard output and error going to `outputPath`.
    init(arguments: [String], outputPath: String) throws {
        self.outputPath = outputPath
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let argv = ([TortureWriterProcess.executablePath] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var child: pid_t = 0
        let status = posix_spawn(&child, TortureWriterProcess.executablePath, &actions, nil, argv, environ)
        if status != 0 { throw POSIXError(POSIXErrorCode(rawValue: status) ?? .EIO) }
        pid = child
    }

    /// What the writer has printed so far.
    var output: String { (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "" }

    /// Polls, at most `polls` times 200 µs apart, until the writer printed "ready". False when
    /// it never did (it exited, or is still starting).
    func waitUntilReady(polls: Int) -> Bool {
        for _ in 0..<polls {
            if output.hasPrefix("ready\n") { return true }
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid {  // it exited early
                waitStatus = status
                return false
            }
            usleep(200)
        }
        return false
    }

    /// SIGKILLs the writer unless it already ended, and reaps it. Returns the signal that
    /// ended it (0: it exited on its own).
    @discardableResult
    func killAndReap() -> Int32 {
        if waitStatus == nil {
            kill(pid, SIGKILL)
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
            waitStatus = status
        }
        return (waitStatus ?? 0) & 0x7F
    }
}
