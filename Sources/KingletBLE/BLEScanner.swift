import KingletCore

/// How the scanner drives the controller.
public struct BLEScannerConfiguration: Sendable {
    public var scan = HCIScanParameters()
    /// The controller's own duplicate filter hides repeated sensor readings, so it is off
    /// by default; `minimumReportInterval` limits the rate instead.
    public var filterDuplicates = false
    /// Reports from one address faster than this are dropped (and counted).
    public var minimumReportInterval: Duration = .seconds(1)
    public var maximumTrackedDevices = 512
    /// A command with no Command Complete/Status by then has failed. BlueZ waits 2 s
    /// (HCI_CMD_TIMEOUT); Reset on a UART controller can take longer, hence 3 s.
    public var commandTimeout: Duration = .seconds(3)
    /// After a failed bring-up or a hardware error, start over from Reset this much later.
    public var retryDelay: Duration = .seconds(5)
    /// Events beyond this many, not yet taken by the owner, are dropped if they are
    /// advertisements (and counted); state changes are always kept.
    public var maximumQueuedEvents = 256
    /// Largest ACL payload the H4 reader accepts.
    public var maximumACLLength = 1021

    public init() {}

    public var problem: BLEScannerError? {
        if !scan.isValid { return .invalidConfiguration("scan interval/window must be 0x0004...0x4000 with window <= interval") }
        if commandTimeout <= .zero { return .invalidConfiguration("command timeout must be positive") }
        if retryDelay < .zero { return .invalidConfiguration("retry delay must not be negative") }
        if maximumQueuedEvents < 1 { return .invalidConfiguration("the event queue needs room for one event") }
        return nil
    }
}

public enum BLEScannerState: Equatable, Sendable {
    case idle
    case initializing
    case scanning
    case stopped
    case waitingToRetry

    public var description: String {
        switch self {
        case .idle: return "idle"
        case .initializing: return "initializing"
        case .scanning: return "scanning"
        case .stopped: return "stopped"
        case .waitingToRetry: return "waiting to retry"
        }
    }
}

public enum BLEScannerError: Error, Equatable, Sendable, CustomStringConvertible {
    case invalidConfiguration(String)
    case commandTimedOut(HCIOpcode)
    case commandFailed(HCIOpcode, HCIStatus)
    case hardwareError(code: UInt8)
    case malformedReturnParameters(HCIOpcode)
    case notReady(BLEScannerState)

    public var description: String {
        switch self {
        case .invalidConfiguration(let why): return "invalid BLE scanner configuration: " + why
        case .commandTimedOut(let opcode): return opcode.description + " got no answer from the controller"
        case .commandFailed(let opcode, let status): return opcode.description + " failed: " + status.description
        case .hardwareError(let code): return "controller reported hardware error 0x" + BLEHex.byte(code)
        case .malformedReturnParameters(let opcode): return opcode.description + " returned malformed parameters"
        case .notReady(let state): return "the BLE controller is " + state.description
        }
    }
}

/// What the controller told us during bring-up.
public struct BLEControllerInfo: Equatable, Sendable {
    public var address: BLEAddress?
    public var hciVersion: UInt8?
    public var manufacturer: UInt16?
    public var aclPacketLength = 0
    public var aclPackets = 0
    /// Entries the controller's Filter Accept List holds; nil until asked.
    public var filterAcceptListSize: Int?
}

public struct BLEScannerCounters: Equatable, Sendable {
    public var commandsSent = 0
    public var commandTimeouts = 0
    public var commandFailures = 0
    public var initAttempts = 0
    public var hardwareErrors = 0
    public var malformedEvents = 0
    public var unhandledEvents = 0
    /// Command Complete/Status for a command we were not waiting for.
    public var unexpectedCompletions = 0
    public var advertisementsQueued = 0
    public var advertisementsDroppedQueueFull = 0

    public init() {}
}

public enum BLEScannerEvent: Equatable, Sendable {
    /// Bring-up finished; scanning is on.
    case ready(BLEControllerInfo)
    case advertisement(HCIAdvertisingReport)
    case connected(HCILEConnectionComplete)
    case connectionFailed(peer: BLEAddress, status: HCIStatus)
    case disconnected(handle: UInt16, reason: HCIStatus)
    /// ACL data for a connection: give it to that connection's `GATTClient`.
    case aclData(HCIACLPacket)
    case scanningStopped
    case scanningResumed
    case failed(BLEScannerError)
}

