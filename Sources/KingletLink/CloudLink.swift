/// KingletLink: the agent's cloud link (docs/protocol.md). libmosquitto on the agent's
/// loop (`MQTTSession`), the node's topic tree, the desired-state rules
/// (`DesiredStateReconciler`), and the status that goes up (`StatusOutbox`, node status,
/// heartbeats). The agent supplies what only it knows through closures: the relay pods
/// it runs, the cache's spec hashes, how to apply a plan, and the node status payload.
import KingletCore
import KingletDevices
import KingletDocument
import KingletPod

/// A line for the agent's log.
public enum LinkLogLevel {
    case info
    case warning
}

/// What `kinglet status` shows about the link.
public struct LinkReport {
    public var broker: String
    public var state: SessionState
    /// Wall-clock nanoseconds of the last change between connected and not.
    public var sinceNanoseconds: Int64
    public var lastError: String
    public var connections: Int
    public var pendingStatuses: Int
    public var skippedPayloads: [PayloadProblem: Int]
    public var waitingForPods: Int
}

public final class CloudLink {
    public static let heartbeatInterval = Duration.seconds(10)
    public static let nodeCheckInterval = Duration.seconds(10)
    public static let nodeReportInterval = Duration.seconds(300)

    public let settings: LinkSettings
    public let topics: LinkTopics
    public let reconciler = DesiredStateReconciler()
    public let devices = DesiredDevices()
    public private(set) var rejections = PayloadRejections()
    private let loop: any EventLoop
    private let session: MQTTSession
    private let wallClock: () -> Int64
    private var outbox = StatusOutbox()
    private var writer = JSONWriter(capacity: 4096)
    private var flushTimer: TimerHandle? = nil
    private var replanTimer: TimerHandle? = nil
    private var heartbeatTimer: TimerHandle? = nil
    private var nodeTimer: TimerHandle? = nil
    private var lastNodePayload: [UInt8] = []
    private var lastNodeSent = Instant(nanoseconds: 0)
    private var sinceNanoseconds: Int64
    private var lastLoggedError = ""
    private var waitingCount = 0
    /// Pods being deleted already reported `removed` (kept while `deleting` lists them).
    private var reportedRemoved: Set<String> = []

    // The agent's side.
    /// uid -> spec hash of the relay pods the node runs (or is starting).
    public var runningPods: () -> [String: UInt64] = { [:] }
    /// The spec hash of the cached record of a uid.
    public var cachedHash: (String) -> UInt64? = { _ in nil }
    /// Makes the plan real: cache first, then start; stops with their grace periods.
    public var apply: (RelayPlan) -> Void = { _ in }
    /// Whether the node still has a relay pod, running or still stopping (nil: `runningPods`
    /// says it all). A pod being deleted that it does not have is reported `removed`.
    public var holdsPod: ((String) -> Bool)? = nil
    /// The `status/node` payload as it is now.
    public var nodeStatus: () -> [UInt8] = { [] }
    /// The relay device the node drives now (or has cached) with `uid`.
    public var currentDevice: (String) -> DeviceSpec? = { _ in nil }
    /// Makes the relay's device set real (the agent caches, opens and closes devices).
    public var applyDevices: ([String: DeviceSpec]) -> Void = { _ in }
    /// Writes the `status/devices/<uid>` payload; false when the device is gone.
    public var deviceStatus: (String, inout JSONWriter) -> Bool = { _, _ in false }
    private var unsentDeviceStatuses = Set<String>()
    private var deviceFlushTimer: TimerHandle? = nil
    /// Device statuses go up at most this often each (docs/protocol.md).
    public static let deviceStatusInterval = Duration.seconds(1)
    public var log: (LinkLogLevel, String) -> Void = { _, _ in }

    public init(loop: any EventLoop, settings: LinkSettings, wallClock: @escaping () -> Int64, seed: UInt64) {
        self.loop = loop
        self.settings = settings
        self.wallClock = wallClock
        topics = LinkTopics(nodeName: settings.nodeName)
        session = MQTTSession(loop: loop, settings: settings, seed: seed)
        sinceNanoseconds = wallClock()
    }

    /// Connects (and keeps reconnecting). Fails only when the link cannot be set up at all.
    public func start() -> LinkSetupError? {
        session.onConnected = { [self] in self.connected() }
        session.onDisconnected = { [self] reason in self.disconnected(reason) }
        session.onMessage = { [self] message in self.received(message.topicText, message.payload, message.size) }
        log(.info, "cloud link: connecting to \(settings.brokerURL) as \(settings.clientID)")
        return session.start(willTopic: topics.online, willPayload: LinkPayloads.offline)
    }

    public var isConnected: Bool { session.state == .connected }

