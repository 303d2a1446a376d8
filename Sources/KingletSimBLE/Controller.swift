/// KingletSimBLE: a simulated Bluetooth LE controller behind an H4 UART, for Kinglet's tests
/// and demo. `BLEController` is a pure byte-level state machine: `received(_:)` takes the
/// octets the Host wrote and returns the octets the Controller sends back; `tick(now:)` moves
/// the clock and returns what timed activity (advertising reports, connection events,
/// notifications) produced. `PTYServer` runs one on a pseudo-terminal.
///
/// Written from the Bluetooth Core specification (Vol 4 Part A UART transport, Vol 4 Part E
/// HCI, Vol 3 Parts A, F, G: L2CAP, ATT, GATT) and the advertisement formats' public specs.

/// LE Set Scan Parameters' values (Core Vol 4 Part E §7.8.10); the defaults are the spec's.
struct ScanParameters: Sendable {
    var active = false
    /// Units of 0.625 ms.
    var interval: UInt16 = 0x0010
    var window: UInt16 = 0x0010
    var ownAddressType: UInt8 = 0
    var filterPolicy: UInt8 = 0
}

struct ScanState: Sendable {
    var filterDuplicates: Bool
    let start: SimInstant
    /// Reports already sent while duplicates are filtered: address, type, and whether it was
    /// a scan response. Data is not significant (Core Vol 6 Part B §4.4.3.5).
    var seen: Set<DuplicateKey> = []
}

struct DuplicateKey: Hashable, Sendable {
    let address: BDAddress
    let type: AddressType
    let scanResponse: Bool
}

struct FilterAcceptEntry: Hashable, Sendable {
    /// 0x00 public, 0x01 random, 0xFF anonymous advertisements.
    let type: UInt8
    let address: BDAddress
}

/// A pending LE Create Connection.
struct Initiation: Sendable {
    let useFilterAcceptList: Bool
    let peerType: UInt8
    let peer: BDAddress
    let scanInterval: UInt16
    let scanWindow: UInt16
    let start: SimInstant
    let intervalMin: UInt16
    let latency: UInt16
    let timeout: UInt16
}

struct Connection: Sendable {
    let handle: UInt16
    let peripheral: Int
    /// Units of 1.25 ms.
    let interval: UInt16
    let latency: UInt16
    let timeout: UInt16
    let anchor: SimInstant
    var session = ATTSession()
    /// Host ACL packets in the controller's buffers, sent at the next connection event.
    var fromHost: [(flags: UInt8, data: [UInt8])] = []
    var pendingEvent: SimInstant?
    var reassembly: [UInt8]?
    var disconnecting = false

    var intervalNanoseconds: UInt64 { UInt64(interval) * 1_250_000 }

    /// The first connection event strictly after `t`.
    func nextEvent(after t: SimInstant) -> SimInstant {
        let elapsed = t.since(anchor)
        let k = elapsed / intervalNanoseconds + 1
        return anchor.adding(nanoseconds: k * intervalNanoseconds)
    }
}

public struct ControllerStatistics: Sendable, Equatable {
    public var commands = 0
    public var unknownCommands = 0
    public var advertisingReports = 0
    public var connections = 0
    public var aclFromHost = 0
    public var aclToHost = 0
    public var syncLosses = 0
    public var bufferOverflows = 0
}

private enum DeferredAction: Sendable {
    case send(H4Packet)
    case completeDisconnection(handle: UInt16)
}

public struct BLEController: Sendable {
    public let config: SimulationConfig
    private let log: BLESimLog
    private var rng: SimRandom
    private var clock: SimInstant
    private var deframer: H4Deframer
    private var faults: FaultInjector

    // Controller state that HCI_Reset restores.
    private var eventMask: UInt64 = BLEController.defaultEventMask
    private var leEventMask: UInt64 = BLEController.defaultLEEventMask
    private var randomAddress: BDAddress?
    private var scanParameters = ScanParameters()
    private var scanning: ScanState?
    private var initiating: Initiation?
    private var filterAcceptList: [FilterAcceptEntry] = []
    private var connections: [UInt16: Connection] = [:]
    private var nextHandle: UInt16 = BLEController.firstHandle
    private var deferred: [(due: SimInstant, action: DeferredAction)] = []
    private var hostPacketsInBuffer = 0

    private var peripherals: [Peripheral] = []
    public private(set) var statistics = ControllerStatistics()