/// The host side of an LE controller for scanning, as a state machine with no I/O.
///
/// The owner feeds it what the controller sends (`receive(_:now:)`), writes what
/// `takeOutgoing()` returns, calls `tick(now:)` at `nextDeadline`, and drains `nextEvent()`.
/// Commands go out one at a time and only while the controller has command credits
/// (Num_HCI_Command_Packets, Core Vol 4 Part E §4.4).
public final class BLEScanner {
    public let configuration: BLEScannerConfiguration
    public private(set) var state: BLEScannerState = .idle
    public private(set) var counters = BLEScannerCounters()
    public private(set) var controller = BLEControllerInfo()
    /// The controller's LE ACL buffers, to share with every `GATTClient`.
    public let aclCredits = HCIACLCredits()
    public private(set) var rateLimiter: BLERateLimiter
    public private(set) var reader: HCIH4Reader

    private var commandCredits = 1
    private var outstanding: (command: HCICommand, deadline: Instant)? = nil
    private var bringUp: [HCICommand] = []
    private var queued: [HCICommand] = []
    private var retryAt: Instant? = nil
    private var outgoing: [[UInt8]] = []
    private var events: [BLEScannerEvent] = []
    private var eventHead = 0

    // The Filter Accept List: the controller passes on only the advertisements of the
    // addresses the owner listens for, so the others cost neither UART bytes nor wake-ups.
    private var listenedAddresses: [BLEAddress]? = nil
    /// The filter policy the controller scans with now.
    public private(set) var scanFilterPolicy: UInt8 = 0
    private var acceptListStale = false
    /// Commands of an accept list update still to complete: the scan pauses they include
    /// are the scanner's own, not the owner's stop and resume.
    private var acceptListCommandsLeft = 0
    /// Cleared when the controller refuses a list command: it then scans without the list.
    private var acceptListUsable = true

    public init(configuration: BLEScannerConfiguration = BLEScannerConfiguration()) throws(BLEScannerError) {
        if let problem = configuration.problem { throw problem }
        self.configuration = configuration
        rateLimiter = BLERateLimiter(minimumInterval: configuration.minimumReportInterval,
                                     maximumTrackedDevices: configuration.maximumTrackedDevices)
        reader = HCIH4Reader(maximumACLLength: configuration.maximumACLLength)
    }

    // MARK: Owner's calls

    /// Starts (or restarts) bring-up with HCI Reset.
    public func start(now: Instant) {
        counters.initAttempts += 1
        state = .initializing
        retryAt = nil
        outstanding = nil
        commandCredits = 1 // Until the controller says otherwise, the host may send one command.
        queued.removeAll()
        controller = BLEControllerInfo()
        bringUp = [
            .reset,
            .setEventMask(HCICommand.hostEventMask),
            .leSetEventMask(HCICommand.hostLEEventMask),
            .readBDAddr,
            .readLocalVersion,
            .leReadBufferSize,
        ]
        // The list survives no Reset: bring-up fills it before scanning starts.
        scanFilterPolicy = 0
        acceptListCommandsLeft = 0
        acceptListStale = false
        if listenedAddresses != nil && acceptListUsable {
            bringUp.append(.leReadFilterAcceptListSize)
            acceptListStale = true
        } else {
            bringUp += scanStart(policy: 0)
        }
        reader.reset()
        pump(now: now)
    }

    public func stopScanning(now: Instant) throws(BLEScannerError) {
        guard state == .scanning else { throw .notReady(state) }
        enqueue(.leSetScanEnable(enable: false, filterDuplicates: false), now: now)
    }

    public func resumeScanning(now: Instant) throws(BLEScannerError) {
        guard state == .stopped else { throw .notReady(state) }
        enqueue(.leSetScanEnable(enable: true, filterDuplicates: configuration.filterDuplicates), now: now)
    }

    /// Asks the controller to pass on only these addresses' advertisements (nil: every one),
    /// through its Filter Accept List (both address types of each address). When the list
    /// cannot hold them all, or the controller refuses it, every advertisement comes as before.
    public func listen(only addresses: [BLEAddress]?, now: Instant) {
        guard addresses != listenedAddresses else { return }
        listenedAddresses = addresses
        acceptListStale = true
        pump(now: now)
    }