    public var report: LinkReport {
        LinkReport(broker: settings.brokerURL, state: session.state, sinceNanoseconds: sinceNanoseconds,
                   lastError: session.lastError, connections: session.connections, pendingStatuses: outbox.count,
                   skippedPayloads: rejections.counts, waitingForPods: waitingCount)
    }

    // MARK: status up

    /// A relay pod's status changed: sent at the end of this loop turn (the latest only),
    /// or on reconnect.
    public func podStatusChanged(uid: String, namespace: String, name: String, specHash: UInt64, status: PodStatus) {
        outbox.put(uid, .status(namespace: namespace, name: name, specHash: specHash, status: status))
        scheduleFlush()
    }

    /// A relay pod stopped because the index dropped it.
    public func podRemoved(uid: String, namespace: String, name: String) {
        reportedRemoved.insert(uid)
        outbox.put(uid, .removed(namespace: namespace, name: name))
        scheduleFlush()
    }

    /// Clean stop: `online:false` and DISCONNECT; the loop flushes them.
    public func stop() {
        cancelTimers()
        if session.state == .connected {
            session.publish(topics.online, LinkPayloads.offline, qos: 1, retain: true)
        }
        session.stop()
    }

    /// Frees libmosquitto and drops the agent's closures (which refer back to it).
    public func close() {
        cancelTimers()
        session.close()
        runningPods = { [:] }
        cachedHash = { _ in nil }
        holdsPod = nil
        apply = { _ in }
        nodeStatus = { [] }
        currentDevice = { _ in nil }
        applyDevices = { _ in }
        deviceStatus = { _, _ in false }
        log = { _, _ in }
    }

    private func scheduleFlush() {
        guard flushTimer == nil, session.state == .connected else { return }
        flushTimer = loop.schedule(after: .zero) { [self] in
            self.flushTimer = nil
            self.flush()
        }
    }

    private func flush() {
        outbox.flush { uid, report in
            LinkPayloads.pod(uid: uid, report: report, into: &writer)
            return session.publish(topics.podStatus(uid), writer.bytes, qos: 1, retain: true)
        }
    }

    // MARK: connection

    private func connected() {
        sinceNanoseconds = wallClock()
        lastLoggedError = ""
        log(.info, "cloud link: connected to \(settings.brokerURL)")
        reconciler.connectionStarted()
        session.subscribe(topics.desiredFilter, qos: 1)
        LinkPayloads.online(since: sinceNanoseconds, agentVersion: settings.agentVersion, into: &writer)
        session.publish(topics.online, writer.bytes, qos: 1, retain: true)
        sendNodeStatus(force: true)
        heartbeat()
        flush()
        scheduleDeviceFlush(after: .zero)
        scheduleNodeCheck()
    }

    private func disconnected(_ reason: String) {
        cancelTimers()
        if session.connectedAt == nil && reason == lastLoggedError { return }
        if lastLoggedError.isEmpty { sinceNanoseconds = wallClock() }
        lastLoggedError = reason
        log(.warning, "cloud link: \(settings.brokerURL): \(reason); pods keep running, retrying")
    }

    private func heartbeat() {
        guard session.state == .connected else { return }
        LinkPayloads.heartbeat(time: wallClock(), into: &writer)
        session.publish(topics.heartbeat, writer.bytes, qos: 0, retain: false)
        heartbeatTimer = loop.schedule(after: CloudLink.heartbeatInterval) { [self] in self.heartbeat() }
    }

    private func scheduleNodeCheck() {
        nodeTimer = loop.schedule(after: CloudLink.nodeCheckInterval) { [self] in
            self.sendNodeStatus(force: false)
            self.scheduleNodeCheck()
        }
    }

    /// Sends `status/node` when it changed, or when the last one is 5 minutes old.
    private func sendNodeStatus(force: Bool) {
        guard session.state == .connected else { return }
        let payload = nodeStatus()
        if payload.isEmpty { return }
        let due = loop.now.since(lastNodeSent) >= CloudLink.nodeReportInterval
        guard force || due || payload != lastNodePayload else { return }
        if session.publish(topics.node, payload, qos: 1, retain: true) {
            lastNodePayload = payload
            lastNodeSent = loop.now
        }
    }

    private func cancelTimers() {
        for timer in [flushTimer, heartbeatTimer, nodeTimer, deviceFlushTimer] { if let timer { loop.cancel(timer) } }
        flushTimer = nil
        deviceFlushTimer = nil
        heartbeatTimer = nil
        nodeTimer = nil
    }

    // MARK: desired state down

