import KingletCore
import KingletDocument
import KingletDevices

/// The board's ZNP stick on the loop: the serial line, the coordinator state machine, its
/// deadlines, and the ZigBee Devices that listen to it. Every Device driver registers here;
/// attribute reports go to the driver of the reporting device.
public final class ZigbeeCoordinatorLink {
    public let settings: ZigbeeBoardSettings
    public let coordinator: ZNPCoordinator
    private let loop: any EventLoop
    private let line: SerialLine
    private let deadline: DeadlineTimer
    private var listeners: [ZigbeeDeviceDriver] = []
    private var permitJoinRequested = false
    public private(set) var lastProblem = ""
    /// The device table changed (a join, a leave, endpoints found): keep it in the cache.
    public var devicesChanged: ([UInt8]) -> Void = { _ in }
    public var log: (String) -> Void = { _ in }

    public init(loop: any EventLoop, settings: ZigbeeBoardSettings, knownDevices: [UInt8]?) {
        self.loop = loop
        deadline = DeadlineTimer(loop: loop)
        self.settings = settings
        coordinator = ZNPCoordinator(network: settings.network)
        if let knownDevices { try? coordinator.importDevices(knownDevices) }
        line = SerialLine(loop: loop, path: settings.serialPort, baud: settings.baudRate, flowControl: settings.flowControl)
        deadline.fire = { [self] in
            self.coordinator.tick(now: self.loop.now)
            self.pump()
        }
        line.opened = { [self] in
            self.permitJoinRequested = false
            self.coordinator.start(now: self.loop.now)
            self.pump()
        }
        line.received = { [self] bytes in
            self.coordinator.received(bytes, now: self.loop.now)
            self.pump()
        }
        line.failed = { [self] reason in
            self.coordinator.stop()
            self.note(reason)
            for listener in self.listeners { listener.coordinatorLost(reason) }
        }
    }

    public var isReady: Bool { coordinator.state == .ready }

    public func start() { line.start() }

    public func stop() {
        deadline.stop()
        coordinator.stop()
        line.stop()
        listeners.removeAll()
    }

    func register(_ driver: ZigbeeDeviceDriver) {
        if !listeners.contains(where: { $0 === driver }) { listeners.append(driver) }
    }

    func unregister(_ driver: ZigbeeDeviceDriver) { listeners.removeAll { $0 === driver } }

    /// Writes what the coordinator queued, hands out its events, re-arms its deadline.
    func pump() {
        if coordinator.hasOutgoing {
            let written = coordinator.outgoingBytes.withUnsafeBufferPointer { line.write($0) }
            if written { coordinator.markWritten(coordinator.outgoingBytes.count) }
        }
        while let event = coordinator.nextEvent() { handle(event) }
        if coordinator.hasOutgoing {
            let written = coordinator.outgoingBytes.withUnsafeBufferPointer { line.write($0) }
            if written { coordinator.markWritten(coordinator.outgoingBytes.count) }
        }
        deadline.arm(at: coordinator.nextDeadline)
    }

    private func handle(_ event: ZigbeeEvent) {
        switch event {
        case .stateChanged(let state, let reason):
            note("coordinator on \(settings.serialPort) \(state.description): \(reason.description)")
            if state == .ready {
                lastProblem = ""
                if settings.permitJoinSeconds > 0 && !permitJoinRequested {
                    permitJoinRequested = true
                    _ = try? coordinator.permitJoin(seconds: settings.permitJoinSeconds)
                }
                for listener in listeners { listener.coordinatorReady() }
            } else if state == .failed {
                for listener in listeners { listener.coordinatorLost(reason.description) }
            }
        case .deviceJoined(let address):
            log("zigbee device \(address.ieee.description) joined as 0x\(String(address.nwk, radix: 16))")
            devicesChanged(coordinator.exportDevices())
            for listener in listeners where listener.ieee == address.ieee { listener.joined() }
        case .deviceLeft(let address, _):
            devicesChanged(coordinator.exportDevices())
            for listener in listeners where listener.ieee == address.ieee { listener.left() }
        case .endpointsDiscovered:
            devicesChanged(coordinator.exportDevices())
        case .attribute(let report):
            guard let ieee = report.ieee else { return }
            for listener in listeners where listener.ieee == ieee { listener.attribute(report) }
        case .commandStatus(let status):
            for listener in listeners where listener.ieee == status.ieee { listener.commandStatus(status) }
        case .requestCompleted(let id):
            for listener in listeners { listener.completed(id, failure: nil) }
        case .requestFailed(let id, let failure):
            for listener in listeners { listener.completed(id, failure: failure.description) }
        }
    }

