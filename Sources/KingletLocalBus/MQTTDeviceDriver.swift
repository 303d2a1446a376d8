import KingletCore
import KingletDevices
import KingletDocument

/// A device that speaks MQTT itself (`protocol.protocolName: mqtt`), on the board's local
/// broker: readings arrive on each property's `topic`, desired values are published on its
/// `commandTopic` (MQTTDeviceVisitor). Readings come by themselves, so `collect` does
/// nothing; a write is confirmed by the next reading the device publishes.
///
/// State: `offline` (with the broker's error) while the local bus is down, `online` again
/// at the first good reading after it is back (a property without a reading topic: at the
/// reconnect itself). A quiet device is not marked offline: MQTT cannot tell a sensor that
/// has nothing to say from one that is gone, unless it uses a will, whose topic it can list
/// as a property.
public final class MQTTDeviceDriver: DeviceDriver, LocalBusListener {
    private let bus: LocalBus
    private let visitors: [MQTTDeviceVisitor]
    private let types: [DevicePropertyType]
    private let names: [String]
    private let events: DeviceDriverEvents
    public private(set) var counters = DeviceCounters()
    private var running = false
    private var online = false
    private var lastProblem = ""
    private var problem = ""
    private var command = JSONWriter(capacity: 256)
    private var raw: [UInt8] = []
    /// Per property: a desired value that waits for the bus (the agent opens its devices
    /// before the broker has answered); the latest one wins.
    private var waiting: [DeviceValue?]

    public init(bus: LocalBus, spec: DeviceSpec, events: DeviceDriverEvents) throws(DocumentError) {
        self.bus = bus
        self.events = events
        try MQTTDeviceDriver.checkProtocol(spec)
        var visitors: [MQTTDeviceVisitor] = []
        for property in spec.properties { visitors.append(try MQTTDeviceVisitor.decode(property.visitor, property: property)) }
        self.visitors = visitors
        types = spec.properties.map { $0.type }
        names = spec.properties.map { $0.name }
        waiting = [DeviceValue?](repeating: nil, count: spec.properties.count)
        raw.reserveCapacity(64)
    }

    /// Checks a spec's visitors without a bus (config load).
    public static func validate(_ spec: DeviceSpec) throws(DocumentError) {
        try checkProtocol(spec)
        for property in spec.properties { _ = try MQTTDeviceVisitor.decode(property.visitor, property: property) }
    }

    /// The broker is the board's (`devices.localBroker`), not the Device's: no protocol keys.
    static func checkProtocol(_ spec: DeviceSpec) throws(DocumentError) {
        try spec.protocolConfig.rejectUnknown([])
    }

    public func start() {
        guard !running else { return }
        running = true
        bus.attach(self)
        for (index, visitor) in visitors.enumerated() {
            if let topic = visitor.topic { bus.subscribe(topic, qos: visitor.qos, listener: self, tag: index) }
        }
        if bus.isConnected {
            if !hasReadings { goOnline() }
        } else if !bus.lastError.isEmpty {
            goOffline(bus.lastError)
        }
    }

    public func stop() {
        running = false
        bus.detach(self)
    }

    public func collect(property index: Int) {}

    public func write(property index: Int, value: DeviceValue) {
        guard index >= 0 && index < visitors.count else { return }
        let visitor = visitors[index]
        guard let topic = visitor.commandTopic else {
            events.written(index, "property \(names[index]) has no commandTopic")
            return
        }
        guard bus.isConnected else {
            // Published once the bus connects; the manager learns the outcome then.
            waiting[index] = value
            return
        }
        waiting[index] = nil
        let published: Bool
        switch visitor.commandFormat {
        case .raw:
            raw.removeAll(keepingCapacity: true)
            value.twinText(into: &raw)
            published = bus.publish(topic, raw, qos: visitor.qos, retain: visitor.retain)
        case .json:
            command.reset()
            for step in visitor.field {
                command.beginObject()
                command.key(step)
            }
            switch value {
            case .bool(let flag): command.bool(flag)
            case .integer(let number): command.integer(number)
            case .double(let number): command.double(number)
            case .text(let text): command.string(text)
            }
            for _ in visitor.field { command.endObject() }
            published = bus.publish(topic, command.bytes, qos: visitor.qos, retain: visitor.retain)
        }
        guard published else {
            events.written(index, "cannot publish to \(topic) on \(bus.brokerURL)")
            return
        }
        counters.writes += 1
        events.written(index, nil)
    }

    // MARK: LocalBusListener

    public func localBusConnected() {
        guard running else { return }
        if !hasReadings { goOnline() }
        for index in waiting.indices {
            if let value = waiting[index] { write(property: index, value: value) }
        }
    }

    public func localBusLost(_ reason: String) {
        guard running else { return }
        goOffline(reason)
    }

    public func localBusMessage(tag: Int, payload: [UInt8], size: Int) {
        guard running, tag >= 0, tag < visitors.count else { return }
        if size > payload.count {
            counters.badFrames += 1
            note("a message of \(size) bytes on \(visitors[tag].topic ?? "") is larger than the \(LocalBus.maxPayload) bytes read")
            return
        }
        guard let value = MQTTDevicePayload.value(payload, path: visitors[tag].field, type: types[tag], problem: &problem) else {
            counters.badFrames += 1
            note("skipped a payload on \(visitors[tag].topic ?? "") for \(names[tag]): \(problem)")
            return
        }
        counters.reads += 1
        goOnline()
        events.reported(tag, value)
    }

    // MARK: state

    private var hasReadings: Bool { visitors.contains { $0.topic != nil } }

    private func goOnline() {
        guard !online else { return }
        online = true
        lastProblem = ""
        events.stateChanged(.online, "")
    }

    private func goOffline(_ reason: String) {
        online = false
        let message = "local broker \(bus.brokerURL): \(reason)"
        note(message)
        events.stateChanged(.offline, message)
    }

    /// Logs a problem once until something else happens.
    private func note(_ message: String) {
        guard message != lastProblem else { return }
        lastProblem = message
        events.log(message)
    }
}
