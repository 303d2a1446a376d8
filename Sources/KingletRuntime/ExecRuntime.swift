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
    /// When set, containers are the keeper's children and outlive the agent.
    private let keeper: KeeperClient?
    /// Launches waiting for a held container of the same id to stop.
    private var waitingForHeld: [ContainerID: ContainerLaunch] = [:]

    /// `cgroupBase` is the cgroup v2 folder under which each container gets its own; nil
    /// turns cgroups off (limits then fall back to RLIMIT_AS). With a `keeper`, container
    /// processes are started by it and survive the agent (docs/runtime.md).
    public init(loop: any EventLoop, reaper: ChildReaper, cgroupBase: String? = ExecRuntime.defaultCgroupBase,
                keeper: KeeperClient? = nil) {
        self.loop = loop
        self.reaper = reaper
        self.keeper = keeper
        limiter = ResourceLimiter(loop: loop, cgroupBase: cgroupBase)
    }

    /// The keeper's key for a container of this runtime.
    static func keeperKey(_ id: ContainerID) -> String { "exec:" + id.podUID + "/" + id.name }

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
        if let keeper, keeper.held[ExecRuntime.keeperKey(id)] != nil {
            // An earlier agent's container with this id, not adopted (its spec changed):
            // it goes first, as the kubelet replaces a changed pod's containers.
            waitingForHeld[id] = launch
            let label = KeeperLabel(keeper.held[ExecRuntime.keeperKey(id)]?.kept.label ?? "")
            stopHeld(ExecRuntime.keeperKey(id), gracePeriod: label?.gracePeriod ?? ExecRuntime.replacedGracePeriod) {
                if let next = self.waitingForHeld.removeValue(forKey: id) { self.start(next) }
            }
            return
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
            pid = try spawn(launch, pipes)
        } catch {
            pipes.closeAll()
            limiter.discard(plan)
            return fail(id, error.reason, error.message)
        }
        let startedAt = kinglet_realtime_ns()
        pipes.closeChildEnds()
        let (applied, cgroup) = limiter.apply(plan, launch.resourceLimits, to: pid)
        if let keeper {
            let label = KeeperLabel(specHash: launch.podSpecHash, startedAt: startedAt, graceSeconds: launch.gracePeriodSeconds,
                                    logPath: launch.logPath, limits: applied.description)
            keeper.watch(ExecRuntime.keeperKey(id), pid: pid, label: label.text)
        }
        let output = ContainerOutput(loop: loop, stdout: pipes.stdoutRead, stderr: pipes.stderrRead,
                                     log: CRILogWriter(file: logFile, lineBufferBytes: launch.logLimits.lineBufferBytes),
                                     lineBufferBytes: launch.logLimits.lineBufferBytes)
        let container = RunningContainer(launch: launch, pid: pid, output: output, cgroup: cgroup, limits: applied,
                                         startInstant: loop.now, kept: keeper != nil)
        guard supervise(container) else { return }
        post(.started(ContainerStarted(id: id, pid: pid, startedAt: startedAt, limits: applied)))
    }

    /// Starts the process: through the keeper when there is one, else as the agent's child.
    private func spawn(_ launch: ContainerLaunch, _ pipes: OutputPipes) throws(SpawnError) -> Int32 {
        guard let keeper else {
            return try ProcessSpawner.spawn(executable: launch.executable, arguments: launch.arguments,
                                            environment: launch.environment, workingDirectory: launch.workingDirectory,
                                            stdout: pipes.stdoutWrite, stderr: pipes.stderrWrite)
        }
        let path = try ProcessSpawner.checkedPath(executable: launch.executable, environment: launch.environment,
                                                  workingDirectory: launch.workingDirectory)
        let request = KeeperSpawn(key: ExecRuntime.keeperKey(launch.id), label: "", executable: path,
                                  arguments: [launch.executable] + launch.arguments,
                                  environment: launch.environment.map { $0.name + "=" + $0.value },
                                  workingDirectory: launch.workingDirectory ?? "", killGroupOnExit: true)
        return try keeper.spawn(request, stdoutWrite: pipes.stdoutWrite, stderrWrite: pipes.stderrWrite,
                                stdoutRead: pipes.stdoutRead, stderrRead: pipes.stderrRead).pid
    }

    /// Registers a running container: its exit, its output. False when its output cannot
    /// be watched (it is then killed, and its exit reported as a failure to start).
    private func supervise(_ container: RunningContainer) -> Bool {
        containers[container.id] = container
        container.output.writesIncompleteLines = container.kept
        if let keeper, container.kept {
            keeper.onExit(ExecRuntime.keeperKey(container.id)) { exit in
                self.exited(container, ChildExit(pid: exit.pid, status: exit.status), finishedAt: exit.finishedAt)
            }
        } else {
            reaper.watch(pid: container.pid) { exit in self.exited(container, exit) }
            // Both pipes closed usually means the process has exited: look at once instead of
            // waiting for SIGCHLD (which a multi-threaded host process may not deliver here).
            container.output.onClosed = { self.loop.schedule(after: .zero) { self.reaper.reapExited() } }
        }
        do {
            try container.output.startWatching()
        } catch {
            // Unwatched pipes would fill and block the container: end it, report why.
            container.startFailure = "cannot watch the container's output: " + error.description
            signal(container, SIGKILL)
            return false
        }
        return true
    }

    /// To the container's process group (a shell's children must hear it too); through the
    /// keeper for a kept container, which knows whether the pid is still its child.
    private func signal(_ container: RunningContainer, _ number: Int32) {
        if let keeper, container.kept {
            keeper.signal(ExecRuntime.keeperKey(container.id), number)
        } else {
            _ = kinglet_kill_group(container.pid, number)
        }
    }

    // MARK: adoption

    public func adopt(_ launch: ContainerLaunch) -> AdoptedContainer? {
        let id = launch.id
        guard let keeper, containers[id] == nil,
              let (held, label) = keeper.adoptable(ExecRuntime.keeperKey(id), specHash: launch.podSpecHash),
              let container = takeHeld(held, label: label, launch: launch) else { return nil }
        guard supervise(container) else { return nil }
        if let status = held.kept.exit {
            // It ended while no agent ran: reported on a later turn, as any exit.
            let exit = ChildExit(pid: held.kept.pid, status: status)
            loop.schedule(after: .zero) { self.exited(container, exit, finishedAt: held.kept.finishedAt) }
        }
        return AdoptedContainer(pid: container.pid, startedAt: label.startedAt, limits: label.limits)
    }

    public func stopUnadopted(gracePeriod: Duration) {
        guard let keeper else { return }
        for key in Array(keeper.held.keys) where key.hasPrefix("exec:") {
            stopHeld(key, gracePeriod: KeeperLabel(keeper.held[key]?.kept.label ?? "")?.gracePeriod ?? gracePeriod)
        }
    }

    /// A held container as one of this runtime's, its output going on to its old log.
    private func takeHeld(_ held: HeldContainer, label: KeeperLabel, launch: ContainerLaunch) -> RunningContainer? {
        guard let keeper,
              let (kept, output) = keeper.takeWithOutput(held.kept.key, loop: loop,
                                                         logPath: label.logPath.isEmpty ? launch.logPath : label.logPath,
                                                         limits: launch.logLimits) else { return nil }
        let cgroup = limiter.existing(for: launch.id)
        let limits = AppliedLimits(mechanism: cgroup.map { .cgroupV2(folder: $0.folder) } ?? .none,
                                   memoryBytes: launch.resourceLimits.memoryBytes, cpuQuota: launch.resourceLimits.cpuQuota,
                                   note: nil)
        return RunningContainer(launch: launch, pid: kept.pid, output: output, cgroup: cgroup, limits: limits,
                                startInstant: label.startInstant(now: loop.now), kept: true)
    }

    /// Stops a held container no pod adopted; `then` runs once it has exited.
    private func stopHeld(_ key: String, gracePeriod: Duration, then: (() -> Void)? = nil) {
        guard let keeper, let held = keeper.held[key] else { return }
        let podUID = key.dropFirst(5).split(separator: "/", maxSplits: 1)
        let id = ContainerID(podUID: podUID.count == 2 ? String(podUID[0]) : "", name: podUID.count == 2 ? String(podUID[1]) : key)
        let launch = ContainerLaunch(podUID: id.podUID, containerName: id.name, executable: "",
                                     logPath: KeeperLabel(held.kept.label)?.logPath ?? "/dev/null",
                                     logLimits: (KeeperLabel(held.kept.label) ?? KeeperLabel.unknown).stoppingLogLimits)
        guard let container = takeHeld(held, label: KeeperLabel(held.kept.label) ?? KeeperLabel.unknown,
                                       launch: launch) else { then?(); return }
        container.orphaned = true
        container.afterExit = then
        guard supervise(container) else { return }
        if let status = held.kept.exit {
            let exit = ChildExit(pid: held.kept.pid, status: status)
            loop.schedule(after: .zero) { self.exited(container, exit, finishedAt: held.kept.finishedAt) }
        } else {
            stop(container, gracePeriod: gracePeriod)
        }
    }

    /// The keeper is gone: its containers lost their parent, and their exits will not be
    /// heard. They are ended (their process groups killed) and reported as killed, so the
    /// pod manager restarts them by their policy through a new keeper.
    public func keeperLost() {
        for container in Array(containers.values) where container.kept {
            _ = kinglet_kill_group(container.pid, SIGKILL)
            exited(container, ChildExit(pid: container.pid, status: .killed(signal: SIGKILL, coreDumped: false)),
                   finishedAt: kinglet_realtime_ns())
        }
    }

    public func stop(_ id: ContainerID, gracePeriod: Duration) {
        if waitingForHeld.removeValue(forKey: id) != nil {
            // Never started: its `.failedToStart` ends the pod manager's wait.
            return fail(id, "ContainerCannotRun", "stopped before it started")
        }
        guard let container = containers[id] else { return }
        stop(container, gracePeriod: gracePeriod)
    }

    private func stop(_ container: RunningContainer, gracePeriod: Duration) {
        container.stopRequested = true
        let now = loop.now
        let deadline = now.advanced(by: gracePeriod)
        if let earlier = container.killDeadline, earlier <= deadline { return }
        if let timer = container.killTimer { loop.cancel(timer) }
        container.killTimer = nil
        if gracePeriod <= .zero {
            container.killDeadline = now
            signal(container, SIGKILL)
            return
        }
        if container.killDeadline == nil { signal(container, SIGTERM) }
        container.killDeadline = deadline
        container.killTimer = loop.schedule(at: deadline) {
            container.killTimer = nil
            self.signal(container, SIGKILL)
        }
    }

    /// How long a held container gets to stop when its label does not say (the API's
    /// default termination grace period).
    public static let replacedGracePeriod = Duration.seconds(30)

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

    /// Runs while the main process is a zombie, so its pid still pins the process group
    /// (for a kept container the keeper has killed the group already, before reaping).
    private func exited(_ container: RunningContainer, _ exit: ChildExit, finishedAt: Int64? = nil) {
        guard containers[container.id] === container else { return }
        if let timer = container.killTimer { loop.cancel(timer) }
        container.killTimer = nil
        // The container ends with its main process, as with a PID namespace: whatever it
        // left running in its group (or cgroup) goes too.
        if !container.kept { _ = kinglet_kill_group(container.pid, SIGKILL) }
        var oomKilled = false
        if let cgroup = container.cgroup {
            cgroup.killAll()
            oomKilled = cgroup.oomKilled
            // After this callback returns the zombie is reaped; remove the folder then.
            loop.schedule(after: .zero) { self.limiter.release(cgroup) }
        }
        container.output.drain()
        containers[container.id] = nil
        if container.kept { keeper?.release(ExecRuntime.keeperKey(container.id)) }
        if container.orphaned {
            container.afterExit?()
            return
        }

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
                                     finishedAt: finishedAt ?? kinglet_realtime_ns(), ranFor: loop.now.since(container.startInstant),
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