    /// Set Event Mask's default (Core Vol 4 Part E §7.3.1): LE Meta (bit 61) is off until the Host sets it.
    static let defaultEventMask: UInt64 = 0x0000_1FFF_FFFF_FFFF
    /// LE Set Event Mask's default (§7.8.1): the first five LE subevents.
    static let defaultLEEventMask: UInt64 = 0x0000_0000_0000_001F
    /// Handles start away from 0 so a Host that assumes a handle is caught.
    static let firstHandle: UInt16 = 0x0040
    static let filterAcceptListSize = 8
    /// Our choice of Hardware_Code for a lost H4 synchronisation (the code is vendor-defined).
    static let syncLostHardwareCode: UInt8 = 0x01
    /// A peripheral more than this far behind the clock skips ahead without reports.
    static let catchUpLimitNanoseconds: UInt64 = 2_000_000_000
    /// Work done per tick is bounded; the rest waits for the next tick.
    static let maxStepsPerTick = 10_000

    public init(config: SimulationConfig, faults: FaultPlan = FaultPlan(), start: SimInstant, log: BLESimLog = .silent) {
        self.config = config
        self.log = log
        rng = SimRandom(seed: config.seed)
        clock = start
        deframer = .controllerSide(maxACLLength: Int(config.controller.aclDataPacketLength))
        self.faults = FaultInjector(plan: faults, seed: config.seed)
        for d in config.devices {
            peripherals.append(Peripheral(d, start: start, rng: &rng))
        }
    }

    public var faultCounters: FaultCounters { faults.counters }

    /// Whether the controller threw away Host bytes after a loss of synchronisation and now
    /// waits for HCI_Reset.
    public var awaitingReset: Bool { deframer.awaitingReset }

    // MARK: - Byte interface

    /// Takes octets the Host wrote; returns the octets the Controller sends at once.
    public mutating func received(_ bytes: [UInt8]) -> [UInt8] {
        var out: [H4Packet] = []
        for input in deframer.push(bytes) {
            switch input {
            case let .syncLost(byte, reason):
                statistics.syncLosses += 1
                log.info("H4 synchronisation lost (\(reason)); discarding input until HCI_Reset")
                _ = byte
                emit(HCIEvent.hardwareError(code: BLEController.syncLostHardwareCode), into: &out)
            case let .packet(.command(opcode, parameters)):
                statistics.commands += 1
                log.debug("< command 0x\(hex4(opcode)) \(hexDump(parameters))")
                handleCommand(opcode, parameters, into: &out)
            case let .packet(.acl(handle, flags, data)):
                log.debug("< ACL handle 0x\(hex4(handle)) flags \(flags) \(hexDump(data))")
                handleACL(handle: handle, flags: flags, data: data, into: &out)
            case let .packet(other):
                log.info("ignored a packet an LE controller does not take: \(hexDump(other.encoded))")
            }
        }
        return render(out)
    }

    /// Moves the clock to `now` and runs whatever fell due: advertising events, deferred
    /// events, connection events, notifications.
    public mutating func tick(now: SimInstant) -> [UInt8] {
        if now > clock { clock = now }
        var out: [H4Packet] = []
        catchUpPeripherals()
        var steps = 0
        while steps < BLEController.maxStepsPerTick, let step = earliestDue() {
            steps += 1
            switch step {
            case let .advertising(index): advertisingEvent(index, into: &out)
            case let .deferred(index):
                let item = deferred.remove(at: index)
                runDeferred(item.action, into: &out)
            case let .connectionEvent(handle): connectionEvent(handle, into: &out)
            case let .notification(handle, characteristic): notify(handle, characteristic, into: &out)
            }
        }
        return render(out)
    }

    /// When `tick` next has work; nil when only the Host can make something happen.
    public func nextDeadline() -> SimInstant? {
        var best: SimInstant?
        func consider(_ t: SimInstant) { if best == nil || t < best! { best = t } }
        if scanning != nil || initiating != nil {
            for p in peripherals where p.connection == nil { consider(p.nextAdvertising) }
        }
        for d in deferred { consider(d.due) }
        for c in connections.values {
            if let e = c.pendingEvent { consider(e) }
            for (_, t) in c.session.nextNotification { consider(t) }
        }
        return best
    }

    private mutating func render(_ packets: [H4Packet]) -> [UInt8] {
        for p in packets { log.debug("> \(hexDump(p.encoded))") }
        return faults.render(packets, log: log)
    }

