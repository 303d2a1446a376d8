import KingletCore
import KingletDevices
import KingletDocument
import KingletLink

/// Publishes every device's twin on KubeEdge's device topics (edge/pkg/devicetwin/dtcommon:
/// `$hw/events/device/<id>` + `/twin/update`, `/twin/update/delta`, `/state/update`), in
/// the shapes of its dttype package: `DeviceTwinUpdate` for readings, `DeviceTwinDelta`
/// when a desired value differs from the reading, and the mappers' `{state}` update.
///
/// `<id>` is the Device's name, as KubeEdge's edge twin and its mappers key devices.
/// Readings go out at most once per property per `reportCycle`; readings in between are
/// coalesced (the latest goes out when the cycle allows). Steady state allocates nothing
/// here: topics are made once per device, payloads are written into one reused buffer.
final class LocalBusTwinPublisher {
    static let prefix = "$hw/events/device/"

    /// What was published for one device.
    final class Entry {
        let uid: String
        var connectionHash: UInt64 = 0
        var name = ""
        var updateTopic = ""
        var deltaTopic = ""
        var stateTopic = ""
        /// Per property: the reading last published (its time and value).
        var sentAt: [Int64] = []
        var sentValue: [DeviceValue?] = []
        /// Per property: when it may be published again (loop clock).
        var nextAllowed: [Instant] = []
        /// Per property: the desired text in the last delta published (nil: not in it).
        var deltaSent: [String?] = []
        /// Per property: the desired text and its parsed value (parsed once per change).
        var desiredText: [String?] = []
        var desiredValue: [DeviceValue?] = []
        var sentState: DeviceState? = nil
        var timer: TimerHandle? = nil
        var timerAt = Instant(nanoseconds: 0)
        var flush: () -> Void = {}

        init(uid: String) { self.uid = uid }
    }

    private let loop: any EventLoop
    private let session: MQTTSession
    private let wallClockMilliseconds: () -> Int64
    private var generator: SeededGenerator
    private var entries: [String: Entry] = [:]
    private var writer = JSONWriter(capacity: 2048)
    private var scratch: [UInt8] = []
    private var eventID: [UInt8] = []
    private var stopped = false
    var deviceLookup: (String) -> DeviceManager.ManagedDevice? = { _ in nil }
    private(set) var twinUpdates: UInt64 = 0
    private(set) var deltas: UInt64 = 0

    init(loop: any EventLoop, session: MQTTSession, wallClockMilliseconds: @escaping () -> Int64, seed: UInt64) {
        self.loop = loop
        self.session = session
        self.wallClockMilliseconds = wallClockMilliseconds
        generator = SeededGenerator(seed: seed)
        scratch.reserveCapacity(256)
        eventID.reserveCapacity(36)
    }

    /// The topic id of a device: its name.
    static func topicID(_ spec: DeviceSpec) -> String { spec.name }

    func twinChanged(_ device: DeviceManager.ManagedDevice) {
        guard !stopped else { return }
        let entry: Entry
        if let known = entries[device.spec.uid] {
            entry = known
        } else {
            entry = Entry(uid: device.spec.uid)
            // A cycle through the entry, broken when it is dropped (Embedded Swift has no unowned).
            entry.flush = { [self, entry] in self.timerFired(entry) }
            entries[device.spec.uid] = entry
        }
        if entry.connectionHash != device.spec.connectionHash || entry.sentAt.count != device.spec.properties.count
            || entry.name != device.spec.name {
            reset(entry, for: device)
        }
        // At the end of this turn of the loop when something can go out now: properties read
        // together (one MQTT payload, one Modbus poll round) go out in one message. A reading
        // held back by its reportCycle only moves the timer earlier if it has to: readings
        // at 10 Hz with a 1 s cycle must not cost a wake-up each.
        if let when = nextFlush(entry, device) { schedule(entry, at: when) }
    }

    /// When `entry` next needs a flush: now for a new state, a changed delta or a reading
    /// its cycle allows; else when the first held-back reading may go out; nil for nothing.
    private func nextFlush(_ entry: Entry, _ device: DeviceManager.ManagedDevice) -> Instant? {
        let twin = device.twin
        let now = loop.now
        guard twin.properties.count == entry.sentAt.count else { return now }
        if twin.state != .unknown && entry.sentState != twin.state { return now }
        var earliest: Instant? = nil
        for index in twin.properties.indices {
            if twin.properties[index].desired != nil || entry.deltaSent[index] != nil,
               deltaValue(entry, device.spec, twin, index) != entry.deltaSent[index] {
                return now
            }
            guard isFresh(entry, twin, index) else { continue }
            let allowed = entry.nextAllowed[index]
            if allowed <= now { return now }
            if earliest.map({ allowed < $0 }) ?? true { earliest = allowed }
        }
        return earliest
    }

    private func schedule(_ entry: Entry, at instant: Instant) {
        if entry.timer != nil && entry.timerAt <= instant { return }
        if let timer = entry.timer { loop.cancel(timer) }
        entry.timerAt = instant
        entry.timer = loop.schedule(at: instant, entry.flush)
    }