    /// Starts an LE connection; `.connected` or `.connectionFailed` follows.
    public func connect(_ parameters: HCIConnectionParameters, now: Instant) throws(BLEScannerError) {
        guard state == .scanning || state == .stopped else { throw .notReady(state) }
        enqueue(.leCreateConnection(parameters), now: now)
    }

    public func cancelConnect(now: Instant) throws(BLEScannerError) {
        guard state == .scanning || state == .stopped else { throw .notReady(state) }
        enqueue(.leCreateConnectionCancel, now: now)
    }

    public func disconnect(handle: UInt16, reason: UInt8 = HCICommand.remoteUserTerminated, now: Instant) throws(BLEScannerError) {
        guard state == .scanning || state == .stopped else { throw .notReady(state) }
        enqueue(.disconnect(handle: handle, reason: reason), now: now)
    }

    /// Bytes read from the UART or user-channel socket, in any chunking.
    public func receive(_ bytes: some Sequence<UInt8>, now: Instant) {
        reader.append(bytes)
        while let packet = reader.nextPacket() { handle(packet, now: now) }
    }

    public func handle(_ packet: HCIH4Packet, now: Instant) {
        switch packet {
        case .acl(let acl):
            push(.aclData(acl))
        case .event(let raw):
            do throws(HCIEventError) {
                handle(event: try HCIEvent(raw), now: now)
            } catch {
                counters.malformedEvents += 1
            }
        }
        pump(now: now)
    }

    public func tick(now: Instant) {
        if let current = outstanding, current.deadline <= now {
            outstanding = nil
            counters.commandTimeouts += 1
            // The controller may have lost the command or its answer; it may still take one.
            commandCredits = max(commandCredits, 1)
            fail(.commandTimedOut(current.command.opcode), command: current.command, now: now)
        }
        if let at = retryAt, at <= now {
            start(now: now)
            return
        }
        pump(now: now)
    }

    /// When `tick` next has work: the outstanding command's timeout or the retry.
    public var nextDeadline: Instant? {
        switch (outstanding?.deadline, retryAt) {
        case (let a?, let b?): return min(a, b)
        case (let a?, nil): return a
        case (nil, let b?): return b
        case (nil, nil): return nil
        }
    }

    public var hasOutgoing: Bool { !outgoing.isEmpty }

    /// The next H4 packet to write, in order.
    public func takeOutgoing() -> [UInt8]? {
        outgoing.isEmpty ? nil : outgoing.removeFirst()
    }

    public func nextEvent() -> BLEScannerEvent? {
        guard eventHead < events.count else { return nil }
        let event = events[eventHead]
        eventHead += 1
        if eventHead == events.count {
            events.removeAll(keepingCapacity: true)
            eventHead = 0
        }
        return event
    }

    public var commandOutstanding: HCIOpcode? { outstanding?.command.opcode }
    var commandOutstandingCommand: HCICommand? { outstanding?.command }

    // MARK: Internals

    private func enqueue(_ command: HCICommand, now: Instant) {
        queued.append(command)
        pump(now: now)
    }

    private func pump(now: Instant) {
        guard outstanding == nil, commandCredits > 0 else { return }
        if acceptListStale, acceptListCommandsLeft == 0, queued.isEmpty, state == .scanning || state == .stopped {
            planAcceptListUpdate()
        }
        let command: HCICommand
        if state == .initializing {
            guard !bringUp.isEmpty else { return }
            command = bringUp.removeFirst()
        } else if state == .scanning || state == .stopped, !queued.isEmpty {
            command = queued.removeFirst()
        } else {
            return
        }
        commandCredits -= 1
        outstanding = (command, now.advanced(by: configuration.commandTimeout))
        outgoing.append(command.h4Bytes)
        counters.commandsSent += 1
    }

    /// Scan parameters with this filter policy, then scanning on.
    private func scanStart(policy: UInt8) -> [HCICommand] {
        var scan = configuration.scan
        scan.filterPolicy = policy
        return [.leSetScanParameters(scan), .leSetScanEnable(enable: true, filterDuplicates: configuration.filterDuplicates)]
    }

