import KingletCore

/// The ZNP coordinator state machine. Inputs: `start(now:)`, `received(_:now:)`,
/// `tick(now:)` and the request methods. Outputs: bytes to write (`outgoingBytes` /
/// `markWritten(_:)`, or `takeOutgoing()`), `nextDeadline`, and events (`nextEvent()`).
///
/// MT allows one SREQ outstanding: the host sends the next only after the SRSP (SWRA198,
/// command types: an SREQ blocks until its SRSP), so requests wait in a bounded queue and
/// go out one by one, each with a timeout. A request made while the line is free is
/// written at once and timed from the latest `now` the owner gave, so the owner calls the
/// request methods from its loop, where that time is current.
public final class ZNPCoordinator {
    public let network: ZigbeeNetworkConfig
    public let endpoints: [ZNPEndpointDescriptor]
    public let settings: ZNPCoordinatorSettings

    public internal(set) var state: ZNPCoordinatorState = .stopped
    public internal(set) var devices: ZigbeeDeviceTable
    /// The stick's own IEEE address (from UTIL_GET_DEVICE_INFO), the target of bindings.
    public internal(set) var coordinatorIEEE: ZigbeeIEEEAddress?
    public internal(set) var firmware: ZNPVersionInfo?
    public internal(set) var counters = ZNPCoordinatorCounters()
    public var readerCounters: ZNPFrameReaderCounters { reader.counters }

    var reader: ZNPFrameReader
    /// The frame the reader refills; its data buffer is reused for every frame.
    var received = ZNPFrame(cmd0: 0, cmd1: 0, data: [])
    /// Reused for every request's payload.
    var payloadScratch = ZigbeeByteWriter(capacity: ZNPFrame.maximumDataLength)
    var output: [UInt8] = []
    var events: [ZigbeeEvent] = []
    var eventHead = 0
    static let eventCapacity = 4096

    var now = Instant(nanoseconds: 0)
    var lastReceiveAt: Instant?

    /// The SREQ waiting for its SRSP.
    var inFlight: ZNPInFlight?
    var startup = ZNPStartupProgress()
    var retryAt: Instant?

    var queue: [ZNPQueuedRequest] = []
    var awaiting: [ZNPAwaiting] = []
    var consecutiveTimeouts = 0
    /// An AF_DATA_CONFIRM that came before the SRSP of its request.
    var earlyConfirm: (transactionID: UInt8, status: ZNPStatus)?
    var nextRequestNumber: UInt32 = 1
    var nextTransactionID: UInt8 = 1
    var nextZCLSequence: UInt8 = 1

    public init(network: ZigbeeNetworkConfig, endpoints: [ZNPEndpointDescriptor] = [.homeAutomation],
                settings: ZNPCoordinatorSettings = ZNPCoordinatorSettings()) {
        self.network = network
        self.endpoints = endpoints.isEmpty ? [.homeAutomation] : endpoints
        self.settings = settings
        devices = ZigbeeDeviceTable(capacity: settings.deviceCapacity)
        reader = ZNPFrameReader()
        received.data.reserveCapacity(ZNPFrame.maximumDataLength)
        output.reserveCapacity(512)
        events.reserveCapacity(64)
    }

    // MARK: Owner's inputs

    /// Starts (or restarts) the stick: reset, checks, network start, endpoint registration.
    public func start(now: Instant) {
        self.now = now
        restart(reason: .startRequested)
    }

    /// Stops: pending requests fail as cancelled; nothing more is written.
    public func stop() {
        cancelRequests()
        inFlight = nil
        startup = ZNPStartupProgress()
        retryAt = nil
        setState(.stopped, .stopRequested)
    }

    /// Bytes read from the serial port, any amount.
    public func received<C: Collection>(_ bytes: C, now: Instant) where C.Element == UInt8 {
        self.now = now
        lastReceiveAt = now
        // Feed in pieces so an enormous read cannot push unread frames out of the reader.
        var start = bytes.startIndex
        while start != bytes.endIndex {
            let end = bytes.index(start, offsetBy: 256, limitedBy: bytes.endIndex) ?? bytes.endIndex
            reader.append(bytes[start..<end])
            drainFrames()
            start = end
        }
        pump()
    }

    /// Lets timeouts fire. Call at `nextDeadline` (calling earlier or more often is fine).
    public func tick(now: Instant) {
        self.now = now
        if reader.hasPartialFrame, let last = lastReceiveAt,
           now >= last.advanced(by: settings.partialFrameTimeout) {
            reader.abandonPartialFrame()
            drainFrames()
        }
        if let flight = inFlight, now >= flight.deadline {
            inFlight = nil
            requestTimedOut(flight)
        }
        startupTick()
        expireAwaiting()
        if state == .failed, let at = retryAt, now >= at {
            restart(reason: .retrying)
        }
        pump()
    }

    /// The earliest time `tick(now:)` has something to do; nil when only input can
    /// change anything.
    public var nextDeadline: Instant? {
        var earliest: Instant? = inFlight?.deadline
        func consider(_ instant: Instant?) {
            guard let instant else { return }
            if earliest == nil || instant < earliest! { earliest = instant }
        }
        consider(startup.waitDeadline)
        for entry in awaiting { consider(entry.deadline) }
        if state == .failed { consider(retryAt) }
        if reader.hasPartialFrame, let last = lastReceiveAt {
            consider(last.advanced(by: settings.partialFrameTimeout))
        }
        return earliest
    }