    private func note(_ message: String) {
        guard message != lastProblem else { return }
        lastProblem = message
        log(message)
    }
}

/// One ZigBee end device (a KubeEdge Device with `protocolName: zigbee`): its readings come
/// from the coordinator's attribute reports; collect asks with Read Attributes when no report
/// came within the property's cycle; desired values go out as On/Off, Move to Level or Write
/// Attributes commands. Properties with `reporting` get their cluster bound to the
/// coordinator and Configure Reporting sent whenever the device is (again) on the network.
public final class ZigbeeDeviceDriver: DeviceDriver {
    let ieee: ZigbeeIEEEAddress
    private let link: ZigbeeCoordinatorLink
    private let loop: any EventLoop
    private let visitors: [ZigbeeVisitor]
    private let types: [DevicePropertyType]
    private let events: DeviceDriverEvents
    private var lastReport: [Instant?]
    private var lastValue: [ZCLValue?]
    private var pendingWrites: [ZigbeeRequestID: Int] = [:]
    private var pendingReads: [ZigbeeRequestID: Int] = [:]
    /// Bind and Configure Reporting requests in flight, and what each was for (a log line).
    private var pendingReporting: [ZigbeeRequestID: String] = [:]
    /// Reporting was asked for since the device (or the coordinator) last came up.
    private var reportingRequested = false
    public private(set) var counters = DeviceCounters()

    public static let protocolKeys = ["ieeeAddress", "endpoint"]

    public init(loop: any EventLoop, link: ZigbeeCoordinatorLink, spec: DeviceSpec, events: DeviceDriverEvents) throws(DocumentError) {
        let (ieee, visitors) = try ZigbeeDeviceDriver.parse(spec)
        self.ieee = ieee
        self.link = link
        self.loop = loop
        self.visitors = visitors
        self.events = events
        types = spec.properties.map { $0.type }
        lastReport = [Instant?](repeating: nil, count: visitors.count)
        lastValue = [ZCLValue?](repeating: nil, count: visitors.count)
    }

    /// The device's address and every property's visitor; throws for bad settings (also
    /// used to check a board's config before anything starts).
    public static func parse(_ spec: DeviceSpec) throws(DocumentError) -> (ZigbeeIEEEAddress, [ZigbeeVisitor]) {
        try spec.protocolConfig.rejectUnknown(ZigbeeDeviceDriver.protocolKeys)
        guard let text = try spec.protocolConfig.string("ieeeAddress"),
              let value = ZigbeeBoardSettings.parseNumber(text.contains(":") || text.hasPrefix("0x") ? text : "0x" + text) else {
            throw spec.protocolConfig.error("ieeeAddress", "required: the device's IEEE address, e.g. 00:12:4b:00:01:02:03:04")
        }
        let endpoint = UInt8(try ZigbeeBoardSettings.number(spec.protocolConfig, "endpoint", default: 1, limit: 240))
        var visitors: [ZigbeeVisitor] = []
        for property in spec.properties { visitors.append(try ZigbeeVisitor.decode(property.visitor, defaultEndpoint: endpoint)) }
        return (ZigbeeIEEEAddress(value), visitors)
    }

    public func start() {
        link.register(self)
        if link.isReady {
            coordinatorReady()
            link.pump()  // the reporting requests coordinatorReady may have queued
        } else {
            events.stateChanged(.unknown, "waiting for the ZigBee coordinator")
        }
    }

    public func stop() { link.unregister(self) }