    /// The list's entries for the listened addresses, or nil when the list cannot be used.
    private func acceptListEntries() -> [(BLEAddressType, BLEAddress)]? {
        guard acceptListUsable, let addresses = listenedAddresses, let size = controller.filterAcceptListSize else { return nil }
        var entries: [(BLEAddressType, BLEAddress)] = []
        for (index, address) in addresses.enumerated() where !addresses[..<index].contains(address) {
            // A Device names an address, not its type: a sensor may advertise from either.
            entries.append((.publicDevice, address))
            entries.append((.randomDevice, address))
        }
        return entries.count <= size ? entries : nil
    }

    /// The list and the filter policy, after bring-up: scanning pauses while they change,
    /// since the controller refuses both while a scan uses the list (Core Vol 4 Part E §7.8.10,
    /// §7.8.15, §7.8.16).
    private func planAcceptListUpdate() {
        acceptListStale = false
        if acceptListUsable, listenedAddresses != nil, controller.filterAcceptListSize == nil {
            queued.append(.leReadFilterAcceptListSize)
            acceptListCommandsLeft = 1
            acceptListStale = true
            return
        }
        let entries = acceptListEntries()
        let policy: UInt8 = entries == nil ? 0 : 1
        if policy == 0 && scanFilterPolicy == 0 { return }
        var commands: [HCICommand] = []
        let scanning = state == .scanning
        if scanning { commands.append(.leSetScanEnable(enable: false, filterDuplicates: false)) }
        commands += acceptListFill(entries)
        var scan = configuration.scan
        scan.filterPolicy = policy
        commands.append(.leSetScanParameters(scan))
        if scanning { commands.append(.leSetScanEnable(enable: true, filterDuplicates: configuration.filterDuplicates)) }
        queued.insert(contentsOf: commands, at: 0)
        acceptListCommandsLeft = commands.count
    }

    private func acceptListFill(_ entries: [(BLEAddressType, BLEAddress)]?) -> [HCICommand] {
        guard let entries else { return [] }
        return [.leClearFilterAcceptList] + entries.map { .leAddDeviceToFilterAcceptList($0.0, $0.1) }
    }

    private func handle(event: HCIEvent, now: Instant) {
        switch event {
        case .commandComplete(let complete):
            commandCredits = Int(complete.commandCredits)
            guard complete.opcode != .noOperation else { return }
            guard let current = outstanding, current.command.opcode == complete.opcode else {
                counters.unexpectedCompletions += 1
                return
            }
            outstanding = nil
            if !complete.status.isSuccess {
                fail(.commandFailed(complete.opcode, complete.status), command: current.command, now: now)
                return
            }
            completed(current.command, returnParameters: complete.returnParameters, now: now)
        case .commandStatus(let status, let credits, let opcode):
            commandCredits = Int(credits)
            guard opcode != .noOperation else { return }
            guard let current = outstanding, current.command.opcode == opcode else {
                counters.unexpectedCompletions += 1
                return
            }
            outstanding = nil
            if !status.isSuccess {
                fail(.commandFailed(opcode, status), command: current.command, now: now)
            }
        case .disconnectionComplete(let status, let handle, let reason):
            guard status.isSuccess else { return }
            aclCredits.connectionClosed(handle: handle)
            push(.disconnected(handle: handle, reason: reason))
        case .numberOfCompletedPackets(let entries):
            for entry in entries { aclCredits.release(handle: entry.handle, count: Int(entry.count)) }
        case .hardwareError(let code):
            counters.hardwareErrors += 1
            push(.failed(.hardwareError(code: code)))
            // The controller's state is unknown: bring it up again from Reset.
            outstanding = nil
            state = .waitingToRetry
            retryAt = now.advanced(by: configuration.retryDelay)
        case .leConnectionComplete(let complete):
            if complete.status.isSuccess {
                push(.connected(complete))
            } else {
                push(.connectionFailed(peer: complete.peer, status: complete.status))
            }
        case .leAdvertisingReports(let reports):
            guard state == .scanning || state == .stopped else { return }
            for report in reports
            where rateLimiter.admit(address: report.address, scanResponse: report.isScanResponse, now: now) {
                if events.count - eventHead >= configuration.maximumQueuedEvents {
                    counters.advertisementsDroppedQueueFull += 1
                    continue
                }
                counters.advertisementsQueued += 1
                push(.advertisement(report))
            }
        case .unhandled:
            counters.unhandledEvents += 1
        }
    }

