import CKingletSystem
import KingletCore
import KingletPod
import KingletProbes
import KingletRuntime

/// Runs one pod: init containers one by one, then every app container; restarts by the
/// pod's restart policy with each container's CrashLoopBackOff; probes; graceful stop.
/// Calls `onChange` whenever the pod's status changed.
final class PodWorker {
    let pod: Pod
    let specHash: UInt64
    private let loop: any EventLoop
    private let runtime: any ContainerRuntime
    private let context: LaunchContext
    private let clock: WallClock
    private let onChange: (PodWorker) -> Void
    private let probeFactory: ProbeFactory
    private var initTracks: [ContainerTrack] = []
    private var appTracks: [ContainerTrack] = []
    private var nextInit = 0
    private(set) var status = PodStatus()
    private(set) var terminating = false
    private var stopGracePeriod = Duration.zero
    /// Everyone waiting for the stop (a removal and an agent shutdown may overlap).
    private var onStopped: [() -> Void] = []

    init(pod: Pod, specHash: UInt64, loop: any EventLoop, runtime: any ContainerRuntime, context: LaunchContext,
         clock: WallClock, probeFactory: ProbeFactory, onChange: @escaping (PodWorker) -> Void) {
        self.pod = pod
        self.specHash = specHash
        self.loop = loop
        self.runtime = runtime
        self.context = context
        self.clock = clock
        self.probeFactory = probeFactory
        self.onChange = onChange
        for container in pod.spec.initContainers { initTracks.append(ContainerTrack(spec: container, isInit: true)) }
        for container in pod.spec.containers { appTracks.append(ContainerTrack(spec: container, isInit: false)) }
        status.hostIP = context.hostIP
        status.podIP = context.hostIP
    }

    var uid: String { pod.metadata.uid }
    var allTracks: [ContainerTrack] { initTracks + appTracks }

    func start(cached: CachedContainerStatuses = CachedContainerStatuses()) {
        status.startTime = clock.now()
        // A failure here surfaces as each container's CreateContainerError from the runtime.
        _ = kinglet_make_folders(LaunchPlanner.podLogFolder(pod: pod, logsFolder: context.logsFolder), 0o755)
        if !adoptHeldContainers(cached) && !restoreFinished(cached) {
            // Started again from the cache: a container that ran before is a restart.
            for track in allTracks { restoreCounts(track, cached, startsAgain: true) }
            if initTracks.isEmpty { startApps() } else { launch(initTracks[0]) }
        }
        publish()
    }

    // MARK: adoption

    /// Takes over the containers an earlier agent left running for this pod (same spec),
    /// as the kubelet finds its containers again after a restart: they keep their pid,
    /// restart count and last state. The pod then goes on from where it was: init
    /// containers before the adopted one count as done; a container not adopted starts
    /// unless its cached state says it ended for good. False when nothing was adopted
    /// (the pod starts afresh).
    private func adoptHeldContainers(_ cached: CachedContainerStatuses) -> Bool {
        var adoptedInit: Int? = nil
        var adoptedApps = false
        for (index, track) in initTracks.enumerated() where adopt(track, cached) {
            adoptedInit = index
            break
        }
        if adoptedInit == nil {
            for track in appTracks where adopt(track, cached) { adoptedApps = true }
        }
        guard adoptedInit != nil || adoptedApps else { return false }
        let doneInits = adoptedInit ?? initTracks.count
        nextInit = doneInits
        for track in initTracks[0..<doneInits] {
            restoreCounts(track, cached)
            if let state = cached[name: track.id]?.state, case .terminated = state {
                track.status.state = state
            } else {
                let now = clock.now()
                track.status.state = .terminated(exitCode: 0, signal: 0, reason: "Completed", message: "", startedAt: now, finishedAt: now)
            }
            track.refreshFlags()
        }
        guard adoptedInit == nil else { return true }
        for track in appTracks where !track.running {
            if let ended = endedForGood(track, cached) {
                restoreCounts(track, cached)
                track.status.state = ended
                track.refreshFlags()
                continue
            }
            restoreCounts(track, cached, startsAgain: true)
            launch(track)
        }
        return true
    }

    /// A pod whose every container had ended for good (by its restart policy) before the
    /// agent stopped stays as it ended: running it again would run a finished job twice.
    private func restoreFinished(_ cached: CachedContainerStatuses) -> Bool {
        guard context.containersOutliveAgent, !appTracks.isEmpty else { return false }
        for track in appTracks where endedForGood(track, cached) == nil { return false }
        nextInit = initTracks.count
        for track in allTracks {
            restoreCounts(track, cached)
            if let state = cached[name: track.id]?.state { track.status.state = state }
            track.refreshFlags()
        }
        return true
    }