    public func collect(property index: Int) {
        guard index >= 0 && index < visitors.count, link.isReady else { return }
        let visitor = visitors[index]
        // Devices report by themselves; ask only when nothing came within the last second
        // (battery devices sleep: asking on every cycle would only queue requests).
        if let last = lastReport[index], loop.now.since(last) < .seconds(1) { return }
        if pendingReads.values.contains(index) { return }
        do throws(ZigbeeRequestError) {
            let id = try link.coordinator.readAttributes([visitor.attribute], of: ieee, endpoint: visitor.endpoint, cluster: visitor.cluster)
            pendingReads[id] = index
            link.pump()
        } catch {
            if case .queueFull = error { return }
            events.stateChanged(.offline, error.description)
        }
    }

    public func write(property index: Int, value: DeviceValue) {
        guard index >= 0 && index < visitors.count else { return }
        let visitor = visitors[index]
        do throws(ZigbeeRequestError) {
            let id: ZigbeeRequestID
            switch (visitor.cluster, visitor.attribute) {
            case (ZCLClusterID.onOff, 0):
                guard let number = value.asDouble else { events.written(index, "not a boolean"); return }
                id = try link.coordinator.setOnOff(number != 0 ? .on : .off, device: ieee, endpoint: visitor.endpoint)
            case (ZCLClusterID.levelControl, 0):
                guard let number = value.asDouble, number >= 0, number <= 254 else { events.written(index, "a level is 0 to 254"); return }
                id = try link.coordinator.moveToLevel(UInt8(number.rounded()), device: ieee, endpoint: visitor.endpoint)
            default:
                guard let template = lastValue[index], let encoded = ZigbeeDeviceDriver.encode(value, like: template) else {
                    events.written(index, "the attribute's type is not known yet (no report seen)")
                    return
                }
                id = try link.coordinator.writeAttribute(visitor.attribute, value: encoded, of: ieee, endpoint: visitor.endpoint,
                                                         cluster: visitor.cluster)
            }
            pendingWrites[id] = index
            link.pump()
        } catch {
            events.written(index, error.description)
        }
    }

    // MARK: from the coordinator link

    func coordinatorReady() {
        if link.coordinator.devices.device(ieee: ieee) != nil {
            events.stateChanged(.online, "")
            requestReporting()
        } else {
            events.stateChanged(.unknown, "device \(ieee.description) has not joined the network")
        }
    }

    func coordinatorLost(_ reason: String) {
        pendingReads.removeAll()
        pendingReporting.removeAll()
        reportingRequested = false
        for (_, index) in pendingWrites { events.written(index, "the coordinator went away: " + reason) }
        pendingWrites.removeAll()
        events.stateChanged(.offline, "ZigBee coordinator: " + reason)
    }

    func joined() {
        events.stateChanged(.online, "")
        // A device that joins again may have been reset: its bindings and reporting with it.
        reportingRequested = false
        requestReporting()
    }

    func left() {
        reportingRequested = false
        events.stateChanged(.offline, "device \(ieee.description) left the network")
    }

    /// Binds each cluster that has properties with `reporting` to the coordinator and sends
    /// one Configure Reporting per cluster with their records. Once per time the device (or
    /// the coordinator) comes up; a refusal is counted and logged, polling goes on. Only
    /// queued here: this runs inside the link's pump (which writes the queue when its events
    /// are handled) or from `start`, which pumps after it.
    private func requestReporting() {
        guard !reportingRequested, link.isReady else { return }
        reportingRequested = true
        var done: [(UInt8, UInt16)] = []
        for visitor in visitors where visitor.reporting != nil && !done.contains(where: { $0 == (visitor.endpoint, visitor.cluster) }) {
            done.append((visitor.endpoint, visitor.cluster))
            var records: [ZCLReportingConfiguration] = []
            for other in visitors where other.endpoint == visitor.endpoint && other.cluster == visitor.cluster {
                if let reporting = other.reporting, let record = reporting.record(cluster: other.cluster, attribute: other.attribute),
                   !records.contains(where: { $0.attribute == record.attribute }) {
                    records.append(record)
                }
            }
            let what = "cluster 0x\(String(visitor.cluster, radix: 16)) on endpoint \(visitor.endpoint)"
            do throws(ZigbeeRequestError) {
                pendingReporting[try link.coordinator.bind(ieee, endpoint: visitor.endpoint, cluster: visitor.cluster)] = "bind " + what
                pendingReporting[try link.coordinator.configureReporting(records, of: ieee, endpoint: visitor.endpoint,
                                                                         cluster: visitor.cluster)] = "configure reporting of " + what
            } catch {
                counters.deviceErrors += 1
                // Asked again at the next join or coordinator start.
                reportingRequested = false
                events.log("zigbee device \(ieee.description): cannot ask for reports of \(what): \(error.description)")
            }
        }
    }

