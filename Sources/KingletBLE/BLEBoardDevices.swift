import CKingletSystem
import KingletCore
import KingletDevices
import KingletDocument
import KingletPod

/// The board's Bluetooth controller (`devices.ble` in the config): an H4 UART (a
/// serial-attached controller) or the kernel's HCI user channel (`hciDevice`, a board's
/// own controller), that every BLE Device of the board listens through.
public struct BLEBoardSettings: Equatable {
    /// Empty when `hciDevice` is used.
    public var serialPort: String
    /// The kernel's HCI device number (0 for hci0), on the user channel.
    public var hciDevice: Int32?
    public var baudRate: Int32 = 115_200
    public var flowControl = false
    /// The fastest one device's advertisements are taken (ours, not the controller's).
    public var minimumReportIntervalMilliseconds: Int64 = 1_000
    public var activeScan = false

    public static let keys = ["serialPort", "hciDevice", "baudRate", "flowControl", "minimumReportInterval", "activeScan"]

    public static func decode(_ config: DeviceConfigData) throws(DocumentError) -> BLEBoardSettings {
        try config.rejectUnknown(keys)
        let port = try config.string("serialPort") ?? ""
        let device = try config.integer("hciDevice")
        if port.isEmpty == (device == nil) {
            throw config.error("serialPort", "give one of serialPort (an H4 controller's serial device, e.g. /dev/ttyAMA0) or hciDevice (0 for hci0)")
        }
        var settings = BLEBoardSettings(serialPort: port)
        if let device {
            guard (0...15).contains(device) else { throw config.error("hciDevice", "must be 0 to 15 (hci0 ... hci15)") }
            settings.hciDevice = Int32(device)
        }
        if let baud = try config.integer("baudRate") {
            guard [9600, 19200, 38400, 57600, 115_200, 230_400, 460_800, 921_600].contains(baud) else {
                throw config.error("baudRate", "unsupported baud rate \(baud)")
            }
            settings.baudRate = Int32(baud)
        }
        settings.flowControl = try config.bool("flowControl") ?? false
        if let interval = try config.integer("minimumReportInterval") {
            guard (0...600_000).contains(interval) else { throw config.error("minimumReportInterval", "must be 0 to 600000 milliseconds") }
            settings.minimumReportIntervalMilliseconds = interval
        }
        settings.activeScan = try config.bool("activeScan") ?? false
        return settings
    }

    /// "A4:C1:38:00:00:02" (most significant byte first, as people write them).
    static func address(_ text: String) -> BLEAddress? {
        var bytes: [UInt8] = []
        for part in text.split(separator: ":") {
            guard part.count == 2, let byte = UInt8(part, radix: 16) else { return nil }
            bytes.append(byte)
        }
        return BLEAddress(displayBytes: bytes)
    }
}

/// The controller on the loop: the serial line, the scanner state machine, the decoder,
/// and the BLE Devices listening for their advertisements.
public final class BLEControllerLink {
    public let settings: BLEBoardSettings
    public let scanner: BLEScanner
    public let decoder = BLEAdvertisementDecoder()
    private let loop: any EventLoop
    private let line: SerialLine
    private var listeners: [BLEDeviceDriver] = []
    private let gatt = BLEGATTSessions()
    private let deadline: DeadlineTimer
    public private(set) var ready = false
    public private(set) var lastProblem = ""
    public var log: (String) -> Void = { _ in }

    public convenience init(loop: any EventLoop, settings: BLEBoardSettings) throws(BLEScannerError) {
        try self.init(loop: loop, settings: settings, open: nil)
    }