    /// The container's cached state when it had ended for good by the pod's restart policy
    /// (Never, or OnFailure after exit 0) before the agent stopped: it does not run again.
    private func endedForGood(_ track: ContainerTrack, _ cached: CachedContainerStatuses) -> ContainerState? {
        guard let state = cached[name: track.id]?.state, case .terminated(let code, _, _, _, _, _) = state,
              pod.spec.restartPolicy == .never || (pod.spec.restartPolicy == .onFailure && code == 0) else { return nil }
        return state
    }

    private func adopt(_ track: ContainerTrack, _ cached: CachedContainerStatuses) -> Bool {
        guard let launch = plannedLaunch(track), let adopted = runtime.adopt(launch) else { return false }
        restoreCounts(track, cached)
        track.running = true
        track.launching = false
        let ranFor = max(0, clock.now() - adopted.startedAt)
        track.startedAt = Instant(nanoseconds: loop.now.nanoseconds - ranFor)
        track.status.state = .running(startedAt: adopted.startedAt)
        track.status.containerID = "exec://" + String(adopted.pid)
        track.status.appliedLimits = adopted.limits
        if !track.isInit { startProbes(track) }
        track.refreshFlags()
        return true
    }

    /// The cached restart count and last state; one restart more when the container ran
    /// before and `startsAgain` (a new process replaces it, as the kubelet counts).
    private func restoreCounts(_ track: ContainerTrack, _ cached: CachedContainerStatuses, startsAgain: Bool = false) {
        guard let entry = cached[name: track.id] else { return }
        track.status.restartCount = entry.restartCount
        if let last = entry.lastState { track.status.lastState = last }
        guard startsAgain else { return }
        switch entry.state {
        case .running?:
            track.status.restartCount += 1
        case .terminated?:
            if let ended = entry.state { track.status.lastState = ended }
            track.status.restartCount += 1
        default:
            // Waiting (in back-off): it ran before when it has a last state.
            if entry.lastState != nil { track.status.restartCount += 1 }
        }
    }

    /// The launch `launch(track)` would hand the runtime now, without starting anything;
    /// nil when the container could not start yet (its image is not there).
    private func plannedLaunch(_ track: ContainerTrack) -> ContainerLaunch? {
        var prepared: PreparedImage? = nil
        if let images = context.images, LaunchPlanner.isRegistryImage(track.spec.image) {
            guard case .ready(let image) = images.prepare(image: track.spec.image, pullPolicy: "Never", podUID: uid) else { return nil }
            prepared = image
        }
        do throws(LaunchError) {
            return try plan(track, image: prepared)
        } catch {
            return nil
        }
    }

    /// The container's launch, marked with what a later agent needs to adopt it.
    private func plan(_ track: ContainerTrack, image: PreparedImage?) throws(LaunchError) -> ContainerLaunch {
        var launch: ContainerLaunch
        if let image {
            launch = try LaunchPlanner.plan(pod: pod, container: track.spec, context: context, image: image)
        } else {
            launch = try LaunchPlanner.plan(pod: pod, container: track.spec, context: context)
        }
        launch.podSpecHash = specHash
        launch.gracePeriodSeconds = pod.spec.terminationGracePeriodSeconds
        return launch
    }

    /// Stops every container (SIGTERM, then SIGKILL after the grace period) and calls
    /// `completion` once all have exited. No container restarts after this.
    func stop(gracePeriod: Duration, completion: @escaping () -> Void) {
        terminating = true
        stopGracePeriod = gracePeriod
        onStopped.append(completion)
        for track in allTracks {
            track.cancelRestart(on: loop)
            track.stopProbes()
            // A container still launching is stopped when its `.started` arrives.
            if track.running { runtime.stop(ContainerID(podUID: uid, name: track.id), gracePeriod: gracePeriod) }
        }
        finishStopIfIdle()
        publish()
    }

    // MARK: runtime events

