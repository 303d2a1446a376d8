import KingletCore

/// One container process the runtime supervises, from its spawn to its reaping.
final class RunningContainer {
    let id: ContainerID
    /// What it was started with (commands run in its context use its environment and
    /// working directory).
    let launch: ContainerLaunch
    /// Also its process group id.
    let pid: Int32
    let output: ContainerOutput
    let cgroup: ContainerCgroup?
    let limits: AppliedLimits
    let startInstant: Instant
    var stopRequested = false
    /// When SIGKILL follows the SIGTERM of a stop, and its timer.
    var killDeadline: Instant? = nil
    var killTimer: TimerHandle? = nil
    /// Set when the runtime had to end a process it could not supervise; its exit is then
    /// reported as a failure to start.
    var startFailure: String? = nil
    /// Started by the keeper (its exit comes from the keeper, signals go through it).
    let kept: Bool
    /// Held by the keeper for an earlier agent and adopted by no pod: stopped without
    /// events, then `afterExit` runs.
    var orphaned = false
    var afterExit: (() -> Void)? = nil

    init(launch: ContainerLaunch, pid: Int32, output: ContainerOutput, cgroup: ContainerCgroup?, limits: AppliedLimits,
         startInstant: Instant, kept: Bool = false) {
        self.kept = kept
        self.id = launch.id
        self.launch = launch
        self.pid = pid
        self.output = output
        self.cgroup = cgroup
        self.limits = limits
        self.startInstant = startInstant
    }
}
