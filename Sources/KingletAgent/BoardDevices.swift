import CKingletSystem
import KingletCache
import KingletConfig
import KingletCore
import KingletDevices
import KingletDocument
import KingletLocalBus
import KingletModbus
import KingletBLE
import KingletZigbee

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
    private var saveTimer: TimerHandle?
    private var saveSoon: () -> Void = {}
    private var writer = JSONWriter(capacity: 4096)
    private var scratch: [UInt8] = []
    /// Called with each device whose twin changed (the link's status outbox, the local bus).
    var twinChanged: (DeviceManager.ManagedDevice) -> Void = { _ in }

    /// The board's ZigBee coordinator and Bluetooth controller, opened with their first device.
    private let zigbeeSettings: ZigbeeBoardSettings?
    private let bleSettings: BLEBoardSettings?
    private(set) var ble: BLEControllerLink?
    private(set) var zigbee: ZigbeeCoordinatorLink?
    /// The cache record holding the coordinator's device table (joined devices survive a
    /// restart: they do not join again).
    static let zigbeeTableUID = "board-zigbee-devices"

    /// The board's local MQTT broker: MQTT devices, and KubeEdge's $hw topics for all.
    private let localBus: LocalBus?
    /// The board's Modbus serial lines: devices on one RS-485 port share it.
    private let modbusLines: ModbusLines

    init(loop: any EventLoop, cache: PodCache, settings: DeviceSettings, log: AgentLog, localBus: LocalBus? = nil) throws(DocumentError) {
        self.localBus = localBus
        self.loop = loop
        modbusLines = ModbusLines(loop: loop)
        self.cache = cache
        self.configSpecs = settings.specs
        self.log = log
        zigbeeSettings = try settings.zigbee.map { config throws(DocumentError) in try ZigbeeBoardSettings.decode(config) }
        bleSettings = try settings.ble.map { config throws(DocumentError) in try BLEBoardSettings.decode(config) }
        scratch.reserveCapacity(64)
        var makeDriver: (DeviceSpec, DeviceDriverEvents) -> (any DeviceDriver)? = { _, _ in nil }
        manager = DeviceManager(loop: loop, wallClockMilliseconds: { kinglet_realtime_ns() / 1_000_000 },
                                makeDriver: { spec, events in makeDriver(spec, events) })
        makeDriver = { [self] spec, events in self.makeDriver(spec: spec, events: events) }
        manager.log = { message in log.info(message) }
        manager.twinChanged = { [self] device in
            device.twinUnsaved = true
            self.scheduleSave()
            // The local bus's $hw topics see every twin change (docs/devices.md).
            localBus?.twinChanged(device)
            self.twinChanged(device)
        }
        saveSoon = { [self] in
            self.saveTimer = nil
            self.saveTwins()
        }
    }

    /// The driver for a spec, or nil (logged) when the protocol has none on this board or
    /// its settings are wrong.
    private func makeDriver(spec: DeviceSpec, events: DeviceDriverEvents) -> (any DeviceDriver)? {
        do throws(DocumentError) {
            switch spec.kind {
            case .modbus: return try ModbusDriver(loop: loop, lines: modbusLines, spec: spec, events: events)
            case .zigbee:
                guard let link = zigbeeLink() else {
                    events.log("this board has no ZigBee coordinator (devices.zigbee in its config)")
                    return nil
                }
                return try ZigbeeDeviceDriver(loop: loop, link: link, spec: spec, events: events)
            case .ble:
                guard let link = bleLink() else {
                    events.log("this board has no Bluetooth controller (devices.ble in its config)")
                    return nil
                }
                return try BLEDeviceDriver(link: link, spec: spec, events: events)
            case .mqtt:
                guard let localBus else {
                    events.log("an MQTT device needs devices.localBroker in the agent's config")
                    return nil
                }
                return try MQTTDeviceDriver(bus: localBus, spec: spec, events: events)
            }
        } catch {
            events.log(error.description)
            return nil
        }
    }

    private func zigbeeLink() -> ZigbeeCoordinatorLink? {
        if let zigbee { return zigbee }
        guard let zigbeeSettings else { return nil }
        let link = ZigbeeCoordinatorLink(loop: loop, settings: zigbeeSettings,
                                         knownDevices: cache.spec(uid: BoardDevices.zigbeeTableUID))
        link.log = { [log] message in log.info(message) }
        link.devicesChanged = { [self] table in
            do throws(CacheError) {
                try self.cache.put(CacheRecord(kind: .deviceTwin, uid: BoardDevices.zigbeeTableUID, namespace: "", name: "zigbee",
                                               resourceVersion: "", specHash: FNV1a.hash(table), spec: table, status: []))
            } catch {
                self.log.error("cannot cache the ZigBee device table: \(error.description)")
            }
        }
        zigbee = link
        link.start()
        return link
    }

    private func bleLink() -> BLEControllerLink? {
        if let ble { return ble }
        guard let bleSettings else { return nil }
        do throws(BLEScannerError) {
            let link = try BLEControllerLink(loop: loop, settings: bleSettings)
            link.log = { [log] message in log.info(message) }
            ble = link
            link.start()
            return link
        } catch {
            log.error("cannot set up the BLE controller: \(error.description)")
            return nil
        }
    }

    /// Checks the config's devices before anything starts: a headless board with a wrong
    /// device config stops with the file, line and column.
    static func validate(_ settings: DeviceSettings) throws(DocumentError) {
        if let zigbee = settings.zigbee { _ = try ZigbeeBoardSettings.decode(zigbee) }
        if let ble = settings.ble { _ = try BLEBoardSettings.decode(ble) }
        for spec in settings.specs {
            switch spec.kind {
            case .modbus: try ModbusDriver.validate(spec)
            case .zigbee:
                if settings.zigbee == nil {
                    throw DocumentError(file: spec.protocolConfig.file, path: spec.protocolConfig.path,
                                        message: "a zigbee device needs the board's coordinator: devices.zigbee")
                }
                _ = try ZigbeeDeviceDriver.parse(spec)
            case .ble:
                if settings.ble == nil {
                    throw DocumentError(file: spec.protocolConfig.file, path: spec.protocolConfig.path,
                                        message: "a ble device needs the board's controller: devices.ble")
                }
                try BLEDeviceDriver.validate(spec)
            case .mqtt:
                if settings.localBroker == nil {
                    throw DocumentError(file: spec.protocolConfig.file, path: spec.protocolConfig.path,
                                        message: "an mqtt device needs the board's local broker: devices.localBroker")
                }
                try MQTTDeviceDriver.validate(spec)
            }
        }
    }

    /// Relay devices kept in the cache, for the first apply (the link may be offline).
    func restoreFromCache() {
        var restored: [String: DeviceSpec] = [:]
        cache.forEachRecord { (view: CachedRecordView) in
            guard view.kind == .deviceTwin else { return }
            let uid = String(decoding: view.uid, as: UTF8.self)
            guard !BoardDevices.isFromConfig(uid), !BoardDevices.isBoardRecord(uid), let record = cache.record(uid: uid) else { return }
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
            if !wanted.contains(uid) && !BoardDevices.isBoardRecord(uid) { stale.append(uid) }
        }
        for uid in stale { _ = cache.removeSoon(uid: uid) }
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
        zigbee?.stop()
        zigbee = nil
        ble?.stop()
        ble = nil
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
        for device in manager.devices.values where device.twinUnsaved {
            device.twinUnsaved = false
            let uid = device.spec.uid
            guard cache.contains(uid: uid) else { continue }
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
    }

    static func isFromConfig(_ uid: String) -> Bool { uid.hasPrefix("device-") }
    /// The board's own records (the ZigBee device table), never a Device.
    static func isBoardRecord(_ uid: String) -> Bool { uid.hasPrefix("board-") }
}