    private func received(_ topic: String, _ payload: [UInt8], _ size: Int) {
        if size > DesiredMessages.maxPayloadBytes {
            reject(PayloadRejection(.tooLarge, "\(size) bytes is above the limit of \(DesiredMessages.maxPayloadBytes)"), topic)
            return
        }
        if topic == topics.desiredIndex {
            if payload.isEmpty {
                reject(PayloadRejection(.notJSON, "empty index"), topic)
                return
            }
            switch DesiredMessages.index(payload) {
            case .success(let index):
                reconciler.received(index)
                scheduleReplan()
            case .failure(let rejection):
                reject(rejection, topic)
            }
            return
        }
        if topic.hasPrefix(topics.desiredDevicePrefix) {
            receivedDevice(topic, payload)
            return
        }
        guard topic.hasPrefix(topics.desiredPodPrefix) else {
            reject(PayloadRejection(.unknownTopic, "not a topic of this protocol version"), topic)
            return
        }
        let uid = String(topic.utf8.dropFirst(topics.desiredPodPrefix.utf8.count))!
        if let problem = DesiredMessages.uidProblem(uid) {
            reject(PayloadRejection(.unknownTopic, problem), topic)
            return
        }
        if payload.isEmpty {
            reconciler.cleared(uid: uid)
            return
        }
        switch DesiredMessages.pod(payload, topicUID: uid) {
        case .success(let message):
            reconciler.received(message)
            scheduleReplan()
        case .failure(let rejection):
            reject(rejection, topic)
        }
    }

    private func receivedDevice(_ topic: String, _ payload: [UInt8]) {
        let uid = String(topic.utf8.dropFirst(topics.desiredDevicePrefix.utf8.count))!
        if let problem = DesiredMessages.uidProblem(uid) {
            reject(PayloadRejection(.unknownTopic, problem), topic)
            return
        }
        if payload.isEmpty {
            devices.cleared(uid: uid)
            return
        }
        switch DesiredMessages.device(payload, topicUID: uid) {
        case .success(let spec):
            devices.received(spec)
            scheduleReplan()
        case .failure(let rejection):
            reject(rejection, topic)
        }
    }

    // MARK: device status up

    /// A relay device's twin or state changed: its status goes up within a second (the
    /// latest only), or on reconnect.
    public func deviceStatusChanged(uid: String) {
        unsentDeviceStatuses.insert(uid)
        scheduleDeviceFlush(after: CloudLink.deviceStatusInterval)
    }

    private func scheduleDeviceFlush(after delay: Duration) {
        guard deviceFlushTimer == nil, session.state == .connected, !unsentDeviceStatuses.isEmpty else { return }
        deviceFlushTimer = loop.schedule(after: delay) { [self] in
            self.deviceFlushTimer = nil
            self.flushDeviceStatuses()
        }
    }

    private func flushDeviceStatuses() {
        guard session.state == .connected else { return }
        for uid in unsentDeviceStatuses {
            writer.reset()
            guard deviceStatus(uid, &writer) else { continue }
            if !session.publish(topics.deviceStatus(uid), writer.bytes, qos: 1, retain: true) { return }
        }
        unsentDeviceStatuses.removeAll(keepingCapacity: true)
    }

    private func reject(_ rejection: PayloadRejection, _ topic: String) {
        if rejections.record(rejection, topic: topic) {
            log(.warning, "cloud link: skipped a payload on \(topic): \(rejection.description) (further ones of this kind on this topic are only counted)")
        }
    }

    /// Plans at the end of the loop turn, so a burst of messages is one plan.
    private func scheduleReplan() {
        guard replanTimer == nil else { return }
        replanTimer = loop.schedule(after: .zero) { [self] in
            self.replanTimer = nil
            self.replan()
        }
    }

    /// Plans again now (the agent calls this when its own pods changed, e.g. after a reload).
    public func replan() {
        if reconciler.indexSeenThisConnection, let index = reconciler.index {
            applyDevices(devices.plan(index: index, current: currentDevice))
        }
        guard let plan = reconciler.plan(running: runningPods(), cachedHash: cachedHash) else { return }
        waitingCount = plan.waiting.count
        if plan.changesSomething { apply(plan) }
        reportAbsent(plan.absent)
    }

    /// Pods being deleted that the node does not have go up as `removed` once each, so the
    /// relay finishes their deletion (a pod still stopping is reported when it is gone).
    private func reportAbsent(_ uids: [String]) {
        let deleting = reconciler.index?.deleting ?? [:]
        reportedRemoved = reportedRemoved.filter { deleting[$0] != nil }
        for uid in uids where !reportedRemoved.contains(uid) && holdsPod?(uid) != true {
            let pod = reconciler.messages[uid]?.pod.metadata
            podRemoved(uid: uid, namespace: pod?.namespace ?? "", name: pod?.name ?? "")
        }
    }
}