    /// Appends an event unless the Host masked it away (Set Event Mask, LE Set Event Mask).
    private func emit(_ packet: H4Packet, into out: inout [H4Packet]) {
        if case let .event(code, parameters) = packet, let known = HCIEventCode(rawValue: code), let bit = known.maskBit {
            guard eventMask & (1 << UInt64(bit)) != 0 else {
                log.debug("event 0x\(hex2(code)) masked by Set Event Mask")
                return
            }
            if known == .leMeta, let sub = parameters.first, sub >= 1 {
                guard leEventMask & (1 << UInt64(sub - 1)) != 0 else {
                    log.debug("LE subevent 0x\(hex2(sub)) masked by LE Set Event Mask")
                    return
                }
            }
        }
        out.append(packet)
    }

    // MARK: - Commands

    private mutating func handleCommand(_ opcode: UInt16, _ p: [UInt8], into out: inout [H4Packet]) {
        guard let command = HCICommand(rawValue: opcode) else {
            statistics.unknownCommands += 1
            log.info("unknown HCI command 0x\(hex4(opcode)) (OGF 0x\(hex2(UInt8(opcode >> 10))), OCF 0x\(hex4(opcode & 0x03FF))): Unknown HCI Command")
            switch config.controller.unknownCommandEvent {
            case .commandComplete: out.append(HCIEvent.commandComplete(opcode, status: .unknownCommand))
            case .commandStatus: out.append(HCIEvent.commandStatus(opcode, status: .unknownCommand))
            }
            return
        }
        guard p.count == command.parameterLength else {
            log.info("HCI command 0x\(hex4(opcode)) with \(p.count) parameter octets, expected \(command.parameterLength)")
            reply(command, .invalidParameters, into: &out)
            return
        }
        var r = ByteReader(p)
        switch command {
        case .reset:
            reset()
            out.append(HCIEvent.commandComplete(opcode, status: .success))

        case .setEventMask:
            eventMask = readU64(p)
            out.append(HCIEvent.commandComplete(opcode, status: .success))

        case .leSetEventMask:
            leEventMask = readU64(p)
            out.append(HCIEvent.commandComplete(opcode, status: .success))

        case .readLocalVersionInformation:
            var w = ByteWriter()
            // Core 5.0 (0x09) for HCI and LMP; company 0xFFFF, the value for tests before a
            // company identifier is assigned (Assigned Numbers, Company Identifiers).
            w.u8(0x09)
            w.u16(0x0001)
            w.u8(0x09)
            w.u16(0xFFFF)
            w.u16(0x0001)
            out.append(HCIEvent.commandComplete(opcode, status: .success, w.bytes))

        case .readLocalSupportedCommands:
            out.append(HCIEvent.commandComplete(opcode, status: .success, HCICommand.supportedCommandsMask))

        case .readLocalSupportedFeatures:
            // LMP features page 0: bit 37 BR/EDR Not Supported, bit 38 LE Supported (Controller).
            out.append(HCIEvent.commandComplete(opcode, status: .success, [0, 0, 0, 0, 0x60, 0, 0, 0]))

        case .readBufferSize:
            // An LE-only controller shares its LE buffers; no synchronous buffers.
            var w = ByteWriter()
            w.u16(config.controller.aclDataPacketLength)
            w.u8(0)
            w.u16(UInt16(config.controller.totalNumACLDataPackets))
            w.u16(0)
            out.append(HCIEvent.commandComplete(opcode, status: .success, w.bytes))

        case .readBDAddr:
            out.append(HCIEvent.commandComplete(opcode, status: .success, config.controller.address.wireOrder))

        case .leReadBufferSize:
            var w = ByteWriter()
            w.u16(config.controller.aclDataPacketLength)
            w.u8(config.controller.totalNumACLDataPackets)
            out.append(HCIEvent.commandComplete(opcode, status: .success, w.bytes))

        case .leReadLocalSupportedFeatures:
            // No optional LE features: no encryption, no extended advertising, no privacy.
            out.append(HCIEvent.commandComplete(opcode, status: .success, [UInt8](repeating: 0, count: 8)))

        case .leSetRandomAddress:
            // Not while scanning or initiating (§7.8.4).
            guard scanning == nil, initiating == nil else { return reply(command, .commandDisallowed, into: &out) }
            randomAddress = BDAddress(wireOrder: p)
            out.append(HCIEvent.commandComplete(opcode, status: .success))

        case .leSetScanParameters:
            // Not while scanning is enabled (§7.8.10).
            guard scanning == nil else { return reply(command, .commandDisallowed, into: &out) }
            let type = r.u8()!, interval = r.u16()!, window = r.u16()!, own = r.u8()!, policy = r.u8()!
            guard type <= 1, (0x0004...0x4000).contains(interval), (0x0004...0x4000).contains(window),
                  window <= interval, own <= 3, policy <= 3 else {
                log.info("LE Set Scan Parameters refused: type \(type) interval 0x\(hex4(interval)) window 0x\(hex4(window)) own \(own) policy \(policy)")
                return reply(command, .invalidParameters, into: &out)
            }
            // Policies 2 and 3 need the Extended Scanner Filter Policies feature, not supported here.
            guard policy <= 1 else { return reply(command, .unsupportedFeatureOrParameterValue, into: &out) }
            scanParameters = ScanParameters(active: type == 1, interval: interval, window: window,
                                            ownAddressType: own, filterPolicy: policy)
            out.append(HCIEvent.commandComplete(opcode, status: .success))

        case .leSetScanEnable:
            let enable = r.u8()!, duplicates = r.u8()!
            guard enable <= 1 else { return reply(command, .invalidParameters, into: &out) }
            if enable == 0 {
                if scanning != nil { log.info("scanning disabled") }
                scanning = nil
                return out.append(HCIEvent.commandComplete(opcode, status: .success))
            }
            guard duplicates <= 1 else { return reply(command, .invalidParameters, into: &out) }
            // A random own address must have been set (§7.8.11).
            if scanParameters.ownAddressType & 1 == 1, randomAddress == nil {
                log.info("LE Set Scan Enable refused: own address type random, but no LE Set Random Address")
                return reply(command, .invalidParameters, into: &out)
            }
            if scanning != nil {
                // Already scanning: a new Filter_Duplicates takes effect (§7.8.11).
                scanning!.filterDuplicates = duplicates == 1
            } else {
                scanning = ScanState(filterDuplicates: duplicates == 1, start: clock)
                log.info("scanning enabled: \(scanParameters.active ? "active" : "passive"), interval \(Double(scanParameters.interval) * 0.625) ms, window \(Double(scanParameters.window) * 0.625) ms, duplicates \(duplicates == 1 ? "filtered" : "reported"), \(scanParameters.filterPolicy == 1 ? "only the \(filterAcceptList.count) filter accept list entries" : "every advertiser")")
            }
            out.append(HCIEvent.commandComplete(opcode, status: .success))

        case .leCreateConnection:
            createConnection(r, into: &out)

        case .leCreateConnectionCancel:
            guard let i = initiating else { return reply(command, .commandDisallowed, into: &out) }
            initiating = nil
            out.append(HCIEvent.commandComplete(opcode, status: .success))
            // The pending connection ends with Unknown Connection Identifier (§7.8.13).
            emit(HCIEvent.leConnectionComplete(status: .unknownConnectionIdentifier, handle: 0, peerType: i.peerType,
                                               peer: i.peer, interval: 0, latency: 0, timeout: 0), into: &out)

        case .leReadFilterAcceptListSize:
            out.append(HCIEvent.commandComplete(opcode, status: .success, [UInt8(BLEController.filterAcceptListSize)]))

        case .leClearFilterAcceptList, .leAddDeviceToFilterAcceptList, .leRemoveDeviceFromFilterAcceptList:
            // Not while a scan or an initiation uses the list (§7.8.15–17).
            if (scanning != nil && scanParameters.filterPolicy & 1 == 1) || initiating?.useFilterAcceptList == true {
                return reply(command, .commandDisallowed, into: &out)
            }
            if command == .leClearFilterAcceptList {
                filterAcceptList = []
                return out.append(HCIEvent.commandComplete(opcode, status: .success))
            }
            let type = r.u8()!
            guard type <= 1 || type == 0xFF else { return reply(command, .invalidParameters, into: &out) }
            let entry = FilterAcceptEntry(type: type, address: type == 0xFF ? BDAddress(displayOrder: [0, 0, 0, 0, 0, 0])
                                                                             : BDAddress(wireOrder: r.take(6)!))
            if command == .leAddDeviceToFilterAcceptList, !filterAcceptList.contains(entry) {
                guard filterAcceptList.count < BLEController.filterAcceptListSize else {
                    return reply(command, .memoryCapacityExceeded, into: &out)
                }
                filterAcceptList.append(entry)
            } else if command == .leRemoveDeviceFromFilterAcceptList {
                filterAcceptList.removeAll { $0 == entry }
            }
            out.append(HCIEvent.commandComplete(opcode, status: .success))

        case .leRand:
            var w = ByteWriter()
            w.u32(UInt32(truncatingIfNeeded: rng.next()))
            w.u32(UInt32(truncatingIfNeeded: rng.next()))
            out.append(HCIEvent.commandComplete(opcode, status: .success, w.bytes))

        case .disconnect:
            let handle = r.u16()! & 0x0FFF, reason = r.u8()!
            // Authentication Failure, Remote User Terminated, Low Resources, Power Off,
            // Unsupported Remote Feature, Unit Key, Unacceptable Connection Parameters (§7.1.6).
            guard [0x05, 0x13, 0x14, 0x15, 0x1A, 0x29, 0x3B].contains(reason) else {
                return reply(command, .invalidParameters, into: &out)
            }
            guard var c = connections[handle] else { return reply(command, .unknownConnectionIdentifier, into: &out) }
            guard !c.disconnecting else { return reply(command, .commandDisallowed, into: &out) }
            c.disconnecting = true
            connections[handle] = c
            out.append(HCIEvent.commandStatus(opcode, status: .success))
            // LL_TERMINATE_IND goes out at the next connection event and is acknowledged one later.
            let due = c.nextEvent(after: clock).adding(nanoseconds: c.intervalNanoseconds)
            deferred.append((due, .completeDisconnection(handle: handle)))
            log.info("disconnecting handle 0x\(hex4(handle)) (reason 0x\(hex2(reason)))")
        }
    }