    /// After every (re)connect: the broker kept nothing of ours (clean session, nothing
    /// retained), so each device's latest readings, state and delta go out once more.
    func connected() {
        guard !stopped else { return }
        let now = loop.now
        var gone: [String] = []
        for (uid, entry) in entries {
            guard let device = deviceLookup(uid) else {
                gone.append(uid)
                continue
            }
            for index in entry.sentAt.indices {
                entry.sentAt[index] = Int64.min
                entry.sentValue[index] = nil
                entry.deltaSent[index] = nil
                entry.nextAllowed[index] = now
            }
            entry.sentState = nil
            flush(entry, device)
        }
        for uid in gone { drop(uid) }
    }

    func stop() {
        stopped = true
        for entry in entries.values {
            if let timer = entry.timer { loop.cancel(timer) }
            entry.timer = nil
            entry.flush = {}
        }
        entries = [:]
        deviceLookup = { _ in nil }
    }

    // MARK: publishing

    private func reset(_ entry: Entry, for device: DeviceManager.ManagedDevice) {
        let count = device.spec.properties.count
        entry.connectionHash = device.spec.connectionHash
        if entry.name != device.spec.name {
            entry.name = device.spec.name
            let base = LocalBusTwinPublisher.prefix + LocalBusTwinPublisher.topicID(device.spec)
            entry.updateTopic = base + "/twin/update"
            entry.deltaTopic = base + "/twin/update/delta"
            entry.stateTopic = base + "/state/update"
        }
        entry.sentAt = [Int64](repeating: Int64.min, count: count)
        entry.sentValue = [DeviceValue?](repeating: nil, count: count)
        entry.nextAllowed = [Instant](repeating: loop.now, count: count)
        entry.deltaSent = [String?](repeating: nil, count: count)
        entry.desiredText = [String?](repeating: nil, count: count)
        entry.desiredValue = [DeviceValue?](repeating: nil, count: count)
        entry.sentState = nil
    }

    private func timerFired(_ entry: Entry) {
        entry.timer = nil
        guard let device = deviceLookup(entry.uid) else {
            drop(entry.uid)
            return
        }
        flush(entry, device)
    }

    private func drop(_ uid: String) {
        guard let entry = entries.removeValue(forKey: uid) else { return }
        if let timer = entry.timer { loop.cancel(timer) }
        entry.timer = nil
        entry.flush = {}
    }

    private func isFresh(_ entry: Entry, _ twin: DeviceTwin, _ index: Int) -> Bool {
        guard let value = twin.properties[index].reported else { return false }
        return twin.properties[index].reportedAt != entry.sentAt[index] || entry.sentValue[index] != value
    }

    private func flush(_ entry: Entry, _ device: DeviceManager.ManagedDevice) {
        guard session.state == .connected else { return }
        let twin = device.twin
        let spec = device.spec
        let now = loop.now
        guard twin.properties.count == entry.sentAt.count else { return }

        if twin.state != .unknown && entry.sentState != twin.state && publishState(entry, twin.state) {
            entry.sentState = twin.state
        }

        var due = false
        var earliest: Instant? = nil
        for index in twin.properties.indices where isFresh(entry, twin, index) {
            if entry.nextAllowed[index] <= now {
                due = true
            } else if earliest == nil || entry.nextAllowed[index] < earliest! {
                earliest = entry.nextAllowed[index]
            }
        }
        if due {
            writeUpdate(entry, spec, twin, now)
            if session.publish(entry.updateTopic, writer.bytes, qos: 0, retain: false) {
                twinUpdates += 1
                for index in twin.properties.indices where isFresh(entry, twin, index) && entry.nextAllowed[index] <= now {
                    entry.sentAt[index] = twin.properties[index].reportedAt
                    entry.sentValue[index] = twin.properties[index].reported
                    entry.nextAllowed[index] = now.advanced(by: .milliseconds(spec.properties[index].reportCycleMilliseconds))
                }
            }
        }
        if let earliest { schedule(entry, at: earliest) }
        publishDeltaIfChanged(entry, spec, twin)
    }

    /// `{"event_id":..,"timestamp":ms,"twin":{"<property>":{"actual":{"value":"..",
    /// "metadata":{"timestamp":ms}},"metadata":{"type":"FLOAT"}}}}` for the properties due.
    private func writeUpdate(_ entry: Entry, _ spec: DeviceSpec, _ twin: DeviceTwin, _ now: Instant) {
        beginMessage()
        writer.key("twin")
        writer.beginObject()
        for index in twin.properties.indices where isFresh(entry, twin, index) && entry.nextAllowed[index] <= now {
            guard let value = twin.properties[index].reported else { continue }
            writer.key(spec.properties[index].name)
            writer.beginObject()
            writeValue(key: "actual", value, at: twin.properties[index].reportedAt)
            writeType(spec.properties[index].type)
            writer.endObject()
        }
        writer.endObject()
        writer.endObject()
    }