    /// `open`, when given, stands in for the port (a test's socket carrying H4).
    init(loop: any EventLoop, settings: BLEBoardSettings, open: (() -> Int32)?) throws(BLEScannerError) {
        var configuration = BLEScannerConfiguration()
        configuration.minimumReportInterval = .milliseconds(settings.minimumReportIntervalMilliseconds)
        if settings.activeScan { configuration.scan.scanType = .active }
        scanner = try BLEScanner(configuration: configuration)
        self.settings = settings
        self.loop = loop
        deadline = DeadlineTimer(loop: loop)
        if let open {
            line = SerialLine(loop: loop, name: settings.serialPort, open: open)
        } else if let device = settings.hciDevice {
            line = SerialLine(loop: loop, name: "hci\(device)", packets: true) { kinglet_hci_user_channel_open(device) }
        } else {
            line = SerialLine(loop: loop, path: settings.serialPort, baud: settings.baudRate, flowControl: settings.flowControl)
        }
        deadline.fire = { [self] in
            self.scanner.tick(now: self.loop.now)
            self.gatt.tick(scanner: self.scanner, now: self.loop.now)
            self.pump()
        }
        line.opened = { [self] in
            self.scanner.start(now: self.loop.now)
            self.pump()
        }
        line.received = { [self] bytes in
            self.scanner.receive(bytes, now: self.loop.now)
            self.pump()
        }
        line.failed = { [self] reason in
            self.ready = false
            self.note(reason)
            self.gatt.controllerLost(reason)
            for listener in self.listeners { listener.controllerLost(reason) }
        }
    }

    public func start() { line.start() }

    var now: Instant { loop.now }

    public func stop() {
        deadline.stop()
        line.stop()
        listeners.removeAll()
    }

    func register(_ driver: BLEDeviceDriver) {
        if !listeners.contains(where: { $0 === driver }) { listeners.append(driver) }
        if let key = driver.bindKey { try? decoder.setBindKey(key, for: driver.address) }
        // A device with notify properties: its connection is held while the controller is ready.
        gatt.hold(driver, subscriptions: driver.subscriptions, ready: ready, scanner: scanner, now: loop.now)
        listenedAddressesChanged()
    }

    /// The connections held for notifications (for tests and status).
    var heldConnections: [BLEHeldConnection] { gatt.heldConnections }

    private func listenedAddressesChanged() {
        scanner.listen(only: listeners.map { $0.address }, now: loop.now)
        pump()
    }

    /// Queues a GATT write session for an actuator's desired value.
    func write(_ write: BLEGATTWrite) {
        guard ready else {
            write.driver.written(write.property, failure: "the BLE controller is not ready")
            return
        }
        gatt.enqueue(write, scanner: scanner, now: loop.now)
        pump()
    }

    func unregister(_ driver: BLEDeviceDriver) {
        gatt.forget(driver, scanner: scanner, now: loop.now)
        listeners.removeAll { $0 === driver }
        decoder.removeBindKey(for: driver.address)
        listenedAddressesChanged()
    }

    private func pump() {
        while let bytes = scanner.takeOutgoing() { _ = line.write(bytes) }
        while let event = scanner.nextEvent() {
            // Connections, their ACL data and disconnections belong to the GATT exchanges
            // and held connections.
            gatt.handle(event, scanner: scanner, now: loop.now)
            switch event {
            case .ready:
                ready = true
                lastProblem = ""
                log("BLE controller on \(line.path) is scanning (\(filterDescription))")
                // After a Reset every connection is gone: held ones are set up again.
                gatt.controllerReady(scanner: scanner, now: loop.now)
                for listener in listeners { listener.controllerReady() }
            case .advertisement(let report):
                // Only devices someone listens for are decoded: the rest cost one compare.
                guard listeners.contains(where: { $0.address == report.address }) else { continue }
                // Nil for an advertisement with nothing to decode (a name only): the device
                // is still there. `decoded` shares the decoder's buffers and is gone before the
                // next decode, so those are refilled in place.
                let decoded = decoder.decode(report)
                for listener in listeners where listener.address == report.address { listener.advertisement(decoded) }
            case .failed(let error):
                if scanner.state == .scanning || scanner.state == .stopped {
                    // A command the controller refused or did not answer (a connection it
                    // cannot make now): what asked for it fails; the controller still scans.
                    note("BLE controller on \(line.path): \(error.description)")
                    continue
                }
                ready = false
                note("BLE controller on \(line.path): \(error.description)")
                gatt.controllerLost(error.description)
                for listener in listeners { listener.controllerLost(error.description) }
            case .connected, .connectionFailed, .disconnected, .aclData, .scanningStopped, .scanningResumed:
                break
            }
        }
        while let bytes = gatt.takeOutgoing() { _ = line.write(bytes) }
        while let bytes = scanner.takeOutgoing() { _ = line.write(bytes) }
        var next = scanner.nextDeadline
        if let session = gatt.nextDeadline, next.map({ session < $0 }) ?? true { next = session }
        deadline.arm(at: next)
    }