    /// The error answer a command takes: Command Status for those that complete later,
    /// Command Complete (status only) for the rest.
    private func reply(_ command: HCICommand, _ status: HCIStatus, into out: inout [H4Packet]) {
        if command.completesWithStatus {
            out.append(HCIEvent.commandStatus(command.rawValue, status: status))
        } else {
            out.append(HCIEvent.commandComplete(command.rawValue, status: status))
        }
    }

    private func readU64(_ p: [UInt8]) -> UInt64 {
        p.enumerated().reduce(0) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
    }

    private mutating func reset() {
        if !connections.isEmpty || scanning != nil { log.info("HCI_Reset: scanning stopped, \(connections.count) connection(s) dropped") }
        for c in connections.values { peripherals[c.peripheral].connection = nil }
        eventMask = BLEController.defaultEventMask
        leEventMask = BLEController.defaultLEEventMask
        randomAddress = nil
        scanParameters = ScanParameters()
        scanning = nil
        initiating = nil
        filterAcceptList = []
        connections = [:]
        deferred = []
        hostPacketsInBuffer = 0
        nextHandle = BLEController.firstHandle
    }

    private mutating func createConnection(_ reader: ByteReader, into out: inout [H4Packet]) {
        var r = reader
        let opcode = HCICommand.leCreateConnection.rawValue
        let scanInterval = r.u16()!, scanWindow = r.u16()!, policy = r.u8()!, peerType = r.u8()!
        let peer = BDAddress(wireOrder: r.take(6)!)
        let own = r.u8()!, intervalMin = r.u16()!, intervalMax = r.u16()!, latency = r.u16()!, timeout = r.u16()!
        let ceMin = r.u16()!, ceMax = r.u16()!
        guard initiating == nil else { return out.append(HCIEvent.commandStatus(opcode, status: .commandDisallowed)) }
        // Ranges of §7.8.12; the supervision timeout must exceed (1 + latency) × interval × 2.
        let valid = (0x0004...0x4000).contains(scanInterval) && (0x0004...0x4000).contains(scanWindow)
            && scanWindow <= scanInterval && policy <= 1 && peerType <= 3 && own <= 3
            && (0x0006...0x0C80).contains(intervalMin) && (0x0006...0x0C80).contains(intervalMax) && intervalMin <= intervalMax
            && latency <= 0x01F3 && (0x000A...0x0C80).contains(timeout) && ceMin <= ceMax
            && UInt64(timeout) * 10_000 > (1 + UInt64(latency)) * UInt64(intervalMax) * 1250 * 2
        guard valid else {
            log.info("LE Create Connection refused: parameters out of range")
            return out.append(HCIEvent.commandStatus(opcode, status: .invalidParameters))
        }
        if own & 1 == 1, randomAddress == nil {
            return out.append(HCIEvent.commandStatus(opcode, status: .invalidParameters))
        }
        if policy == 0, connections.values.contains(where: { peripherals[$0.peripheral].config.address == peer }) {
            return out.append(HCIEvent.commandStatus(opcode, status: .connectionAlreadyExists))
        }
        guard connections.count < config.controller.maxConnections else {
            return out.append(HCIEvent.commandStatus(opcode, status: .connectionLimitExceeded))
        }
        initiating = Initiation(useFilterAcceptList: policy == 1, peerType: peerType, peer: peer, scanInterval: scanInterval,
                                scanWindow: scanWindow, start: clock, intervalMin: intervalMin, latency: latency, timeout: timeout)
        out.append(HCIEvent.commandStatus(opcode, status: .success))
        log.info(policy == 1 ? "initiating a connection to any device on the filter accept list" : "initiating a connection to \(peer)")
    }

