/// KingletRuntime: runs containers as supervised child processes (the exec runtime).
///
/// The pod manager decides *what* runs and when it restarts; this target decides *how* a
/// container process lives, all on the agent's one event loop and never blocking it:
/// `ExecRuntime` spawns it (posix_spawn, own process group, clean signal state), applies
/// its resource limits (cgroup v2, else an rlimit), writes its output to CRI-format log
/// files with rotation, stops it (SIGTERM to the group, SIGKILL after the grace period) and
/// reports its lifecycle. `ChildReaper` owns SIGCHLD for the whole agent.
/// `CrashLoopBackOff` is the kubelet's restart delay, `ContainerLogReader` and
/// `ContainerLogFollower` serve `kinglet logs`.
import KingletCore

/// What the pod manager needs from a container runtime. `ExecRuntime` runs plain
/// processes; an OCI runtime (crun, runc) can implement the same calls later.
///
/// Results arrive through the delegate, on the loop, never from inside the call that caused
/// them: `start` always leads to `.started` or `.failedToStart`, a started container always
/// leads to one `.exited`.
public protocol ContainerRuntime: AnyObject {
    /// Hears every lifecycle event. Held strongly (Embedded Swift has no weak references):
    /// set it to nil to break the cycle when tearing the agent down.
    var delegate: (any ContainerRuntimeDelegate)? { get set }

    /// Starts a container. Failures are reported as `.failedToStart`.
    func start(_ launch: ContainerLaunch)

    /// Stops a running container: SIGTERM to its processes, SIGKILL after `gracePeriod`
    /// (at once when it is zero). Completion is its `.exited` event. Stopping a container
    /// that is not running does nothing.
    func stop(_ id: ContainerID, gracePeriod: Duration)

    /// Whether the container has been started and not yet reported as exited.
    func isRunning(_ id: ContainerID) -> Bool

    /// Takes over the container an earlier agent started for `launch` (held by the
    /// keeper) when it was started for the same pod spec (`launch.podSpecHash`): from here
    /// on it is this runtime's, its output goes on to its log and its exit is reported as
    /// usual (at once when it exited while no agent ran). nil when there is none to take.
    func adopt(_ launch: ContainerLaunch) -> AdoptedContainer?

    /// Stops what the keeper held and no pod adopted (their pods are gone, or changed):
    /// SIGTERM, SIGKILL after `gracePeriod`; their exits are not reported.
    func stopUnadopted(gracePeriod: Duration)
}

extension ContainerRuntime {
    public func adopt(_ launch: ContainerLaunch) -> AdoptedContainer? { nil }
    public func stopUnadopted(gracePeriod: Duration) {}
}

/// Receives a runtime's lifecycle events.
public protocol ContainerRuntimeDelegate: AnyObject {
    func containerRuntime(_ runtime: any ContainerRuntime, didReport event: ContainerEvent)
}