    private var filterDescription: String {
        if scanner.scanFilterPolicy == 1 { return "its filter accept list passes \(listeners.count) devices" }
        guard let size = scanner.controller.filterAcceptListSize else { return "no filter accept list" }
        return "every advertisement read: its filter accept list holds \(size) entries, 2 per device"
    }

    private func note(_ message: String) {
        guard message != lastProblem else { return }
        lastProblem = message
        log(message)
    }
}

/// One BLE device (a KubeEdge Device with `protocolName: ble`): its read-only properties are
/// readings decoded from its advertisements (BTHome v2, plain or encrypted with `bindKey`;
/// iBeacon, Eddystone, Ruuvi), named in each visitor's `reading` (temperature, humidity,
/// battery, rssi, ...), or GATT characteristics it notifies (`characteristic` with `notify:
/// true`), over a connection held open while the controller is ready; its writable
/// properties are GATT characteristics (`characteristic`: a UUID), written (in a short GATT
/// session, or over the held connection) and read back. Online while advertisements or
/// notifications come, or its connection is held.
public final class BLEDeviceDriver: DeviceDriver {
    let address: BLEAddress
    let bindKey: [UInt8]?
    let addressType: BLEAddressType
    /// The notify characteristics, one per UUID, with the properties each feeds.
    let subscriptions: [BLEHeldConnection.Subscription]
    private let link: BLEControllerLink
    private let sources: [Source]
    private let types: [DevicePropertyType]
    private let events: DeviceDriverEvents
    public private(set) var counters = DeviceCounters()
    private var seen = false
    /// The connection for notifications is up (subscribed).
    private var connectionHeld = false
    /// The last notification problem logged (each is logged once until notifications flow).
    private var notificationProblem = ""
    private var notificationsAnnounced = false

    /// Where a property lives: an advertised reading, or a GATT characteristic.
    enum Source {
        case reading(String)
        case characteristic(BLECharacteristicVisitor)
    }

    public static let protocolKeys = ["macAddress", "addressType", "bindKey"]
    public static let visitorKeys = ["reading", "characteristic", "format", "notify", "scale"]

    public init(link: BLEControllerLink, spec: DeviceSpec, events: DeviceDriverEvents) throws(DocumentError) {
        let parsed = try BLEDeviceDriver.parse(spec)
        self.addressType = parsed.addressType
        self.address = parsed.address
        self.bindKey = parsed.bindKey
        self.link = link
        self.sources = parsed.sources
        self.events = events
        types = spec.properties.map { $0.type }
        var subscriptions: [BLEHeldConnection.Subscription] = []
        for (index, source) in parsed.sources.enumerated() {
            guard case .characteristic(let visitor) = source, visitor.notify else { continue }
            if let existing = subscriptions.firstIndex(where: { $0.characteristic == visitor.uuid }) {
                subscriptions[existing].properties.append(index)
            } else {
                subscriptions.append(BLEHeldConnection.Subscription(characteristic: visitor.uuid, properties: [index]))
            }
        }
        self.subscriptions = subscriptions
    }