    // MARK: - Timed work

    private enum Step {
        case advertising(Int)
        case deferred(Int)
        case connectionEvent(UInt16)
        case notification(UInt16, Int)
    }

    private func earliestDue() -> Step? {
        var best: (SimInstant, Step)?
        func consider(_ t: SimInstant, _ s: Step) {
            if t <= clock, best == nil || t < best!.0 { best = (t, s) }
        }
        for (i, p) in peripherals.enumerated() where p.connection == nil { consider(p.nextAdvertising, .advertising(i)) }
        for (i, d) in deferred.enumerated() { consider(d.due, .deferred(i)) }
        for (h, c) in connections {
            if let e = c.pendingEvent { consider(e, .connectionEvent(h)) }
            for (index, t) in c.session.nextNotification { consider(t, .notification(h, index)) }
        }
        return best?.1
    }

    private mutating func catchUpPeripherals() {
        for i in peripherals.indices where peripherals[i].connection == nil {
            let behind = clock.since(peripherals[i].nextAdvertising)
            guard behind > BLEController.catchUpLimitNanoseconds else { continue }
            let interval = peripherals[i].config.intervalMs * 1_000_000
            let skipped = behind / interval
            peripherals[i].advertisingCount &+= UInt32(truncatingIfNeeded: skipped)
            peripherals[i].nextAdvertising = clock.adding(nanoseconds: rng.next() % interval)
        }
    }

