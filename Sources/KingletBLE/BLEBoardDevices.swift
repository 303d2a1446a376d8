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

    public init(loop: any EventLoop, settings: BLEBoardSettings) throws(BLEScannerError) {
        var configuration = BLEScannerConfiguration()
        configuration.minimumReportInterval = .milliseconds(settings.minimumReportIntervalMilliseconds)
        if settings.activeScan { configuration.scan.scanType = .active }
        scanner = try BLEScanner(configuration: configuration)
        self.settings = settings
        self.loop = loop
        deadline = DeadlineTimer(loop: loop)
        if let device = settings.hciDevice {
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
        listenedAddressesChanged()
    }

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
        gatt.forget(driver)
        listeners.removeAll { $0 === driver }
        decoder.removeBindKey(for: driver.address)
        listenedAddressesChanged()
    }

    private func pump() {
        while let bytes = scanner.takeOutgoing() { _ = line.write(bytes) }
        while let event = scanner.nextEvent() {
            let sessionPeer = gatt.activePeer
            if !gatt.isIdle { gatt.handle(event, scanner: scanner, now: loop.now) }
            switch event {
            case .ready:
                ready = true
                lastProblem = ""
                log("BLE controller on \(line.path) is scanning (\(filterDescription))")
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
                ready = false
                note("BLE controller on \(line.path): \(error.description)")
                for listener in listeners { listener.controllerLost(error.description) }
            case .connected(let complete):
                // A connection no session waits for (one that completed after its session
                // gave up): close it rather than leak it.
                if complete.status == .success && sessionPeer != complete.peer {
                    try? scanner.disconnect(handle: complete.handle, now: loop.now)
                }
            case .connectionFailed, .disconnected, .aclData, .scanningStopped, .scanningResumed:
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
/// battery, rssi, ...); its writable properties are GATT characteristics (`characteristic`:
/// a UUID), written in a short GATT session and read back. Online while advertisements come.
public final class BLEDeviceDriver: DeviceDriver {
    let address: BLEAddress
    let bindKey: [UInt8]?
    private let link: BLEControllerLink
    private let sources: [Source]
    private let addressType: BLEAddressType
    private let types: [DevicePropertyType]
    private let events: DeviceDriverEvents
    public private(set) var counters = DeviceCounters()
    private var seen = false

    /// Where a property lives: an advertised reading, or a GATT characteristic (actuators).
    enum Source {
        case reading(String)
        case characteristic(BLEUUID, BLEValueFormat)
    }

    public static let protocolKeys = ["macAddress", "addressType", "bindKey"]

    public init(link: BLEControllerLink, spec: DeviceSpec, events: DeviceDriverEvents) throws(DocumentError) {
        let parsed = try BLEDeviceDriver.parse(spec)
        self.addressType = parsed.addressType
        self.address = parsed.address
        self.bindKey = parsed.bindKey
        self.link = link
        self.sources = parsed.sources
        self.events = events
        types = spec.properties.map { $0.type }
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
            try property.visitor.rejectUnknown(["reading", "characteristic", "format"])
            if let text = try property.visitor.string("characteristic") {
                guard let uuid = BLEUUID(text) else {
                    throw property.visitor.error("characteristic", "expected a 16-bit (2A6E) or 128-bit UUID")
                }
                var format = BLEValueFormat.uint8
                if let name = try property.visitor.string("format") {
                    guard let parsed = BLEValueFormat(rawValue: name) else {
                        throw property.visitor.error("format", "expected uint8, int16le, uint16le or utf8")
                    }
                    format = parsed
                }
                sources.append(.characteristic(uuid, format))
                continue
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

    /// An advertisement, if any came: a device silent for this long is offline.
    private var lastSeen: Instant?
    static let silenceLimit = Duration.seconds(30)

    public func start() {
        link.register(self)
        events.stateChanged(.unknown, link.ready ? "no advertisement yet" : "waiting for the BLE controller")
    }

    public func stop() { link.unregister(self) }

    /// Advertisements come by themselves; a collect only checks they still do.
    public func collect(property index: Int) {
        guard seen, let lastSeen, link.now.since(lastSeen) > BLEDeviceDriver.silenceLimit else { return }
        seen = false
        events.stateChanged(.offline, "no advertisement for \(BLEDeviceDriver.silenceLimit.milliseconds / 1000) s")
    }

    public func write(property index: Int, value: DeviceValue) {
        guard index >= 0 && index < sources.count, case .characteristic(let uuid, let format) = sources[index] else {
            events.written(index, "an advertised reading cannot be written")
            return
        }
        guard let bytes = format.encode(value) else {
            events.written(index, "\(value.twinText) does not fit \(format.rawValue)")
            return
        }
        link.write(BLEGATTWrite(driver: self, property: index, peer: address, addressType: addressType,
                                characteristic: uuid, value: bytes))
    }

    /// A GATT write session finished (nil: written, and read back).
    func written(_ property: Int, failure: String?) {
        if failure == nil { counters.writes += 1 } else { counters.deviceErrors += 1 }
        events.written(property, failure)
    }

    /// The characteristic's value, read back after a write.
    func readBack(_ property: Int, value: [UInt8]) {
        guard property >= 0 && property < sources.count, case .characteristic(_, let format) = sources[property],
              let decoded = format.decode(value, as: types[property]) else { return }
        counters.reads += 1
        events.reported(property, decoded)
    }

    func controllerReady() {
        if !seen { events.stateChanged(.unknown, "no advertisement yet") }
    }

    func controllerLost(_ reason: String) {
        seen = false
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

/// How a GATT characteristic's value is encoded (little-endian, as GATT characteristics
/// are; Core Vol 3 Part G §3.3.3.5 formats).
public enum BLEValueFormat: String, Sendable {
    case uint8
    case int16le
    case uint16le
    case utf8

    func encode(_ value: DeviceValue) -> [UInt8]? {
        if self == .utf8 { return Array(value.twinText.utf8) }
        guard let number = value.asDouble?.rounded() else { return nil }
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

    func decode(_ bytes: [UInt8], as type: DevicePropertyType) -> DeviceValue? {
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
        switch type {
        case .boolean: return .bool(number != 0)
        case .float, .double: return .double(Double(number))
        case .string, .bytes: return .text(String(number))
        case .int: return .integer(number)
        }
    }
}