    private func completed(_ command: HCICommand, returnParameters: [UInt8], now: Instant) {
        var c = BLEByteCursor(returnParameters)
        _ = c.u8() // status, already checked
        let ownPause = acceptListCommandsLeft > 0
        if ownPause { acceptListCommandsLeft -= 1 }
        switch command {
        case .leReadFilterAcceptListSize:
            guard let size = c.u8() else {
                acceptListUsable = false
                return fail(.malformedReturnParameters(command.opcode), command: command, now: now)
            }
            controller.filterAcceptListSize = Int(size)
            if state == .initializing {
                acceptListStale = false
                let entries = acceptListEntries()
                bringUp += acceptListFill(entries) + scanStart(policy: entries == nil ? 0 : 1)
            }
        case .leSetScanParameters(let scan):
            scanFilterPolicy = scan.filterPolicy
        case .leSetScanEnable where ownPause && state != .initializing:
            break
        case .readBDAddr:
            guard let raw = c.take(6), let address = BLEAddress(hciBytes: raw) else {
                return fail(.malformedReturnParameters(command.opcode), command: command, now: now)
            }
            controller.address = address
        case .readLocalVersion:
            // HCI_Version, HCI_Subversion, LMP_Version, Company_Identifier, LMP_Subversion.
            guard let version = c.u8(), c.u16le() != nil, c.u8() != nil, let manufacturer = c.u16le() else {
                return fail(.malformedReturnParameters(command.opcode), command: command, now: now)
            }
            controller.hciVersion = version
            controller.manufacturer = manufacturer
        case .leReadBufferSize:
            guard let length = c.u16le(), let count = c.u8() else {
                return fail(.malformedReturnParameters(command.opcode), command: command, now: now)
            }
            if length == 0 || count == 0 {
                // LE shares the BR/EDR buffers: ask for those (Core Vol 4 Part E §7.8.2).
                bringUp.insert(.readBufferSize, at: 0)
            } else {
                setBuffers(length: Int(length), count: Int(count))
            }
        case .readBufferSize:
            guard let length = c.u16le(), c.u8() != nil, let count = c.u16le(), length > 0, count > 0 else {
                return fail(.malformedReturnParameters(command.opcode), command: command, now: now)
            }
            setBuffers(length: Int(length), count: Int(count))
        case .leSetScanEnable(let enable, _):
            if state == .initializing {
                state = .scanning
                rateLimiter.reset()
                push(.ready(controller))
            } else if enable {
                state = .scanning
                push(.scanningResumed)
            } else {
                state = .stopped
                push(.scanningStopped)
            }
        case .leCreateConnectionCancel, .reset, .setEventMask, .leSetEventMask,
             .leCreateConnection, .disconnect, .leClearFilterAcceptList, .leAddDeviceToFilterAcceptList:
            break
        }
    }

    private func setBuffers(length: Int, count: Int) {
        controller.aclPacketLength = length
        controller.aclPackets = count
        aclCredits.configure(packetLength: length, totalPackets: count)
    }

    private func fail(_ error: BLEScannerError, command: HCICommand, now: Instant) {
        counters.commandFailures += 1
        push(.failed(error))
        switch command {
        case .leReadFilterAcceptListSize, .leClearFilterAcceptList, .leAddDeviceToFilterAcceptList:
            acceptListUsable = false
        case .leSetScanParameters(let scan) where scan.filterPolicy != 0:
            acceptListUsable = false
        default:
            break
        }
        if acceptListCommandsLeft > 0 && state != .initializing {
            // The update stopped half-way, maybe with scanning paused: start over from
            // Reset, this time without the list.
            queued.removeFirst(min(acceptListCommandsLeft - 1, queued.count))
            acceptListCommandsLeft = 0
            state = .waitingToRetry
            retryAt = now.advanced(by: configuration.retryDelay)
            return
        }
        if case .leCreateConnection(let parameters) = command {
            var status = HCIStatus(code: 0x1F) // unspecified: the controller never answered
            if case .commandFailed(_, let reported) = error { status = reported }
            push(.connectionFailed(peer: parameters.peer, status: status))
        }
        if state == .initializing {
            state = .waitingToRetry
            bringUp.removeAll()
            retryAt = now.advanced(by: configuration.retryDelay)
        }
    }

    private func push(_ event: BLEScannerEvent) {
        events.append(event)
    }
}