    /// Whether an advertisement at `t` falls in a scan window (Core Vol 6 Part B §4.4.3).
    private func inScanWindow(_ t: SimInstant, start: SimInstant, interval: UInt16, window: UInt16) -> Bool {
        let period = UInt64(interval) * 625_000
        return t.since(start) % period < UInt64(window) * 625_000
    }

    private func onFilterAcceptList(_ p: PeripheralConfig) -> Bool {
        filterAcceptList.contains(FilterAcceptEntry(type: p.addressType.rawValue, address: p.address))
    }

    private mutating func advertisingEvent(_ index: Int, into out: inout [H4Packet]) {
        let t = peripherals[index].nextAdvertising
        guard let ad = peripherals[index].advertise(at: t, rng: &rng) else { return }
        let p = peripherals[index].config

        if let i = initiating, ad.type == .advInd,
           inScanWindow(t, start: i.start, interval: i.scanInterval, window: i.scanWindow),
           i.useFilterAcceptList ? onFilterAcceptList(p) : (i.peer == p.address && i.peerType & 1 == p.addressType.rawValue) {
            connect(index, i, at: t, into: &out)
            return
        }
        guard var s = scanning, inScanWindow(t, start: s.start, interval: scanParameters.interval, window: scanParameters.window)
        else { return }
        if scanParameters.filterPolicy == 1, !onFilterAcceptList(p) { return }
        var reports: [(AdvertisingEventType, [UInt8])] = [(ad.type, ad.data)]
        // An active scanner sends SCAN_REQ to scannable PDUs and reports the SCAN_RSP too.
        if scanParameters.active, let response = ad.scanResponse { reports.append((.scanRsp, response)) }
        for (type, data) in reports {
            if s.filterDuplicates,
               !s.seen.insert(DuplicateKey(address: p.address, type: p.addressType, scanResponse: type == .scanRsp)).inserted {
                continue
            }
            statistics.advertisingReports += 1
            emit(HCIEvent.leAdvertisingReport(type: type, addressType: p.addressType, address: p.address, data: data,
                                              rssi: peripherals[index].rssi(&rng)), into: &out)
        }
        scanning = s
    }