    // MARK: Owner's outputs

    public var hasOutgoing: Bool { !output.isEmpty }

    /// The bytes waiting to be written. Write what the port takes, then `markWritten`.
    public var outgoingBytes: [UInt8] { output }

    /// Drops the first `count` outgoing bytes, written by the owner.
    public func markWritten(_ count: Int) {
        if count >= output.count {
            output.removeAll(keepingCapacity: true)
        } else if count > 0 {
            output.removeSubrange(0..<count)
        }
    }

    /// All outgoing bytes, handed over at once.
    public func takeOutgoing() -> [UInt8] {
        let bytes = output
        output.removeAll(keepingCapacity: true)
        return bytes
    }

    /// The next event, oldest first.
    public func nextEvent() -> ZigbeeEvent? {
        guard eventHead < events.count else { return nil }
        let event = events[eventHead]
        eventHead += 1
        if eventHead == events.count {
            events.removeAll(keepingCapacity: true)
            eventHead = 0
        }
        return event
    }

    /// The device table as a byte record for the owner's cache.
    public func exportDevices() -> [UInt8] { devices.exportRecord() }

    /// Restores the device table saved by `exportDevices()`; replaces the current one.
    public func importDevices(_ record: [UInt8]) throws(ZigbeeDeviceTableError) {
        devices = try ZigbeeDeviceTable.importRecord(record, capacity: settings.deviceCapacity)
    }

    // MARK: Internals shared by the extensions

    func emit(_ event: ZigbeeEvent) {
        guard events.count - eventHead < ZNPCoordinator.eventCapacity else {
            counters.droppedEvents += 1
            return
        }
        events.append(event)
    }

    func setState(_ newState: ZNPCoordinatorState, _ reason: ZNPStateReason) {
        state = newState
        emit(.stateChanged(newState, reason))
    }

    /// Writes `request` as a frame and, for an SREQ, remembers it until its SRSP.
    /// Returns false only if the payload does not fit a frame.
    func send(_ request: ZNPRequest, purpose: ZNPInFlight.Purpose) -> Bool {
        payloadScratch.bytes.removeAll(keepingCapacity: true)
        request.write(into: &payloadScratch)
        do {
            try ZNPFrame.encode(command: request.command, data: payloadScratch.bytes[...], appendingTo: &output)
        } catch {
            return false
        }
        if request.expectsSynchronousResponse {
            inFlight = ZNPInFlight(command: request.command, deadline: now.advanced(by: settings.requestTimeout),
                                   purpose: purpose)
        }
        return true
    }

    private func drainFrames() {
        while reader.nextFrame(into: &received) {
            handleFrame()
        }
    }

    private func handleFrame() {
        let incoming: ZNPIncoming
        do {
            incoming = try ZNPIncoming.decode(received)
        } catch {
            switch error {
            case .unknownCommand: counters.unhandledCommands += 1
            case .truncated, .dataTooLong: counters.malformedFrames += 1
            }
            return
        }
        switch incoming {
        case .rpcError(let code, let request):
            guard let flight = inFlight, flight.command == request else {
                counters.unexpectedResponses += 1
                return
            }
            inFlight = nil
            consecutiveTimeouts = 0
            switch flight.purpose {
            case .startup: startupFailed(.stepNotUnderstood(request))
            case .request(let queued): finish(queued, .failure(.notUnderstood(code)))
            }
        case .status, .ping, .version, .nvRead, .deviceInfo, .startupFromApp:
            guard let flight = inFlight, flight.command.response == received.command else {
                counters.unexpectedResponses += 1
                return
            }
            inFlight = nil
            consecutiveTimeouts = 0
            switch flight.purpose {
            case .startup: startupResponse(incoming)
            case .request(let queued): requestResponse(queued, incoming)
            }
        case .resetIndication(_, let version):
            resetIndication(version)
        case .stateChanged(let deviceState):
            if deviceState == ZNPDeviceState.startedAsCoordinator { networkStarted() }
        case .commissioningNotification, .permitJoinResponse:
            // Progress reports; the SRSP and ZDO_STATE_CHANGE_IND carry what we act on.
            break
        case .deviceAnnounce(_, let device, _):
            deviceAnnounced(device)
        case .trustCenterDevice(let device, _):
            // Comes before the announce on a (re)join; keeps the NWK current even for a
            // device whose announce is lost.
            if !devices.update(device) { counters.devicesNotRecorded += 1 }
        case .leave(let device, _, _, let rejoin):
            if !rejoin { devices.remove(ieee: device.ieee) }
            emit(.deviceLeft(device, rejoining: rejoin))
        case .bindResponse(let source, let status):
            zdoResponse(.bind(nwk: source), status: status, endpoints: nil)
        case .activeEndpoints(let source, let status, _, let list):
            zdoResponse(.activeEndpoints(nwk: source), status: status, endpoints: list)
        case .dataConfirm(let status, _, let transactionID):
            dataConfirmed(transactionID, status: status)
        case .incomingMessage(let message):
            incomingMessage(message)
        }
    }
}

/// The SREQ on the line, waiting for its SRSP.
struct ZNPInFlight {
    enum Purpose {
        case startup
        case request(ZNPQueuedRequest)
    }
    var command: ZNPCommandID
    var deadline: Instant
    var purpose: Purpose
}