    /// The device's address, key and every property's source; throws for bad settings
    /// (also used to check a board's config before anything starts).
    static func parse(_ spec: DeviceSpec) throws(DocumentError)
        -> (address: BLEAddress, addressType: BLEAddressType, bindKey: [UInt8]?, sources: [Source]) {
        try spec.protocolConfig.rejectUnknown(BLEDeviceDriver.protocolKeys)
        guard let text = try spec.protocolConfig.string("macAddress"), let address = BLEBoardSettings.address(text) else {
            throw spec.protocolConfig.error("macAddress", "required: the device's address, e.g. A4:C1:38:00:00:02")
        }
        var key: [UInt8]? = nil
        if let hex = try spec.protocolConfig.string("bindKey") {
            // 32 characters that make 16 bytes: hex digits only, no separators.
            guard hex.utf8.count == 32, let bytes = DeviceConfigData.hexBytes(hex), bytes.count == 16 else {
                throw spec.protocolConfig.error("bindKey", "expected 32 hex digits (the BTHome bind key)")
            }
            key = bytes
        }
        var addressType = BLEAddressType.publicDevice
        if let kind = try spec.protocolConfig.string("addressType") {
            switch kind {
            case "public": addressType = .publicDevice
            case "random": addressType = .randomDevice
            default: throw spec.protocolConfig.error("addressType", "expected public or random")
            }
        }
        var sources: [Source] = []
        for property in spec.properties {
            try property.visitor.rejectUnknown(BLEDeviceDriver.visitorKeys)
            if let text = try property.visitor.string("characteristic") {
                guard let uuid = BLEUUID(text) else {
                    throw property.visitor.error("characteristic", "expected a 16-bit (2A6E) or 128-bit UUID")
                }
                var visitor = BLECharacteristicVisitor(uuid: uuid)
                if let name = try property.visitor.string("format") {
                    guard let parsed = BLEValueFormat(rawValue: name) else {
                        throw property.visitor.error("format", "expected uint8, int16le, uint16le or utf8")
                    }
                    visitor.format = parsed
                }
                if let scale = try property.visitor.double("scale") {
                    guard scale != 0 && scale.isFinite else { throw property.visitor.error("scale", "must be a non-zero number") }
                    guard visitor.format != .utf8 || scale == 1 else {
                        throw property.visitor.error("scale", "a utf8 value has no scale")
                    }
                    visitor.scale = scale
                }
                visitor.notify = try property.visitor.bool("notify") ?? false
                sources.append(.characteristic(visitor))
                continue
            }
            if property.visitor.field("notify") != nil {
                throw property.visitor.error("notify", "notifications come from a GATT characteristic: give its characteristic")
            }
            if property.visitor.field("scale") != nil {
                throw property.visitor.error("scale", "scale applies to a GATT characteristic's value, not to an advertised reading")
            }
            guard let name = try property.visitor.string("reading") else {
                throw property.visitor.error("reading", "required: the advertised reading (temperature, humidity, battery, rssi, ...) or a GATT characteristic")
            }
            if property.writable {
                throw property.visitor.error("reading", "property '\(property.name)' is ReadWrite: name its GATT characteristic to write it")
            }
            sources.append(.reading(name))
        }
        return (address, addressType, key, sources)
    }

    public static func validate(_ spec: DeviceSpec) throws(DocumentError) { _ = try parse(spec) }

    /// An advertisement or a notification, if any came: a device silent for this long (and
    /// with no connection held) is offline.
    private var lastSeen: Instant?
    static let silenceLimit = Duration.seconds(30)

    public func start() {
        link.register(self)
        events.stateChanged(.unknown, link.ready ? "no advertisement yet" : "waiting for the BLE controller")
    }

    public func stop() { link.unregister(self) }

