import CKingletSystem
import KingletCore

/// Runs each container as a plain child process of the agent (no namespaces, no image):
/// the runtime for boards without crun or runc, and the reference for what the pod
/// manager expects of any runtime.
public final class ExecRuntime: ContainerRuntime {
    public var delegate: (any ContainerRuntimeDelegate)? = nil

    /// Where per-container cgroups go unless configured otherwise.
    public static let defaultCgroupBase = "/sys/fs/cgroup/kinglet"

    private let loop: any EventLoop
    private let reaper: ChildReaper
    private let limiter: ResourceLimiter
    private var containers: [ContainerID: RunningContainer] = [:]
    private var events = ContainerEventQueue()

    /// `cgroupBase` is the cgroup v2 folder under which each container gets its own; nil
    /// turns cgroups off (limits then fall back to RLIMIT_AS).
    public init(loop: any EventLoop, reaper: ChildReaper, cgroupBase: String? = ExecRuntime.defaultCgroupBase) {
        self.loop = loop
        self.reaper = reaper
        limiter = ResourceLimiter(loop: loop, cgroupBase: cgroupBase)
    }

    public func isRunning(_ id: ContainerID) -> Bool { containers[id] != nil }

    /// The running container's pid (its process group id too).
    public func pid(of id: ContainerID) -> Int32? { containers[id]?.pid }

    /// The limits applied to a running container.
    public func limits(of id: ContainerID) -> AppliedLimits? { containers[id]?.limits }

    /// Containers started and not yet reported as exited.
    public var runningContainers: [ContainerID] { Array(containers.keys) }

    public func start(_ launch: ContainerLaunch) {
        let id = launch.id
        if containers[id] != nil {
            return fail(id, "CreateContainerError", "container " + id.description + " is already running")
        }
        let logFile: RotatingLogFile
        do {
            logFile = try RotatingLogFile(path: launch.logPath, limits: launch.logLimits)
        } catch {
            return fail(id, "CreateContainerError", "cannot open the log file: " + error.description)
        }
        let pipes: OutputPipes
        do {
            pipes = try OutputPipes()
        } catch {
            return fail(id, "CreateContainerError", error.description)
        }

        let plan = limiter.prepare(launch.resourceLimits, for: id)
        let pid: Int32
        do {
            pid = try ProcessSpawner.spawn(executable: launch.executable, arguments: launch.arguments,
                                           environment: launch.environment, workingDirectory: launch.workingDirectory,
                                           stdout: pipes.stdoutWrite, stderr: pipes.stderrWrite)
        } catch {
            pipes.closeAll()
            limiter.discard(plan)
            return fail(id, error.reason, error.message)
        }
        let startedAt = kinglet_realtime_ns()
        pipes.closeChildEnds()
        let (applied, cgroup) = limiter.apply(plan, launch.resourceLimits, to: pid)

        let log = CRILogWriter(file: logFile, lineBufferBytes: launch.logLimits.lineBufferBytes)
        let output = ContainerOutput(loop: loop, stdout: pipes.stdoutRead, stderr: pipes.stderrRead, log: log,
                                     lineBufferBytes: launch.logLimits.lineBufferBytes)
        let container = RunningContainer(launch: launch, pid: pid, output: output, cgroup: cgroup, limits: applied, startInstant: loop.now)
        containers[id] = container
        reaper.watch(pid: pid) { exit in self.exited(container, exit) }
        // Both pipes closed usually means the process has exited: look at once instead of
        // waiting for SIGCHLD (which a multi-threaded host process may not deliver here).
        output.onClosed = { self.loop.schedule(after: .zero) { self.reaper.reapExited() } }
        do {
            try output.startWatching()
        } catch {
            // Unwatched pipes would fill and block the container: end it, report why.
            container.startFailure = "cannot watch the container's output: " + error.description
            _ = kinglet_kill_group(pid, SIGKILL)
            return
        }
        post(.started(ContainerStarted(id: id, pid: pid, startedAt: startedAt, limits: applied)))
    }

    public func stop(_ id: ContainerID, gracePeriod: Duration) {
        guard let container = containers[id] else { return }
        container.stopRequested = true
        let now = loop.now
        let deadline = now.advanced(by: gracePeriod)
        if let earlier = container.killDeadline, earlier <= deadline { return }
        if let timer = container.killTimer { loop.cancel(timer) }
        container.killTimer = nil
        if gracePeriod <= .zero {
            container.killDeadline = now
            _ = kinglet_kill_group(container.pid, SIGKILL)
            return
        }
        // The whole group: a shell's children must hear it too.
        if container.killDeadline == nil { _ = kinglet_kill_group(container.pid, SIGTERM) }
        container.killDeadline = deadline
        container.killTimer = loop.schedule(at: deadline) {
            container.killTimer = nil
            _ = kinglet_kill_group(container.pid, SIGKILL)
        }
    }

    /// Runs `command` in a running container's context (an exec probe): its environment,
    /// working directory and cgroup, stdout and stderr captured together. The process is
    /// killed after `timeout`. `completion` comes on a later turn of the loop, unless the
    /// returned command is cancelled first.
    @discardableResult
    public func run(_ command: [String], in id: ContainerID, timeout: Duration,
                    completion: @escaping (CommandResult) -> Void) -> ContainerCommand {
        let run = ContainerCommand(loop: loop, reaper: reaper, completion: completion)
        guard let container = containers[id] else {
            run.fail("container " + id.description + " is not running")
            return run
        }
        run.start(command, environment: container.launch.environment, workingDirectory: container.launch.workingDirectory,
                  cgroup: container.cgroup, timeout: timeout)
        return run
    }

    /// Runs while the main process is a zombie, so its pid still pins the process group.
    private func exited(_ container: RunningContainer, _ exit: ChildExit) {
        if let timer = container.killTimer { loop.cancel(timer) }
        container.killTimer = nil
        // The container ends with its main process, as with a PID namespace: whatever it
        // left running in its group (or cgroup) goes too.
        _ = kinglet_kill_group(container.pid, SIGKILL)
        var oomKilled = false
        if let cgroup = container.cgroup {
            cgroup.killAll()
            oomKilled = cgroup.oomKilled
            // After this callback returns the zombie is reaped; remove the folder then.
            loop.schedule(after: .zero) { self.limiter.release(cgroup) }
        }
        container.output.drain()
        if containers[container.id] === container { containers[container.id] = nil }

        if let failure = container.startFailure {
            return fail(container.id, "CreateContainerError", failure)
        }
        let reason: String
        if oomKilled {
            reason = "OOMKilled"
        } else if exit.status == .exited(code: 0) {
            reason = "Completed"
        } else {
            reason = "Error"
        }
        post(.exited(ContainerExited(id: container.id, pid: container.pid, status: exit.status,
                                     finishedAt: kinglet_realtime_ns(), ranFor: loop.now.since(container.startInstant),
                                     reason: reason, stopRequested: container.stopRequested,
                                     logError: container.output.logError?.description)))
    }

    private func fail(_ id: ContainerID, _ reason: String, _ message: String) {
        post(.failedToStart(ContainerStartFailure(id: id, reason: reason, message: message)))
    }

    private func post(_ event: ContainerEvent) {
        post(event, queue: &events, loop: loop) { self.events.take() }
    }
}