    private mutating func connect(_ index: Int, _ i: Initiation, at t: SimInstant, into out: inout [H4Packet]) {
        initiating = nil
        var handle = nextHandle
        var guardCount = 0x0F00
        while connections[handle] != nil, guardCount > 0 {
            handle = handle >= 0x0EFF ? BLEController.firstHandle : handle + 1
            guardCount -= 1
        }
        nextHandle = handle >= 0x0EFF ? BLEController.firstHandle : handle + 1
        let p = peripherals[index].config
        // The first connection event follows CONNECT_IND after transmitWindowDelay (1.25 ms)
        // and a transmit window offset; we take 2.5 ms.
        let c = Connection(handle: handle, peripheral: index, interval: i.intervalMin, latency: i.latency, timeout: i.timeout,
                           anchor: t.adding(microseconds: 2500))
        connections[handle] = c
        peripherals[index].connection = handle
        statistics.connections += 1
        log.info("connected to \(p.name) (\(p.address)) as handle 0x\(hex4(handle)), interval \(Double(i.intervalMin) * 1.25) ms")
        emit(HCIEvent.leConnectionComplete(status: .success, handle: handle, peerType: p.addressType.rawValue, peer: p.address,
                                           interval: i.intervalMin, latency: i.latency, timeout: i.timeout), into: &out)
    }

    private mutating func runDeferred(_ action: DeferredAction, into out: inout [H4Packet]) {
        switch action {
        case let .send(packet):
            emit(packet, into: &out)
        case let .completeDisconnection(handle):
            guard let c = connections.removeValue(forKey: handle) else { return }
            // The Host's packets still in our buffers are gone with the link; it counts them
            // as completed on Disconnection Complete (Core Vol 4 Part E §4.3).
            hostPacketsInBuffer -= c.fromHost.count
            peripherals[c.peripheral].connection = nil
            peripherals[c.peripheral].nextAdvertising = clock.adding(milliseconds: 20)
            log.info("disconnected handle 0x\(hex4(handle))")
            emit(HCIEvent.disconnectionComplete(handle: handle, reason: .connectionTerminatedByLocalHost), into: &out)
        }
    }

    // MARK: - ACL data and the peripheral's L2CAP

    private mutating func handleACL(handle: UInt16, flags: UInt8, data: [UInt8], into out: inout [H4Packet]) {
        statistics.aclFromHost += 1
        guard var c = connections[handle] else {
            log.info("ACL data for handle 0x\(hex4(handle)), which is not connected: dropped")
            return
        }
        guard hostPacketsInBuffer < Int(config.controller.totalNumACLDataPackets) else {
            // The Host sent more than LE Read Buffer Size allowed before Number Of Completed Packets.
            statistics.bufferOverflows += 1
            log.info("ACL buffer overflow: the Host has \(hostPacketsInBuffer) packets in flight; dropped")
            emit(HCIEvent.dataBufferOverflow(), into: &out)
            return
        }
        hostPacketsInBuffer += 1
        c.fromHost.append((flags, data))
        if c.pendingEvent == nil { c.pendingEvent = c.nextEvent(after: clock) }
        connections[handle] = c
    }

    /// One connection event: the Host's queued packets go over the air (and are reported
    /// completed), and what the peripheral answers comes back.
    private mutating func connectionEvent(_ handle: UInt16, into out: inout [H4Packet]) {
        guard var c = connections[handle] else { return }
        c.pendingEvent = nil
        let packets = c.fromHost
        c.fromHost = []
        hostPacketsInBuffer -= packets.count
        if !packets.isEmpty {
            out.append(HCIEvent.numberOfCompletedPackets(handle: handle, count: UInt16(packets.count)))
        }
        var responses: [[UInt8]] = []
        for (flags, data) in packets where !c.disconnecting {
            for pdu in reassemble(&c, flags: flags, data: data) {
                if let r = l2cap(pdu, connection: &c) { responses.append(r) }
            }
        }
        connections[handle] = c
        for r in responses { sendToHost(handle, r, into: &out) }
    }

    /// Host-to-Controller fragments into complete L2CAP PDUs (Core Vol 3 Part A §7.2).
    private func reassemble(_ c: inout Connection, flags: UInt8, data: [UInt8]) -> [[UInt8]] {
        let boundary = flags & 0x03
        if boundary == 0b01 {
            guard c.reassembly != nil else {
                log.info("ACL continuation fragment without a start on handle 0x\(hex4(c.handle)): dropped")
                return []
            }
            c.reassembly! += data
        } else {
            // 0b00 (first, non-flushable) and 0b10 (first, flushable) both start a PDU.
            if let partial = c.reassembly {
                log.info("incomplete L2CAP PDU (\(partial.count) octets) replaced by a new start fragment on handle 0x\(hex4(c.handle))")
            }
            c.reassembly = data
        }
        guard let buffer = c.reassembly, buffer.count >= 2 else { return [] }
        let total = 4 + (Int(buffer[0]) | Int(buffer[1]) << 8)
        if buffer.count < total { return [] }
        c.reassembly = nil
        if buffer.count > total {
            log.info("L2CAP PDU longer than its length field on handle 0x\(hex4(c.handle)): dropped")
            return []
        }
        return [buffer]
    }