    func handle(_ event: ContainerEvent) {
        guard let track = track(named: event.id.name) else { return }
        switch event {
        case .started(let started):
            track.running = true
            track.launching = false
            track.startedAt = loop.now
            track.status.state = .running(startedAt: started.startedAt)
            track.status.containerID = "exec://" + String(started.pid)
            track.status.appliedLimits = started.limits.description
            if terminating {
                runtime.stop(event.id, gracePeriod: stopGracePeriod)
            } else if !track.isInit {
                startProbes(track)
            }
            track.refreshFlags()
        case .failedToStart(let failure):
            track.running = false
            track.launching = false
            let now = clock.now()
            finished(track, state: .terminated(exitCode: 128, signal: 0, reason: failure.reason, message: failure.message,
                                               startedAt: now, finishedAt: now),
                     succeeded: false, ranFor: .zero)
        case .exited(let exited):
            track.running = false
            track.stopProbes()
            var signal: Int32 = 0
            if case .killed(let number, _) = exited.status { signal = number }
            let startedAt: Int64
            if case .running(let at) = track.status.state { startedAt = at } else { startedAt = exited.finishedAt }
            let code = exited.status.exitCode
            // A container killed for a failed probe has failed, whatever its exit code
            // (kubelet: it restarts under OnFailure too).
            let killedByProbe = track.killReason != nil
            let message = track.killReason ?? ""
            track.killReason = nil
            finished(track, state: .terminated(exitCode: code, signal: signal, reason: exited.reason, message: message,
                                               startedAt: startedAt, finishedAt: exited.finishedAt),
                     succeeded: code == 0 && !killedByProbe, ranFor: exited.ranFor)
        }
        if terminating { finishStopIfIdle() }
        publish()
    }

    // MARK: lifecycle

    private func startApps() {
        for track in appTracks { launch(track) }
    }

    private func launch(_ track: ContainerTrack) {
        track.stopProbes()
        track.waitingForImage = false
        var prepared: PreparedImage? = nil
        if let images = context.images, LaunchPlanner.isRegistryImage(track.spec.image) {
            switch images.prepare(image: track.spec.image, pullPolicy: track.spec.imagePullPolicy, podUID: uid) {
            case .ready(let image):
                prepared = image
            case .pulling:
                track.status.state = .waiting(reason: "ContainerCreating", message: "")
                track.waitingForImage = true
                return
            case .waiting(let reason, let message):
                track.status.state = .waiting(reason: reason, message: message)
                track.waitingForImage = true
                return
            }
        }
        do throws(LaunchError) {
            let launch = try plan(track, image: prepared)
            track.status.state = .waiting(reason: "ContainerCreating", message: "")
            track.launching = true
            runtime.start(launch)
        } catch {
            // Like the kubelet: the container waits with CreateContainerConfigError and is
            // retried with back-off (a ConfigMap or Secret may arrive later).
            track.status.state = .waiting(reason: "CreateContainerConfigError", message: error.message)
            // Not a restart: the container was never created (kubelet counts none).
            scheduleRestart(track, delay: track.backOff.delay(afterRunningFor: .zero), reason: nil, countsAsRestart: false)
        }
    }

    /// The node's images changed: containers waiting for theirs ask again.
    func imagesChanged() {
        guard !terminating else { return }
        var asked = false
        for track in initTracks + appTracks where track.waitingForImage {
            launch(track)
            asked = true
        }
        if asked { publish() }
    }

    /// A container ended (or never started): record it, then restart it, move on to the
    /// next init container, or leave it terminated, by the restart policy.
    private func finished(_ track: ContainerTrack, state: ContainerState, succeeded: Bool, ranFor: Duration) {
        let policy = pod.spec.restartPolicy
        if terminating {
            track.status.state = state
            track.refreshFlags()
            return
        }
        if track.isInit && succeeded {
            track.status.state = state
            nextInit += 1
            if nextInit < initTracks.count { launch(initTracks[nextInit]) } else { startApps() }
            track.refreshFlags()
            return
        }
        // Init containers restart on failure unless the policy is Never (kubelet rule).
        let restart = track.isInit ? (policy != .never) : (policy == .always || (policy == .onFailure && !succeeded))
        guard restart else {
            track.status.state = state
            track.refreshFlags()
            return
        }
        track.status.lastState = state
        let delay = track.backOff.delay(afterRunningFor: ranFor)
        scheduleRestart(track, delay: delay, reason: "CrashLoopBackOff")
        track.refreshFlags()
    }

