/// KingletLocalBus: the board's local MQTT broker (`devices.localBroker`, e.g. mosquitto on
/// loopback), on the agent's loop through the link's `MQTTSession`. Two jobs share the one
/// connection: MQTT-native devices (`MQTTDeviceDriver`) read and write their topics on it,
/// and every device's twin, whatever its protocol, is published on KubeEdge's
/// `$hw/events/device/<id>/...` topics so local apps and KubeEdge mappers see the same
/// values as the cluster (docs/devices.md, "MQTT devices and the local bus").
import KingletCore
import KingletDevices
import KingletDocument
import KingletLink

/// A driver on the local bus: it hears the connection come and go, and the messages of
/// the filters it subscribed.
public protocol LocalBusListener: AnyObject {
    func localBusConnected()
    func localBusLost(_ reason: String)
    /// A message on a filter subscribed with `tag`. `payload` is empty when the message
    /// was larger than the bus copies out (`size` is what the broker declared).
    func localBusMessage(tag: Int, payload: [UInt8], size: Int)
}

/// The bus for `kinglet status`.
public struct LocalBusReport {
    public var broker: String
    public var state: SessionState
    /// Wall-clock nanoseconds of the last change between connected and not.
    public var sinceNanoseconds: Int64
    public var lastError: String
    public var connections: Int
    /// Distinct topic filters the devices listen to.
    public var filters: Int
    /// `$hw/.../twin/update` and `.../twin/update/delta` messages published so far.
    public var twinUpdates: UInt64
    public var deltas: UInt64

    public init(broker: String, state: SessionState, sinceNanoseconds: Int64, lastError: String, connections: Int, filters: Int,
                twinUpdates: UInt64, deltas: UInt64) {
        self.broker = broker
        self.state = state
        self.sinceNanoseconds = sinceNanoseconds
        self.lastError = lastError
        self.connections = connections
        self.filters = filters
        self.twinUpdates = twinUpdates
        self.deltas = deltas
    }
}

/// One clean-session connection to the local broker (client id `kinglet-<node>-devices`),
/// reconnected with the link's back-off. Subscriptions are remembered here and made again
/// after every reconnect, since a clean session forgets them.
public final class LocalBus {
    struct Subscription {
        var filter: String
        var qos: Int32
        var listener: any LocalBusListener
        var tag: Int
    }

    /// MQTT-native device messages are small readings: larger ones are not copied.
    public static let maxPayload = 64 * 1024

    public let brokerURL: String
    private let loop: any EventLoop
    private let session: MQTTSession
    private let wallClockNanoseconds: () -> Int64
    private var subscriptions: [Subscription] = []
    private var listeners: [any LocalBusListener] = []
    private var sinceNanoseconds: Int64
    private var wasConnected = false
    private var lastLoggedError = ""
    let twins: LocalBusTwinPublisher

    public var log: (String) -> Void = { _ in }
    /// The device of a uid, or nil once it is gone (the twin publisher keeps no device).
    public var deviceLookup: (String) -> DeviceManager.ManagedDevice? {
        get { twins.deviceLookup }
        set { twins.deviceLookup = newValue }
    }

    public var isConnected: Bool { session.state == .connected }

    /// - Parameters:
    ///   - host, port: the local broker (plain MQTT, loopback: `devices.localBroker`).
    ///   - wallClockNanoseconds: Unix time, for payload timestamps and the status line.
    ///   - seed: for the reconnect jitter and the event ids.
    public init(loop: any EventLoop, nodeName: String, host: String, port: Int32,
                wallClockNanoseconds: @escaping () -> Int64, seed: UInt64) {
        self.loop = loop
        self.wallClockNanoseconds = wallClockNanoseconds
        let settings = LinkSettings(nodeName: nodeName, host: host, port: port, useTLS: false, agentVersion: "")
        brokerURL = settings.brokerURL
        session = MQTTSession(loop: loop, settings: settings, seed: seed, clientID: "kinglet-" + nodeName + "-devices",
                              cleanSession: true)
        session.maxPayload = LocalBus.maxPayload
        sinceNanoseconds = wallClockNanoseconds()
        twins = LocalBusTwinPublisher(loop: loop, session: session,
                                      wallClockMilliseconds: { wallClockNanoseconds() / 1_000_000 }, seed: seed ^ 0x6B69_6E67)
    }

    /// Connects, and keeps reconnecting until `close()`.
    public func start() -> LinkSetupError? {
        // Strong captures (Embedded Swift has no unowned): close() lets them go.
        session.onConnected = { [self] in self.connected() }
        session.onDisconnected = { [self] reason in self.lost(reason) }
        session.onMessage = { [self] message in self.received(message) }
        return session.start(willTopic: nil, willPayload: [])
    }

    /// Disconnects cleanly (queued publishes are flushed) and frees the client.
    public func close() {
        twins.stop()
        session.stop()
        session.close()
        listeners = []
        subscriptions = []
    }

    public var report: LocalBusReport {
        var filters = 0
        for (index, subscription) in subscriptions.enumerated() where isFirst(subscription.filter, before: index) { filters += 1 }
        return LocalBusReport(broker: brokerURL, state: session.state, sinceNanoseconds: sinceNanoseconds,
                              lastError: session.lastError, connections: session.connections, filters: filters,
                              twinUpdates: twins.twinUpdates, deltas: twins.deltas)
    }

