import CKingletSystem
import KingletCache
import KingletConfig
import KingletCore
import KingletDevices
import KingletDocument
import KingletLocalBus
import KingletModbus

/// The board's devices in the agent: the drivers (one per bus), the specs from the config
/// and from the relay, and the twins kept in the cache (kind `deviceTwin`) so a restarted
/// agent, offline, drives the same devices and remembers their last readings.
final class BoardDevices {
    /// Twins go to the cache at most this often: readings at 10 Hz must not mean ten
    /// commits a second (desired values are in the spec record, kept at once).
    static let twinSaveInterval = Duration.seconds(10)

    let manager: DeviceManager
    private let loop: any EventLoop
    private let cache: PodCache
    private let log: AgentLog
    private var configSpecs: [DeviceSpec]
    private(set) var relaySpecs: [String: DeviceSpec] = [:]
    private var unsaved = Set<String>()
    private var saveTimer: TimerHandle?
    private var saveSoon: () -> Void = {}
    private var writer = JSONWriter(capacity: 4096)
    private var scratch: [UInt8] = []
    /// Called with each device whose twin changed (the link's status outbox, the local bus).
    var twinChanged: (DeviceManager.ManagedDevice) -> Void = { _ in }

    init(loop: any EventLoop, cache: PodCache, configSpecs: [DeviceSpec], log: AgentLog, localBus: LocalBus? = nil) {
        self.loop = loop
        self.cache = cache
        self.configSpecs = configSpecs
        self.log = log
        scratch.reserveCapacity(64)
        manager = DeviceManager(loop: loop, wallClockMilliseconds: { kinglet_realtime_ns() / 1_000_000 },
                                makeDriver: { spec, events in
                                    BoardDevices.makeDriver(loop: loop, spec: spec, events: events, localBus: localBus)
                                })
        manager.log = { message in log.info(message) }
        manager.twinChanged = { [unowned self] device in
            self.unsaved.insert(device.spec.uid)
            self.scheduleSave()
            // The local bus's $hw topics see every twin change (docs/devices.md).
            localBus?.twinChanged(device)
            self.twinChanged(device)
        }
        saveSoon = { [unowned self] in
            self.saveTimer = nil
            self.saveTwins()
        }
    }

    /// The driver for a spec, or nil (logged) when the protocol has none on this board or
    /// its settings are wrong.
    static func makeDriver(loop: any EventLoop, spec: DeviceSpec, events: DeviceDriverEvents,
                           localBus: LocalBus? = nil) -> (any DeviceDriver)? {
        do throws(DocumentError) {
            switch spec.kind {
            case .modbus: return try ModbusDriver(loop: loop, spec: spec, events: events)
            case .mqtt:
                guard let localBus else {
                    events.log("an MQTT device needs devices.localBroker in the agent's config")
                    return nil
                }
                return try MQTTDeviceDriver(bus: localBus, spec: spec, events: events)
            case .ble, .zigbee:
                events.log("the \(spec.kind.rawValue) driver is not available in this build")
                return nil
            }
        } catch {
            events.log(error.description)
            return nil
        }
    }

    /// Checks the config's devices before anything starts: a headless board with a wrong
    /// device config stops with the file, line and column.
    static func validate(_ specs: [DeviceSpec]) throws(DocumentError) {
        for spec in specs {
            switch spec.kind {
            case .modbus: try ModbusDriver.validate(spec)
            case .mqtt: try MQTTDeviceDriver.validate(spec)
            case .ble, .zigbee: break
            }
        }
    }

    /// Relay devices kept in the cache, for the first apply (the link may be offline).
    func restoreFromCache() {
        var restored: [String: DeviceSpec] = [:]
        cache.forEachRecord { (view: CachedRecordView) in
            guard view.kind == .deviceTwin else { return }
            let uid = String(decoding: view.uid, as: UTF8.self)
            guard !BoardDevices.isFromConfig(uid), let record = cache.record(uid: uid) else { return }
            do throws(DocumentError) {
                restored[uid] = try DeviceDocuments.decode(record.spec, uid: uid, specHash: record.specHash, file: "cache:" + uid)
            } catch {
                log.warning("cached device \(record.namespace)/\(record.name) (\(uid)) is not usable: \(error.description)")
            }
        }
        if !restored.isEmpty { log.info("restoring \(restored.count) device(s) from the cache") }
        relaySpecs = restored
    }

    func setConfigSpecs(_ specs: [DeviceSpec]) {
        configSpecs = specs
        apply()
    }

    func setRelaySpecs(_ specs: [String: DeviceSpec]) {
        relaySpecs = specs
        apply()
    }

    /// Config devices plus relay devices, cached before they open; cached twins of devices
    /// no longer wanted are dropped.
    func apply() {
        var all = configSpecs
        for uid in relaySpecs.keys.sorted() { all.append(relaySpecs[uid]!) }
        var wanted = Set<String>()
        for spec in all {
            wanted.insert(spec.uid)
            guard cache.specHash(uid: spec.uid) != spec.specHash else { continue }
            do throws(CacheError) {
                try cache.put(CacheRecord(kind: .deviceTwin, uid: spec.uid, namespace: spec.namespace, name: spec.name,
                                          resourceVersion: "", specHash: spec.specHash, spec: spec.sourceJSON, status: []))
            } catch {
                log.error("cannot cache device \(spec.fullName): \(error.description)")
            }
        }
        var stale: [String] = []
        cache.forEachRecord { (view: CachedRecordView) in
            guard view.kind == .deviceTwin else { return }
            let uid = String(decoding: view.uid, as: UTF8.self)
            if !wanted.contains(uid) { stale.append(uid) }
        }
        for uid in stale { _ = try? cache.remove(uid: uid) }
        let fresh = all.filter { manager.devices[$0.uid] == nil }
        manager.apply(all)
        // Twins of devices opened now come back from the cache (last readings, confirmed
        // desired values).
        for spec in fresh {
            if let status = cache.status(uid: spec.uid), let twin = DeviceDocuments.restoreTwin(status, spec: spec) {
                manager.restore(uid: spec.uid, twin: twin)
            }
        }
    }

    func stop() {
        if let saveTimer { loop.cancel(saveTimer) }
        saveTimer = nil
        saveTwins()
        manager.stopAll()
    }

    /// The twin as the Device's status members, for `kinglet status` and the link.
    func writeStatus(_ device: DeviceManager.ManagedDevice, to writer: inout JSONWriter) {
        DeviceDocuments.writeStatusMembers(device.twin, spec: device.spec, to: &writer, scratch: &scratch)
    }

    private func scheduleSave() {
        guard saveTimer == nil else { return }
        saveTimer = loop.schedule(after: BoardDevices.twinSaveInterval, saveSoon)
    }

    private func saveTwins() {
        for uid in unsaved {
            guard let device = manager.devices[uid], cache.contains(uid: uid) else { continue }
            writer.reset()
            writer.beginObject()
            DeviceDocuments.writeStatusMembers(device.twin, spec: device.spec, to: &writer, scratch: &scratch)
            writer.endObject()
            do throws(CacheError) {
                try cache.updateStatus(uid: uid, status: writer.bytes)
            } catch {
                log.error("cannot cache the twin of device \(device.spec.fullName): \(error.description)")
            }
        }
        unsaved.removeAll(keepingCapacity: true)
    }

    static func isFromConfig(_ uid: String) -> Bool { uid.hasPrefix("device-") }
}
