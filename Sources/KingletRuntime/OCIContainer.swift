import CKingletSystem
import KingletCore

/// How a container's root file system was made.
public enum OCIRootMode: Equatable, Sendable {
    /// overlayfs: the image read-only below, the container's writes in its bundle.
    case overlay
    /// A copy of the image in the bundle (the kernel would not mount overlayfs here).
    case copy
}

/// One OCI container, from `start` until its exit is reported: its bundle, the runtime's
/// invocations for it, and its init process.
final class OCIContainer {
    enum Phase {
        /// The previous run's bundle (same pod and name) is still being removed.
        case waiting
        /// Log file, pipes, bundle folder and root file system.
        case preparing
        /// `runc create` is running.
        case creating
        /// `runc start` is running; the init process exists.
        case starting
        case running
        case exited
    }

    let id: ContainerID
    let launch: ContainerLaunch
    let options: OCILaunchOptions
    /// The runtime's container id.
    let name: String
    let bundle: String
    var phase: Phase = .waiting

    var logFile: RotatingLogFile? = nil
    var pipes: OutputPipes? = nil
    /// The write ends are still open in the agent (until `runc create` has them).
    var childEndsOpen = false
    /// The read ends belong to `output` once it exists.
    var output: ContainerOutput? = nil
    var devices: [OCIDeviceNode] = []
    var rootMode: OCIRootMode? = nil
    /// `runc create` was run: the runtime may hold state for it.
    var created = false
    var createPid: Int32 = 0
    var createTimedOut = false
    var timer: TimerHandle? = nil
    /// The container's init process (a child of the agent once `runc create` has exited).
    var initPid: Int32 = 0
    var limits = AppliedLimits(mechanism: .none, memoryBytes: nil, cpuQuota: nil, note: nil)
    /// The folder holding memory.events (v2) or memory.oom_control (v1).
    var memoryCgroup: String? = nil
    var cgroupV2 = false

    /// When the init was created (`ranFor` counts from here) and the same on the wall clock.
    var startInstant: Instant
    var startedAt: Int64 = 0
    var stopRequested = false
    /// A stop that came before the container was running: when its SIGKILL is due.
    var pendingStopDeadline: Instant? = nil
    var killDeadline: Instant? = nil
    var killTimer: TimerHandle? = nil

    /// The init's exit, kept when it came before `runc start` answered.
    var earlyExit: ChildExit? = nil
    var exitInstant: Instant? = nil
    var finishedAt: Int64 = 0
    var oomKilled = false
    /// Set when the container must be reported as failing to start, even though its init
    /// ran (runc start failed, its output could not be watched).
    var startFailure: ContainerStartFailure? = nil
    /// When the keeper saw the init exit (it may have been while no agent ran).
    var keptFinishedAt: Int64? = nil
    /// Held by the keeper for an earlier agent and adopted by no pod: stopped and removed
    /// without events.
    var orphaned = false

    init(launch: ContainerLaunch, options: OCILaunchOptions, name: String, bundle: String, now: Instant) {
        id = launch.id
        self.launch = launch
        self.options = options
        self.name = name
        self.bundle = bundle
        startInstant = now
    }

    var rootfs: String { bundle + "/rootfs" }
    var pidFile: String { bundle + "/init.pid" }

    /// Closes what the agent still holds of the pipes: the write ends until `runc create`
    /// has them, the read ends until `output` owns them.
    func closePipes() {
        guard let pipes else { return }
        if childEndsOpen { pipes.closeChildEnds() }
        childEndsOpen = false
        if output == nil {
            _ = close(pipes.stdoutRead)
            _ = close(pipes.stderrRead)
        }
        self.pipes = nil
    }
}

/// What the runtime did with root file systems and bundles, for status and logs.
public struct OCIRuntimeStatistics: Equatable, Sendable {
    /// Containers whose root is an overlayfs mount.
    public var overlayRoots = 0
    /// Containers whose root is a copy of the image.
    public var copiedRoots = 0
    /// Why the last overlayfs mount failed (and the root was copied instead).
    public var lastOverlayFailure: String? = nil
    /// Bundles that could not be removed entirely (runc delete, unmount or removal failed).
    public var cleanupFailures = 0
    public var lastCleanupFailure: String? = nil

    public init() {}
}
