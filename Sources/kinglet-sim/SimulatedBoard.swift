import KingletCore
import KingletLink
import KingletPod

/// One simulated board: the agent's own `CloudLink` with the agent's side played by a
/// table. Every pod the reconciler starts is reported Running (after `podStartDelay`)
/// without starting a process; every pod it stops is reported removed.
final class SimulatedBoard {
    let name: String
    let link: CloudLink
    private let loop: any EventLoop
    private let podStartDelay: Duration
    private let address: String
    private let wallClock: () -> Int64
    private let nodeStatusPayload: [UInt8]

    /// What the board "runs": uid -> the message it started from.
    private var running: [String: DesiredPodMessage] = [:]
    /// Stands in for the agent's cache: the last message started per uid, kept while the
    /// index lists it, so `startCached` works as on a board.
    private var cached: [String: DesiredPodMessage] = [:]
    /// Running reports not sent yet (with --pod-start-ms).
    private var startTimers: [String: TimerHandle] = [:]
    private var containerSerial = 0

    private(set) var podsStarted = 0
    private(set) var podsRemoved = 0
    var podsRunning: Int { running.count }

    init(index: Int, name: String, loop: any EventLoop, settings: LinkSettings, podStartDelay: Duration,
         nodeStatus: SimulatedNodeStatus, wallClock: @escaping () -> Int64, seed: UInt64) {
        self.name = name
        self.loop = loop
        self.podStartDelay = podStartDelay
        self.wallClock = wallClock
        address = SimulatedNodeStatus.address(index: index)
        nodeStatusPayload = nodeStatus.payload(nodeName: name, address: address)
        link = CloudLink(loop: loop, settings: settings, wallClock: wallClock, seed: seed)
        link.runningPods = { [unowned self] in self.running.mapValues { $0.specHash } }
        link.cachedHash = { [unowned self] uid in self.cached[uid]?.specHash }
        link.apply = { [unowned self] plan in self.apply(plan) }
        link.nodeStatus = { [unowned self] in self.nodeStatusPayload }
    }

    /// docs/protocol.md rules 2-4, as the agent applies them, minus the processes.
    private func apply(_ plan: RelayPlan) {
        for entry in plan.entries {
            switch entry {
            case .keep:
                break
            case .start(let message):
                start(message)
            case .startCached(let uid, let specHash):
                if let message = cached[uid], message.specHash == specHash { start(message) }
            }
        }
        for stop in plan.stops {
            guard let message = running.removeValue(forKey: stop.uid) else { continue }
            if let timer = startTimers.removeValue(forKey: stop.uid) { loop.cancel(timer) }
            cached[stop.uid] = nil
            podsRemoved += 1
            link.podRemoved(uid: stop.uid, namespace: message.pod.metadata.namespace, name: message.pod.metadata.name)
        }
    }

    private func start(_ message: DesiredPodMessage) {
        cached[message.uid] = message
        running[message.uid] = message
        podsStarted += 1
        if let timer = startTimers.removeValue(forKey: message.uid) { loop.cancel(timer) }
        if podStartDelay == .zero {
            reportRunning(message)
            return
        }
        startTimers[message.uid] = loop.schedule(after: podStartDelay) { [unowned self] in
            self.startTimers[message.uid] = nil
            // Only the incarnation still running is reported.
            if let current = self.running[message.uid], current.specHash == message.specHash { self.reportRunning(current) }
        }
    }

    private func reportRunning(_ message: DesiredPodMessage) {
        let now = wallClock()
        containerSerial += 1
        let serial = containerSerial
        let conditions = ["PodScheduled", "Initialized", "ContainersReady", "Ready"].map {
            PodCondition(type: $0, isTrue: true, lastTransitionTime: now)
        }
        let initStatuses = message.pod.spec.initContainers.map {
            ContainerStatus(name: $0.name, image: $0.image, containerID: "kinglet-sim://\(name)/\(serial)",
                            state: .terminated(exitCode: 0, signal: 0, reason: "Completed", message: "", startedAt: now, finishedAt: now),
                            ready: true, started: false)
        }
        let statuses = message.pod.spec.containers.map {
            ContainerStatus(name: $0.name, image: $0.image, containerID: "kinglet-sim://\(name)/\(serial)",
                            state: .running(startedAt: now), ready: true, started: true)
        }
        let status = PodStatus(phase: .running, conditions: conditions, initContainerStatuses: initStatuses,
                               containerStatuses: statuses, startTime: now, hostIP: address, podIP: address)
        link.podStatusChanged(uid: message.uid, namespace: message.pod.metadata.namespace, name: message.pod.metadata.name,
                              specHash: message.specHash, status: status)
    }

    func close() {
        for timer in startTimers.values { loop.cancel(timer) }
        startTimers = [:]
        link.close()
    }
}
