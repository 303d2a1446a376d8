import KingletCore
import KingletLoopTesting
import KingletPod
import KingletPodManager
import KingletProbes
import KingletRuntime

/// A container runtime the test scripts: it records starts and stops, and the test decides
/// when containers start and exit. Events are delivered from the loop, as the real one does.
final class FakeRuntime: ContainerRuntime {
    var delegate: (any ContainerRuntimeDelegate)? = nil
    let loop: ManualEventLoop
    private(set) var log: [String] = []
    private(set) var launches: [ContainerLaunch] = []
    private var running: Set<ContainerID> = []
    private var pid: Int32 = 100
    /// Start containers automatically (else the test calls `started`).
    var autoStart = true
    /// Exit code for a stopped container (143 = SIGTERM).
    var stopExit = ProcessExitStatus.killed(signal: 15, coreDumped: false)

    init(loop: ManualEventLoop) { self.loop = loop }

    func start(_ launch: ContainerLaunch) {
        log.append("start \(launch.containerName)")
        launches.append(launch)
        if autoStart { loop.schedule(after: .zero) { self.started(launch.id) } }
    }

    func stop(_ id: ContainerID, gracePeriod: Duration) {
        guard running.contains(id) else { return }
        log.append("stop \(id.name) grace=\(gracePeriod.nanoseconds / 1_000_000_000)s")
        loop.schedule(after: .zero) { self.exit(id, self.stopExit, stopRequested: true) }
    }

    func isRunning(_ id: ContainerID) -> Bool { running.contains(id) }

    func started(_ id: ContainerID) {
        running.insert(id)
        pid += 1
        deliver(.started(ContainerStarted(id: id, pid: pid, startedAt: 1_000, limits: AppliedLimits(mechanism: .none, memoryBytes: nil, cpuQuota: nil, note: nil))))
    }

    func exit(_ id: ContainerID, _ status: ProcessExitStatus, ranFor: Duration = .seconds(1), stopRequested: Bool = false) {
        guard running.remove(id) != nil else { return }
        log.append("exit \(id.name) \(status.exitCode)")
        deliver(.exited(ContainerExited(id: id, pid: pid, status: status, finishedAt: 2_000, ranFor: ranFor,
                                        reason: status.exitCode == 0 ? "Completed" : "Error", stopRequested: stopRequested)))
    }

    func failToStart(_ id: ContainerID, message: String) {
        deliver(.failedToStart(ContainerStartFailure(id: id, reason: "StartError", message: message)))
    }

    private func deliver(_ event: ContainerEvent) {
        delegate?.containerRuntime(self, didReport: event)
    }
}

/// An exec probe runner whose result the test sets.
final class ScriptedProbeRunner: ProbeRunning {
    let loop: ManualEventLoop
    var result = ProbeOutcome(result: .success, message: "")
    private(set) var runs = 0
    init(loop: ManualEventLoop) { self.loop = loop }
    func run(timeout: Duration, completion: @escaping (ProbeOutcome) -> Void) {
        runs += 1
        let outcome = result
        loop.schedule(after: .zero) { completion(outcome) }
    }
    func cancel() {}
}

/// A pod manager on a manual loop with a fake runtime.
final class PodManagerHarness {
    let loop = ManualEventLoop()
    let runtime: FakeRuntime
    let manager: PodManager
    let probe: ScriptedProbeRunner
    var statuses: [String: PodStatus] = [:]
    var removed: [String] = []
    var secrets: [String: String] = [:]

    init() {
        runtime = FakeRuntime(loop: loop)
        let probe = ScriptedProbeRunner(loop: loop)
        self.probe = probe
        let context = LaunchContext(nodeName: "board-1", appsFolder: "/apps", logsFolder: "/logs")
        let factory = ProbeFactory(loop: loop, hostIP: "127.0.0.1") { _, _ in probe }
        manager = PodManager(loop: loop, runtime: runtime, context: context, clock: WallClock { 1_795_564_741_000_000_000 },
                             probeFactory: factory)
        runtime.delegate = manager
        manager.onStatusChange = { pod, status in self.statuses[pod.metadata.name] = status }
        manager.onRemoved = { pod in self.removed.append(pod.metadata.name) }
    }

    func settle() { loop.advance(by: .zero) }

    func status(_ name: String) -> PodStatus { statuses[name] ?? PodStatus(phase: .unknown) }

    func container(_ pod: String, _ name: String) -> ContainerStatus? {
        let status = self.status(pod)
        return (status.initContainerStatuses + status.containerStatuses).first { $0.name == name }
    }
}

func makePod(_ name: String, containers: [String], initContainers: [String] = [], policy: RestartPolicy = .always,
             configure: (inout PodSpec) -> Void = { _ in }) -> Pod {
    var spec = PodSpec(initContainers: initContainers.map { Container(name: $0, image: "/bin/" + $0) },
                       containers: containers.map { Container(name: $0, image: "/bin/" + $0) },
                       restartPolicy: policy, terminationGracePeriodSeconds: 5)
    configure(&spec)
    return Pod(metadata: ObjectMeta(name: name, uid: "uid-" + name), spec: spec)
}
