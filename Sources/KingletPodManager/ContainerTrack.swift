import KingletCore
import KingletPod
import KingletProbes
import KingletRuntime

/// One container of a pod worker: its spec, its reported status, and what drives it
/// (back-off, restart timer, probe workers).
final class ContainerTrack {
    let spec: Container
    let isInit: Bool
    var status: ContainerStatus
    var backOff = CrashLoopBackOff()
    var restartTimer: TimerHandle? = nil
    var probes: [ProbeWorker] = []
    var running = false
    /// Handed to the runtime, whose `.started` or `.failedToStart` has not come yet.
    var launching = false
    /// Waiting for its image (pulling, or a pull failed): asked again on `imagesChanged`.
    var waitingForImage = false
    /// When the current run started, on the loop's clock (probe delays count from it).
    var startedAt = Instant(nanoseconds: 0)
    /// Set while a probe-failure kill is in flight, for the restart message.
    var killReason: String? = nil
    /// Verdicts of the startup and readiness probes (nil: no such probe).
    var startupPassed: Bool? = nil
    var readinessPassed: Bool? = nil

    init(spec: Container, isInit: Bool) {
        self.spec = spec
        self.isInit = isInit
        status = ContainerStatus(name: spec.name, image: spec.image,
                                 state: .waiting(reason: isInit ? "PodInitializing" : "ContainerCreating", message: ""))
    }

    var id: String { spec.name }

    /// Running or about to: a stopping pod must wait for it.
    var busy: Bool { running || launching }

    /// Started: running and past its startup probe (kubelet's `started`).
    func refreshFlags() {
        let running = status.state.isRunning
        status.started = running && (startupPassed ?? true)
        status.ready = status.started && !isInit && (readinessPassed ?? true)
    }

    func stopProbes() {
        for probe in probes { probe.stop() }
        probes = []
        startupPassed = spec.startupProbe == nil ? nil : false
        readinessPassed = spec.readinessProbe == nil ? nil : false
    }

    func cancelRestart(on loop: any EventLoop) {
        if let timer = restartTimer { loop.cancel(timer) }
        restartTimer = nil
    }
}