    private func scheduleRestart(_ track: ContainerTrack, delay: Duration, reason: String?, countsAsRestart: Bool = true) {
        if let reason {
            let seconds = delay.nanoseconds / 1_000_000_000
            track.status.state = .waiting(reason: reason, message: "back-off \(PodWorker.durationText(seconds)) restarting failed container=\(track.id) pod=\(pod.metadata.name)_\(pod.metadata.namespace)(\(uid))")
        }
        track.cancelRestart(on: loop)
        track.restartTimer = loop.schedule(after: delay) {
            track.restartTimer = nil
            if self.terminating { return }
            if countsAsRestart { track.status.restartCount += 1 }
            self.launch(track)
            self.publish()
        }
    }

    /// "10s", "1m20s", "5m0s": how the kubelet prints a back-off.
    static func durationText(_ seconds: Int64) -> String {
        seconds < 60 ? "\(seconds)s" : "\(seconds / 60)m\(seconds % 60)s"
    }

    // MARK: probes

    private func startProbes(_ track: ContainerTrack) {
        track.startupPassed = track.spec.startupProbe == nil ? nil : false
        track.readinessPassed = track.spec.readinessProbe == nil ? nil : false
        if let probe = track.spec.startupProbe {
            startProbe(.startup, probe, track)
        } else {
            startSteadyProbes(track)
        }
    }

    /// Liveness and readiness run once the startup probe (if any) has succeeded.
    private func startSteadyProbes(_ track: ContainerTrack) {
        if let probe = track.spec.livenessProbe { startProbe(.liveness, probe, track) }
        if let probe = track.spec.readinessProbe { startProbe(.readiness, probe, track) }
    }

    private func startProbe(_ kind: ProbeKind, _ probe: Probe, _ track: ContainerTrack) {
        let id = ContainerID(podUID: uid, name: track.id)
        let worker = probeFactory.worker(kind: kind, probe: probe, container: track.spec, id: id,
                                         containerStartedAt: track.startedAt) { report in
            self.probeReported(track, report)
        }
        track.probes.append(worker)
        worker.start()
    }

    private func probeReported(_ track: ContainerTrack, _ report: ProbeReport) {
        guard report.changed, track.running, !terminating else { return }
        let id = ContainerID(podUID: uid, name: track.id)
        switch (report.kind, report.verdict) {
        case (.startup, .success):
            track.startupPassed = true
            startSteadyProbes(track)
        case (.startup, .failure), (.liveness, .failure):
            let kind = report.kind == .startup ? "startup" : "liveness"
            track.killReason = "Container \(track.id) failed \(kind) probe, will be restarted: \(report.outcome.message)"
            for worker in track.probes { worker.stop() }
            track.probes = []
            runtime.stop(id, gracePeriod: Duration.seconds(pod.spec.terminationGracePeriodSeconds))
        case (.readiness, .success):
            track.readinessPassed = true
        case (.readiness, .failure):
            track.readinessPassed = false
        default:
            break
        }
        track.refreshFlags()
        publish()
    }

    // MARK: status

    private func track(named name: String) -> ContainerTrack? {
        for track in initTracks where track.id == name { return track }
        for track in appTracks where track.id == name { return track }
        return nil
    }

    private func finishStopIfIdle() {
        guard terminating, !onStopped.isEmpty else { return }
        for track in allTracks where track.busy { return }
        let completions = onStopped
        onStopped = []
        // Reported from the loop, never from inside stop().
        loop.schedule(after: .zero) { for completion in completions { completion() } }
    }

    func publish() {
        var initStatuses: [ContainerStatus] = []
        for track in initTracks { track.refreshFlags(); initStatuses.append(track.status) }
        var appStatuses: [ContainerStatus] = []
        var notReady: [String] = []
        for track in appTracks {
            track.refreshFlags()
            appStatuses.append(track.status)
            if !track.status.ready { notReady.append(track.id) }
        }
        let phase = PodPhaseRules.phase(restartPolicy: pod.spec.restartPolicy, initStatuses: initStatuses,
                                        initCount: initTracks.count, statuses: appStatuses, containerCount: appTracks.count)
        let initDone = nextInit >= initTracks.count
        var updated = status
        updated.phase = phase
        updated.initContainerStatuses = initStatuses
        updated.containerStatuses = appStatuses
        updated.conditions = PodPhaseRules.conditions(initDone: initDone, containersReady: notReady.isEmpty,
                                                      notReadyNames: notReady, phase: phase, now: clock.now(),
                                                      previous: status.conditions)
        if updated != status {
            status = updated
            onChange(self)
        }
    }
}

/// Wall-clock nanoseconds since the Unix epoch, injectable for tests.
public struct WallClock {
    public let now: () -> Int64
    public init(now: @escaping () -> Int64) { self.now = now }
}