    // MARK: devices

    /// A device's twin changed (BoardDevices.twinChanged): publishes it on the `$hw`
    /// topics, at most once per property per `reportCycle`.
    public func twinChanged(_ device: DeviceManager.ManagedDevice) {
        twins.twinChanged(device)
    }

    /// A driver joins: it hears connects and losses from now on.
    public func attach(_ listener: any LocalBusListener) {
        guard !listeners.contains(where: { $0 === listener }) else { return }
        listeners.append(listener)
    }

    /// Forgets a driver and its subscriptions (filters no one else uses are unsubscribed).
    public func detach(_ listener: any LocalBusListener) {
        listeners.removeAll { $0 === listener }
        var gone: [String] = []
        for subscription in subscriptions where subscription.listener === listener { gone.append(subscription.filter) }
        subscriptions.removeAll { $0.listener === listener }
        for filter in gone where !subscriptions.contains(where: { $0.filter == filter }) {
            _ = session.unsubscribe(filter)
        }
    }

    /// Delivers messages matching `filter` (MQTT wildcards allowed) to `listener` with `tag`.
    public func subscribe(_ filter: String, qos: Int32, listener: any LocalBusListener, tag: Int) {
        attach(listener)
        subscriptions.append(Subscription(filter: filter, qos: qos, listener: listener, tag: tag))
        if session.state == .connected { _ = session.subscribe(filter, qos: qos) }
    }

    /// Publishes when connected; false when not (nothing is queued while offline).
    public func publish(_ topic: String, _ payload: [UInt8], qos: Int32, retain: Bool) -> Bool {
        session.publish(topic, payload, qos: qos, retain: retain)
    }

    /// Why the last attempt or connection ended ("" before any did).
    public var lastError: String { session.lastError }

    // MARK: the connection

    private func connected() {
        sinceNanoseconds = wallClockNanoseconds()
        wasConnected = true
        lastLoggedError = ""
        log("local bus: connected to \(brokerURL)")
        for (index, subscription) in subscriptions.enumerated() where isFirst(subscription.filter, before: index) {
            var qos = subscription.qos
            for other in subscriptions where other.filter == subscription.filter && other.qos > qos { qos = other.qos }
            _ = session.subscribe(subscription.filter, qos: qos)
        }
        for listener in listeners { listener.localBusConnected() }
        twins.connected()
    }

    private func lost(_ reason: String) {
        if wasConnected {
            sinceNanoseconds = wallClockNanoseconds()
            wasConnected = false
        }
        if reason != lastLoggedError {
            lastLoggedError = reason
            log("local bus: \(brokerURL): \(reason); retrying")
        }
        for listener in listeners { listener.localBusLost(reason) }
    }

    private func received(_ message: MQTTMessage) {
        for subscription in subscriptions where LocalBusTopic.matches(filter: subscription.filter, topic: message.topic) {
            subscription.listener.localBusMessage(tag: subscription.tag, payload: message.payload, size: message.size)
        }
    }

    private func isFirst(_ filter: String, before index: Int) -> Bool {
        var position = 0
        while position < index {
            if subscriptions[position].filter == filter { return false }
            position += 1
        }
        return true
    }
}

/// MQTT topic filters (MQTT 3.1.1, 4.7): `+` matches one level, a trailing `#` the rest
/// (its parent level included); `$`-topics are not matched by a leading wildcard.
public enum LocalBusTopic {
    public static func matches(filter: String, topic: String) -> Bool {
        matches(filter: filter, topic: topic.utf8)
    }

    /// The same on a topic's bytes (as received: no String made per message).
    public static func matches<Topic: BidirectionalCollection<UInt8>>(filter: String, topic topicBytes: Topic) -> Bool {
        let filterBytes = filter.utf8
        let slash = UInt8(ascii: "/")
        if topicBytes.first == UInt8(ascii: "$") && (filterBytes.first == UInt8(ascii: "+") || filterBytes.first == UInt8(ascii: "#")) {
            return false
        }
        var filterStart = filterBytes.startIndex
        var topicStart = topicBytes.startIndex
        var topicDone = false
        while true {
            let filterEnd = filterBytes[filterStart...].firstIndex(of: slash) ?? filterBytes.endIndex
            let level = filterBytes[filterStart..<filterEnd]
            // "a/#" matches "a" too: the topic may end right before this level.
            if level.elementsEqual("#".utf8) { return true }
            if topicDone { return false }
            let topicEnd = topicBytes[topicStart...].firstIndex(of: slash) ?? topicBytes.endIndex
            if !level.elementsEqual("+".utf8) && !level.elementsEqual(topicBytes[topicStart..<topicEnd]) { return false }
            let topicLast = topicEnd == topicBytes.endIndex
            if filterEnd == filterBytes.endIndex { return topicLast }
            filterStart = filterBytes.index(after: filterEnd)
            if topicLast { topicDone = true } else { topicStart = topicBytes.index(after: topicEnd) }
        }
    }
}
