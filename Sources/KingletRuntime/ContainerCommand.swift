import CKingletSystem
import KingletCore

/// How a command run in a container's context ended (an exec probe's outcome).
public struct CommandResult: Equatable, Sendable {
    public enum Ending: Equatable, Sendable {
        case exited(ProcessExitStatus)
        /// Killed when its time was up.
        case timedOut
        /// It never ran (the container is not running, the executable is missing...).
        case failedToStart(String)
    }

    public let ending: Ending
    /// The start of its combined stdout and stderr, at most `ContainerCommand.outputLimit`
    /// bytes (the kubelet keeps 10 KiB of an exec probe's output).
    public let output: String

    public init(ending: Ending, output: String) {
        self.ending = ending
        self.output = output
    }

    /// Exited with code 0.
    public var succeeded: Bool { ending == .exited(.exited(code: 0)) }
}

/// A command running in a container's context: the container's environment, working
/// directory and cgroup, its own process group, output captured in memory. Made by
/// `ExecRuntime.run(_:in:timeout:completion:)`.
public final class ContainerCommand {
    public static let outputLimit = 10 * 1024

    private let loop: any EventLoop
    private let reaper: ChildReaper
    private var completion: ((CommandResult) -> Void)?
    private var pid: Int32 = 0
    private var readFD: Int32 = -1
    private var output: [UInt8] = []
    /// Allocated once per command.
    private let chunk = UnsafeMutableRawPointer.allocate(byteCount: 4096, alignment: 8)
    private var timer: TimerHandle? = nil
    private var timedOut = false

    init(loop: any EventLoop, reaper: ChildReaper, completion: @escaping (CommandResult) -> Void) {
        self.loop = loop
        self.reaper = reaper
        self.completion = completion
    }

    deinit {
        closeOutput()
        chunk.deallocate()
    }

    /// Whether the completion is still to come.
    public var isRunning: Bool { completion != nil }

    /// Kills the command; its completion is not called.
    public func cancel() {
        completion = nil
        if pid > 0 { _ = kinglet_kill_group(pid, SIGKILL) }
        if let timer { loop.cancel(timer) }
        timer = nil
    }

    func fail(_ reason: String) {
        finish(.failedToStart(reason))
    }

    func start(_ command: [String], environment: [EnvironmentVariable], workingDirectory: String?,
               cgroup: ContainerCgroup?, timeout: Duration) {
        guard let executable = command.first else { return finish(.failedToStart("empty command")) }
        let pipes: OutputPipes
        do {
            pipes = try OutputPipes()
        } catch {
            return finish(.failedToStart(error.description))
        }
        do {
            // stdout and stderr share one pipe: the output reads as a terminal would show it.
            pid = try ProcessSpawner.spawn(executable: executable, arguments: Array(command.dropFirst()),
                                           environment: environment, workingDirectory: workingDirectory,
                                           stdout: pipes.stdoutWrite, stderr: pipes.stdoutWrite)
        } catch {
            pipes.closeAll()
            return finish(.failedToStart(error.message))
        }
        pipes.closeChildEnds()
        _ = close(pipes.stderrRead)
        // Counted against the container's limits, as the kubelet's exec probes are (best
        // effort: the command runs briefly outside, as the container itself did).
        if let cgroup { try? cgroup.add(pid) }
        readFD = pipes.stdoutRead
        do {
            try loop.watch(readFD, interest: .readable) { _ in self.readOutput() }
        } catch {
            // Without a watch the output is read once the command exits.
        }
        reaper.watch(pid: pid) { exit in self.exited(exit) }
        timer = loop.schedule(after: timeout) {
            self.timer = nil
            self.timedOut = true
            _ = kinglet_kill_group(self.pid, SIGKILL)
        }
    }

    private func readOutput() {
        for _ in 0..<16 {
            let count = read(readFD, chunk, 4096)
            if count < 0 && kinglet_errno() == EINTR { continue }
            if count <= 0 {
                if count == 0 { closeOutput() }
                return
            }
            let room = ContainerCommand.outputLimit - output.count
            if room > 0 { output.append(contentsOf: UnsafeRawBufferPointer(start: chunk, count: min(count, room))) }
        }
    }

    /// While the command is a zombie: its group (anything it started) goes too.
    private func exited(_ exit: ChildExit) {
        _ = kinglet_kill_group(exit.pid, SIGKILL)
        if let timer { loop.cancel(timer) }
        timer = nil
        if readFD >= 0 { readOutput() }
        closeOutput()
        finish(timedOut ? .timedOut : .exited(exit.status))
    }

    private func closeOutput() {
        if readFD < 0 { return }
        loop.unwatch(readFD)
        _ = close(readFD)
        readFD = -1
    }

    /// Reports on a later turn of the loop, never from inside the call that started it.
    private func finish(_ ending: CommandResult.Ending) {
        let result = CommandResult(ending: ending, output: String(decoding: output, as: UTF8.self))
        loop.schedule(after: .zero) {
            guard let completion = self.completion else { return }
            self.completion = nil
            completion(result)
        }
    }
}
