import KingletCore
import KingletDevices
import KingletDocument
import KingletPod

/// The board's Bluetooth controller (`devices.ble` in the config): an H4 UART (a
/// serial-attached controller) that every BLE Device of the board listens through.
public struct BLEBoardSettings: Equatable {
    public var serialPort: String
    public var baudRate: Int32 = 115_200
    public var flowControl = false
    /// The fastest one device's advertisements are taken (ours, not the controller's).
    public var minimumReportIntervalMilliseconds: Int64 = 1_000
    public var activeScan = false

    public static let keys = ["serialPort", "baudRate", "flowControl", "minimumReportInterval", "activeScan"]

    public static func decode(_ config: DeviceConfigData) throws(DocumentError) -> BLEBoardSettings {
        try config.rejectUnknown(keys)
        guard let port = try config.string("serialPort"), !port.isEmpty else {
            throw config.error("serialPort", "required: the H4 controller's serial device, e.g. /dev/ttyAMA0")
        }
        var settings = BLEBoardSettings(serialPort: port)
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
    private var deadlineTimer: TimerHandle?
    private var armedDeadline: Instant?
    private var onDeadline: () -> Void = {}
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
        line = SerialLine(loop: loop, path: settings.serialPort, baud: settings.baudRate, flowControl: settings.flowControl)
        onDeadline = { [self] in
            self.deadlineTimer = nil
            self.armedDeadline = nil
            self.scanner.tick(now: self.loop.now)
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

    public func stop() {
        if let deadlineTimer { loop.cancel(deadlineTimer) }
        deadlineTimer = nil
        line.stop()
        onDeadline = {}
        listeners.removeAll()
    }

    func register(_ driver: BLEDeviceDriver) {
        if !listeners.contains(where: { $0 === driver }) { listeners.append(driver) }
        if let key = driver.bindKey { try? decoder.setBindKey(key, for: driver.address) }
    }

    func unregister(_ driver: BLEDeviceDriver) {
        listeners.removeAll { $0 === driver }
        decoder.removeBindKey(for: driver.address)
    }

    private func pump() {
        while let bytes = scanner.takeOutgoing() { _ = line.write(bytes) }
        while let event = scanner.nextEvent() {
            switch event {
            case .ready:
                ready = true
                lastProblem = ""
                log("BLE controller on \(settings.serialPort) is scanning")
                for listener in listeners { listener.controllerReady() }
            case .advertisement(let report):
                // Only devices someone listens for are decoded: the rest cost one compare.
                guard listeners.contains(where: { $0.address == report.address }) else { continue }
                guard let decoded = decoder.decode(report) else { continue }
                for listener in listeners where listener.address == report.address { listener.advertisement(decoded) }
            case .failed(let error):
                ready = false
                note("BLE controller on \(settings.serialPort): \(error.description)")
                for listener in listeners { listener.controllerLost(error.description) }
            case .connected, .connectionFailed, .disconnected, .aclData, .scanningStopped, .scanningResumed:
                break
            }
        }
        while let bytes = scanner.takeOutgoing() { _ = line.write(bytes) }
        let next = scanner.nextDeadline
        if next != armedDeadline {
            if let deadlineTimer { loop.cancel(deadlineTimer) }
            deadlineTimer = nil
            armedDeadline = next
            if let next { deadlineTimer = loop.schedule(at: next, onDeadline) }
        }
    }

    private func note(_ message: String) {
        guard message != lastProblem else { return }
        lastProblem = message
        log(message)
    }
}

/// One BLE sensor (a KubeEdge Device with `protocolName: ble`): its properties are readings
/// decoded from its advertisements (BTHome v2, plain or encrypted with `bindKey`; iBeacon,
/// Eddystone, Ruuvi), named in each visitor's `reading` (temperature, humidity, battery,
/// rssi, ...). The device is online while advertisements arrive.
public final class BLEDeviceDriver: DeviceDriver {
    let address: BLEAddress
    let bindKey: [UInt8]?
    private let link: BLEControllerLink
    private let readings: [String]
    private let types: [DevicePropertyType]
    private let events: DeviceDriverEvents
    public private(set) var counters = DeviceCounters()
    private var seen = false

    public static let protocolKeys = ["macAddress", "bindKey"]

    public init(link: BLEControllerLink, spec: DeviceSpec, events: DeviceDriverEvents) throws(DocumentError) {
        try spec.protocolConfig.rejectUnknown(BLEDeviceDriver.protocolKeys)
        guard let text = try spec.protocolConfig.string("macAddress"), let address = BLEBoardSettings.address(text) else {
            throw spec.protocolConfig.error("macAddress", "required: the device's address, e.g. A4:C1:38:00:00:02")
        }
        var key: [UInt8]? = nil
        if let hex = try spec.protocolConfig.string("bindKey") {
            var bytes: [UInt8] = []
            var index = hex.utf8.startIndex
            let utf8 = hex.utf8
            while index < utf8.endIndex {
                let next = utf8.index(after: index)
                guard next < utf8.endIndex, let byte = UInt8(String(decoding: [utf8[index], utf8[next]], as: UTF8.self), radix: 16) else {
                    throw spec.protocolConfig.error("bindKey", "expected 32 hex digits (the BTHome bind key)")
                }
                bytes.append(byte)
                index = utf8.index(after: next)
            }
            guard bytes.count == 16 else { throw spec.protocolConfig.error("bindKey", "expected 32 hex digits (the BTHome bind key)") }
            key = bytes
        }
        var readings: [String] = []
        for property in spec.properties {
            try property.visitor.rejectUnknown(["reading"])
            guard let name = try property.visitor.string("reading") else {
                throw property.visitor.error("reading", "required: the advertised reading, e.g. temperature, humidity, battery, rssi")
            }
            if property.writable {
                throw property.visitor.error("reading", "property '\(property.name)' is ReadWrite: BLE devices are read from their advertisements in this version")
            }
            readings.append(name)
        }
        self.address = address
        self.bindKey = key
        self.link = link
        self.readings = readings
        self.events = events
        types = spec.properties.map { $0.type }
    }

    public func start() {
        link.register(self)
        events.stateChanged(.unknown, link.ready ? "no advertisement yet" : "waiting for the BLE controller")
    }

    public func stop() { link.unregister(self) }

    /// Advertisements come by themselves.
    public func collect(property index: Int) {}

    public func write(property index: Int, value: DeviceValue) {
        events.written(index, "BLE properties are read-only in this version")
    }

    func controllerReady() {
        if !seen { events.stateChanged(.unknown, "no advertisement yet") }
    }

    func controllerLost(_ reason: String) {
        seen = false
        events.stateChanged(.offline, "BLE controller: " + reason)
    }

    func advertisement(_ decoded: BLEDecodedAdvertisement) {
        seen = true
        counters.reads += 1
        for reading in decoded.readings {
            for (index, name) in readings.enumerated() where name == reading.name {
                switch types[index] {
                case .boolean: events.reported(index, .bool(reading.value != 0))
                case .int: events.reported(index, .integer(Int64(reading.value.rounded())))
                case .string, .bytes: events.reported(index, .text(DeviceValue.double(reading.value).twinText))
                case .float, .double: events.reported(index, .double(reading.value))
                }
            }
        }
    }
}