    /// KubeEdge's `DeviceTwinDelta`: `twin` holds every property with a desired value
    /// (`expected`, and `actual` when read), `delta` maps those whose reading differs to
    /// the desired value. Published when that map changes and is not empty.
    private func publishDeltaIfChanged(_ entry: Entry, _ spec: DeviceSpec, _ twin: DeviceTwin) {
        var changed = false
        var any = false
        for index in twin.properties.indices {
            let wanted = deltaValue(entry, spec, twin, index)
            if wanted != nil { any = true }
            if wanted != entry.deltaSent[index] { changed = true }
        }
        guard changed else { return }
        guard any else {
            for index in entry.deltaSent.indices { entry.deltaSent[index] = nil }
            return
        }
        beginMessage()
        writer.key("twin")
        writer.beginObject()
        for index in twin.properties.indices {
            guard let desired = twin.properties[index].desired else { continue }
            writer.key(spec.properties[index].name)
            writer.beginObject()
            writer.key("expected")
            writer.beginObject()
            writer.key("value"); writer.string(desired)
            writer.key("metadata")
            writer.beginObject()
            writer.key("timestamp"); writer.integer(twin.properties[index].desiredAt)
            writer.endObject()
            writer.endObject()
            if let reported = twin.properties[index].reported {
                writeValue(key: "actual", reported, at: twin.properties[index].reportedAt)
            }
            writeType(spec.properties[index].type)
            writer.endObject()
        }
        writer.endObject()
        writer.key("delta")
        writer.beginObject()
        for index in twin.properties.indices {
            guard let wanted = deltaValue(entry, spec, twin, index) else { continue }
            writer.key(spec.properties[index].name)
            writer.string(wanted)
        }
        writer.endObject()
        writer.endObject()
        if session.publish(entry.deltaTopic, writer.bytes, qos: 0, retain: false) {
            deltas += 1
            for index in twin.properties.indices { entry.deltaSent[index] = deltaValue(entry, spec, twin, index) }
        }
    }

    /// The desired text when it differs from the reading, else nil.
    private func deltaValue(_ entry: Entry, _ spec: DeviceSpec, _ twin: DeviceTwin, _ index: Int) -> String? {
        guard let desired = twin.properties[index].desired else { return nil }
        if entry.desiredText[index] != desired {
            entry.desiredText[index] = desired
            entry.desiredValue[index] = DeviceValue.parse(desired, as: spec.properties[index].type)
        }
        if let reported = twin.properties[index].reported, let value = entry.desiredValue[index], reported.confirms(value) {
            return nil
        }
        return desired
    }

    /// `{"event_id":..,"timestamp":ms,"state":"online"}`, as KubeEdge's mappers report it.
    private func publishState(_ entry: Entry, _ state: DeviceState) -> Bool {
        beginMessage()
        writer.key("state"); writer.string(state.rawValue)
        writer.endObject()
        return session.publish(entry.stateTopic, writer.bytes, qos: 0, retain: false)
    }

    private func beginMessage() {
        nextEventID()
        writer.reset()
        writer.beginObject()
        writer.key("event_id"); writer.stringBytes(eventID)
        writer.key("timestamp"); writer.integer(wallClockMilliseconds())
    }

    private func writeValue(key: String, _ value: DeviceValue, at milliseconds: Int64) {
        writer.key(key)
        writer.beginObject()
        scratch.removeAll(keepingCapacity: true)
        value.twinText(into: &scratch)
        writer.key("value"); writer.stringBytes(scratch)
        writer.key("metadata")
        writer.beginObject()
        writer.key("timestamp"); writer.integer(milliseconds)
        writer.endObject()
        writer.endObject()
    }

    private func writeType(_ type: DevicePropertyType) {
        writer.key("metadata")
        writer.beginObject()
        writer.key("type"); writer.string(type.rawValue)
        writer.endObject()
    }

    /// A random (version 4) UUID, as KubeEdge's event ids are, written in place.
    private func nextEventID() {
        let high = generator.next()
        let low = (generator.next() & 0x3FFF_FFFF_FFFF_FFFF) | 0x8000_0000_0000_0000
        let versioned = (high & 0xFFFF_FFFF_FFFF_0FFF) | 0x0000_0000_0000_4000
        eventID.removeAll(keepingCapacity: true)
        appendHex(versioned >> 32, digits: 8)
        eventID.append(UInt8(ascii: "-"))
        appendHex(versioned >> 16, digits: 4)
        eventID.append(UInt8(ascii: "-"))
        appendHex(versioned, digits: 4)
        eventID.append(UInt8(ascii: "-"))
        appendHex(low >> 48, digits: 4)
        eventID.append(UInt8(ascii: "-"))
        appendHex(low, digits: 12)
    }

    private func appendHex(_ value: UInt64, digits: Int) {
        var shift = (digits - 1) * 4
        while shift >= 0 {
            let nibble = UInt8(truncatingIfNeeded: (value >> UInt64(shift)) & 0xF)
            eventID.append(nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") + nibble - 10)
            shift -= 4
        }
    }
}