    /// Advertisements and notifications come by themselves; a collect only checks they
    /// still do. A held connection is the device's presence (its link layer's supervision
    /// timeout ends it when the device goes): a connected peripheral stops advertising.
    public func collect(property index: Int) {
        guard seen, !connectionHeld, let lastSeen, link.now.since(lastSeen) > BLEDeviceDriver.silenceLimit else { return }
        seen = false
        let silence = "\(BLEDeviceDriver.silenceLimit.milliseconds / 1000) s"
        events.stateChanged(.offline, subscriptions.isEmpty ? "no advertisement for " + silence
                                                             : "no advertisement or notification for " + silence)
    }

    public func write(property index: Int, value: DeviceValue) {
        guard index >= 0 && index < sources.count, case .characteristic(let visitor) = sources[index] else {
            events.written(index, "an advertised reading cannot be written")
            return
        }
        guard let bytes = visitor.format.encode(value, scale: visitor.scale) else {
            let scale = visitor.scale == 1 ? "" : " (scale " + DeviceValue.double(visitor.scale).twinText + ")"
            events.written(index, "\(value.twinText) does not fit \(visitor.format.rawValue)" + scale)
            return
        }
        link.write(BLEGATTWrite(driver: self, property: index, peer: address, addressType: addressType,
                                characteristic: visitor.uuid, value: bytes))
    }

    /// A GATT write session finished (nil: written, and read back).
    func written(_ property: Int, failure: String?) {
        if failure == nil { counters.writes += 1 } else { counters.deviceErrors += 1 }
        events.written(property, failure)
    }

    /// The characteristic's value, read back after a write.
    func readBack(_ property: Int, value: [UInt8]) {
        guard let decoded = decode(property, value) else { return }
        counters.reads += 1
        events.reported(property, decoded)
    }

    /// A notify characteristic's value (a notification, or read while subscribing) for the
    /// properties it feeds: a reading, as an advertisement's.
    func characteristicValue(_ properties: [Int], value: [UInt8], now: Instant, notification: Bool) {
        if notification && !notificationProblem.isEmpty {
            notificationProblem = ""
            events.log("GATT notifications flow again")
        }
        lastSeen = now
        if !seen {
            seen = true
            events.stateChanged(.online, "")
        }
        var decodedAny = false
        for property in properties {
            guard let decoded = decode(property, value) else { continue }
            decodedAny = true
            events.reported(property, decoded)
        }
        if decodedAny { counters.reads += 1 } else { counters.badFrames += 1 }
    }

    private func decode(_ property: Int, _ value: [UInt8]) -> DeviceValue? {
        guard property >= 0 && property < sources.count, case .characteristic(let visitor) = sources[property] else { return nil }
        return visitor.format.decode(value, as: types[property], scale: visitor.scale)
    }

    /// The held connection is set up: the device is there.
    func notificationsStarted(_ subscriptions: [BLEHeldConnection.Subscription], now: Instant) {
        connectionHeld = true
        lastSeen = now
        if !notificationsAnnounced {
            notificationsAnnounced = true
            var list = ""
            for subscription in subscriptions {
                list += (list.isEmpty ? "" : ", ") + subscription.characteristic.description
                    + " (handle " + String(subscription.valueHandle) + ")"
            }
            events.log("holding a GATT connection for notifications of " + list)
        }
        if !seen {
            seen = true
            events.stateChanged(.online, "")
        }
    }

    /// The held connection closed; it is set up again after the back-off. The silence
    /// limit counts from now.
    func notificationsStopped(_ reason: String, now: Instant) {
        connectionHeld = false
        lastSeen = now
        notificationsFailed(reason)
    }

    /// A setup that failed, or a connection lost: logged once per distinct reason.
    func notificationsFailed(_ reason: String) {
        guard reason != notificationProblem else { return }
        notificationProblem = reason
        events.log("GATT notifications: " + reason + "; trying again after 1 s, doubling up to 30 s")
    }

    /// The controller was reset or lost: the connection is gone with it.
    func heldConnectionDropped() { connectionHeld = false }

    /// ATT PDUs that do not parse or that nobody asked for, on this device's connections.
    func countBadFrames(_ count: Int) { counters.badFrames += UInt64(count) }