    /// One L2CAP basic-mode PDU from the Host; returns the peripheral's answer, if any.
    private mutating func l2cap(_ pdu: [UInt8], connection c: inout Connection) -> [UInt8]? {
        let cid = UInt16(pdu[2]) | UInt16(pdu[3]) << 8
        let payload = Array(pdu[4...])
        switch cid {
        case 0x0004:
            // Attribute Protocol.
            guard var db = peripherals[c.peripheral].gatt else { return nil }
            let log = self.log
            let response = ATTServer.handle(payload, session: &c.session, db: &db, now: clock, log: { log.info($0) })
            peripherals[c.peripheral].gatt = db
            log.debug("ATT \(hexDump(payload)) -> \(response.map { hexDump($0) } ?? "no response")")
            return response.map { l2capFrame(0x0004, $0) }
        case 0x0005:
            return signaling(payload).map { l2capFrame(0x0005, $0) }
        case 0x0006:
            // Security Manager: this peripheral does not pair (Core Vol 3 Part H §3.5.5).
            if payload.first == 0x01 {
                log.info("pairing request refused: Pairing Not Supported")
                return l2capFrame(0x0006, [0x05, 0x05])
            }
            return nil
        default:
            log.info("L2CAP PDU on unknown channel 0x\(hex4(cid)): dropped")
            return nil
        }
    }

    /// LE signaling channel (Core Vol 3 Part A §4): only a Peripheral asks to update parameters,
    /// and we offer no LE credit-based channels.
    private func signaling(_ p: [UInt8]) -> [UInt8]? {
        guard p.count >= 4 else { return nil }
        let code = p[0], identifier = p[1]
        switch code {
        case 0x01, 0x13, 0x15, 0x17, 0x18:
            // Command Reject and responses: nothing to answer.
            return nil
        case 0x14:
            // LE Credit Based Connection Request → refused, SPSM not supported (result 0x0002).
            var w = ByteWriter()
            w.u8(0x15)
            w.u8(identifier)
            w.u16(10)
            w.u16(0); w.u16(0); w.u16(0); w.u16(0); w.u16(0x0002)
            return w.bytes
        default:
            // Command Reject, reason 0x0000 Command not understood.
            return [0x01, identifier, 0x02, 0x00, 0x00, 0x00]
        }
    }

    private func l2capFrame(_ cid: UInt16, _ payload: [UInt8]) -> [UInt8] {
        var w = ByteWriter()
        w.u16(UInt16(payload.count))
        w.u16(cid)
        w.append(payload)
        return w.bytes
    }

    /// Controller-to-Host ACL: first fragment PB 0b10, continuations 0b01 (Core Vol 4 Part E §5.4.2).
    private mutating func sendToHost(_ handle: UInt16, _ pdu: [UInt8], into out: inout [H4Packet]) {
        let size = config.controller.aclFragmentSize
        var offset = 0
        var first = true
        while offset < pdu.count {
            let end = min(offset + size, pdu.count)
            out.append(.acl(handle: handle, flags: first ? 0b10 : 0b01, data: Array(pdu[offset..<end])))
            statistics.aclToHost += 1
            first = false
            offset = end
        }
    }

    private mutating func notify(_ handle: UInt16, _ index: Int, into out: inout [H4Packet]) {
        guard var c = connections[handle], var db = peripherals[c.peripheral].gatt else { return }
        let period = db.characteristics[index].config.notifyIntervalMs
        let due = c.session.nextNotification[index] ?? clock
        // Keep the cadence, but never fall behind by more than one period.
        var next = due.adding(milliseconds: period)
        if next <= clock { next = clock.adding(milliseconds: period) }
        c.session.nextNotification[index] = next
        guard !c.disconnecting, let cccd = db.characteristics[index].clientConfigurationHandle,
              (c.session.clientConfiguration[cccd] ?? 0) & 1 == 1 else {
            connections[handle] = c
            return
        }
        let valueHandle = db.characteristics[index].valueHandle
        let value = db.sampleNotifyingValue(index, rng: &rng)
        peripherals[c.peripheral].gatt = db
        connections[handle] = c
        var w = ByteWriter()
        w.u8(ATTOpcode.handleValueNotification.rawValue)
        w.u16(valueHandle)
        w.append(value.prefix(Int(c.session.mtu) - 3))
        log.debug("notify handle 0x\(hex4(valueHandle)) = \(hexDump(value))")
        sendToHost(handle, l2capFrame(0x0004, w.bytes), into: &out)
    }
}