    func attribute(_ report: ZigbeeAttributeReport) {
        for (index, visitor) in visitors.enumerated()
        where visitor.cluster == report.cluster && visitor.attribute == report.attribute && visitor.endpoint == report.endpoint {
            lastReport[index] = loop.now
            lastValue[index] = report.value
            counters.reads += 1
            if let value = ZigbeeDeviceDriver.value(of: report, as: types[index]) { events.reported(index, value) }
        }
    }

    func commandStatus(_ status: ZigbeeCommandStatus) {
        guard status.status != .success else { return }
        counters.deviceErrors += 1
        if status.command == ZCLGlobalCommandID.configureReporting {
            events.log("zigbee device \(ieee.description) refused reporting of cluster 0x\(String(status.cluster, radix: 16))"
                + " attribute 0x\(String(status.attribute ?? 0, radix: 16)): \(status.status.description)")
        }
    }

    func completed(_ id: ZigbeeRequestID, failure: String?) {
        if let index = pendingWrites.removeValue(forKey: id) {
            if failure == nil { counters.writes += 1 } else { counters.timeouts += 1 }
            events.written(index, failure)
        } else if let _ = pendingReads.removeValue(forKey: id), let failure {
            counters.timeouts += 1
            events.stateChanged(.offline, failure)
        } else if let what = pendingReporting.removeValue(forKey: id), let failure {
            counters.timeouts += 1
            // Asked again when the device next joins or the coordinator restarts.
            reportingRequested = false
            events.log("zigbee device \(ieee.description): \(what) failed: \(failure)")
        }
    }

    static func value(of report: ZigbeeAttributeReport, as type: DevicePropertyType) -> DeviceValue? {
        let number: Double
        if let reading = report.reading {
            number = reading.value
        } else if let raw = report.value.integerValue {
            number = Double(raw)
        } else if case .float(let value) = report.value {
            number = Double(value)
        } else if case .characterString(let bytes) = report.value {
            return .text(String(decoding: bytes, as: UTF8.self))
        } else {
            return nil
        }
        guard number.isFinite else { return nil }
        switch type {
        case .boolean: return .bool(number != 0)
        case .int:
            guard let whole = Int64(exactly: number.rounded()) else { return nil }
            return .integer(whole)
        case .string, .bytes: return .text(DeviceValue.double(number).twinText)
        case .float, .double: return .double(number)
        }
    }

    /// `value` in the ZCL type of an earlier reading of the same attribute (raw units).
    static func encode(_ value: DeviceValue, like template: ZCLValue) -> ZCLValue? {
        guard let number = value.asDouble?.rounded() else { return nil }
        switch template {
        case .bool: return .bool(number != 0)
        case .uint8: return UInt8(exactly: number).map { .uint8($0) }
        case .uint16: return UInt16(exactly: number).map { .uint16($0) }
        case .uint32: return UInt32(exactly: number).map { .uint32($0) }
        case .int8: return Int8(exactly: number).map { .int8($0) }
        case .int16: return Int16(exactly: number).map { .int16($0) }
        case .int32: return Int32(exactly: number).map { .int32($0) }
        case .enum8: return UInt8(exactly: number).map { .enum8($0) }
        case .bitmap8: return UInt8(exactly: number).map { .bitmap8($0) }
        default: return nil
        }
    }
}