    func controllerReady() {
        if !seen { events.stateChanged(.unknown, "no advertisement yet") }
    }

    func controllerLost(_ reason: String) {
        seen = false
        connectionHeld = false
        events.stateChanged(.offline, "BLE controller: " + reason)
    }

    func advertisement(_ decoded: BLEDecodedAdvertisement?) {
        lastSeen = link.now
        if !seen {
            seen = true
            events.stateChanged(.online, "")
        }
        guard let decoded else { return }
        counters.reads += 1
        for reading in decoded.readings {
            for (index, source) in sources.enumerated() {
                guard case .reading(let name) = source, reading.hasName(name) else { continue }
                switch types[index] {
                case .boolean: events.reported(index, .bool(reading.value != 0))
                case .int:
                    guard reading.value.isFinite, let whole = Int64(exactly: reading.value.rounded()) else { continue }
                    events.reported(index, .integer(whole))
                case .string, .bytes: events.reported(index, .text(DeviceValue.double(reading.value).twinText))
                case .float, .double: events.reported(index, .double(reading.value))
                }
            }
        }
    }
}

/// Where a property lives in a GATT characteristic: its UUID, its value's encoding and
/// scale, and whether its notifications are its readings.
struct BLECharacteristicVisitor {
    let uuid: BLEUUID
    var format = BLEValueFormat.uint8
    /// value = raw × scale (as Modbus's `scale`); a written value is divided by it.
    var scale: Double = 1
    var notify = false

    init(uuid: BLEUUID) { self.uuid = uuid }
}

/// How a GATT characteristic's value is encoded (little-endian, as GATT characteristics
/// are; Core Vol 3 Part G §3.3.3.5 formats).
public enum BLEValueFormat: String, Sendable {
    case uint8
    case int16le
    case uint16le
    case utf8

    func encode(_ value: DeviceValue, scale: Double = 1) -> [UInt8]? {
        if self == .utf8 { return Array(value.twinText.utf8) }
        guard let raw = value.asDouble else { return nil }
        let number = (scale == 1 ? raw : raw / scale).rounded()
        guard number.isFinite else { return nil }
        switch self {
        case .uint8: return UInt8(exactly: number).map { [$0] }
        case .int16le:
            guard let v = Int16(exactly: number) else { return nil }
            let bits = UInt16(bitPattern: v)
            return [UInt8(truncatingIfNeeded: bits), UInt8(bits >> 8)]
        case .uint16le:
            guard let v = UInt16(exactly: number) else { return nil }
            return [UInt8(truncatingIfNeeded: v), UInt8(v >> 8)]
        case .utf8: return nil
        }
    }

    func decode(_ bytes: [UInt8], as type: DevicePropertyType, scale: Double = 1) -> DeviceValue? {
        let number: Int64
        switch self {
        case .utf8: return .text(String(decoding: bytes, as: UTF8.self))
        case .uint8:
            guard bytes.count >= 1 else { return nil }
            number = Int64(bytes[0])
        case .int16le:
            guard bytes.count >= 2 else { return nil }
            number = Int64(Int16(bitPattern: UInt16(bytes[0]) | UInt16(bytes[1]) << 8))
        case .uint16le:
            guard bytes.count >= 2 else { return nil }
            number = Int64(UInt16(bytes[0]) | UInt16(bytes[1]) << 8)
        }
        guard scale != 1 else {
            switch type {
            case .boolean: return .bool(number != 0)
            case .float, .double: return .double(Double(number))
            case .string, .bytes: return .text(String(number))
            case .int: return .integer(number)
            }
        }
        let value = Double(number) * scale
        switch type {
        case .int:
            guard value.isFinite, let whole = Int64(exactly: value.rounded()) else { return nil }
            return .integer(whole)
        case .boolean: return .bool(value != 0)
        case .string, .bytes: return .text(DeviceValue.double(value).twinText)
        case .float, .double: return .double(value)
        }
    }
}
