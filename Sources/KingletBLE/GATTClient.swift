import KingletCore

/// Identifies one GATT request in the events that finish it.
public typealias GATTRequestID = UInt32

public enum GATTError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The server answered with an Error Response.
    case attError(requestOpcode: UInt8, handle: UInt16, code: ATTErrorCode)
    /// No response within the ATT transaction timeout (30 s, Core Vol 3 Part F §3.3.3).
    case timedOut
    /// An earlier request timed out: the spec forbids any further PDU on this bearer.
    case bearerClosed
    case disconnected
    /// The value does not fit one PDU at the current MTU (ATT_MTU − 3).
    case valueTooLong(maximum: Int)
    case invalidHandle
    /// The response had the right opcode but a body that does not parse.
    case malformedResponse(opcode: UInt8)

    public var description: String {
        switch self {
        case .attError(let opcode, let handle, let code):
            return "ATT request 0x" + BLEHex.byte(opcode) + " on handle 0x" + BLEHex.byte(UInt8(handle >> 8))
                + BLEHex.byte(UInt8(handle & 0xFF)) + " failed: " + code.description
        case .timedOut: return "ATT request got no response within 30 s"
        case .bearerClosed: return "ATT bearer closed after a transaction timeout; reconnect"
        case .disconnected: return "the LE connection is closed"
        case .valueTooLong(let maximum): return "value longer than the " + String(maximum) + " bytes one ATT PDU can carry"
        case .invalidHandle: return "attribute handle 0x0000 is invalid"
        case .malformedResponse(let opcode): return "malformed ATT response 0x" + BLEHex.byte(opcode)
        }
    }
}

public enum GATTClientEvent: Equatable, Sendable {
    case mtuExchanged(GATTRequestID, mtu: UInt16)
    case readCompleted(GATTRequestID, value: [UInt8])
    case readByTypeCompleted(GATTRequestID, values: [GATTHandleValue])
    /// Find Information's handle-type pairs, in ascending handle order.
    case findInformationCompleted(GATTRequestID, entries: [GATTHandleType])
    case writeCompleted(GATTRequestID)
    case notification(handle: UInt16, value: [UInt8])
    /// Already confirmed to the server.
    case indication(handle: UInt16, value: [UInt8])
    case requestFailed(GATTRequestID, GATTError)
    /// A transaction timed out; the owner should disconnect (Core Vol 3 Part F §3.3.3).
    case bearerTimedOut
}

public struct GATTClientCounters: Equatable, Sendable {
    public var requestsSent = 0
    public var responses = 0
    public var errorResponses = 0
    public var timeouts = 0
    public var notifications = 0
    public var indications = 0
    public var writeCommands = 0
    /// PDUs that do not parse, or responses nobody asked for.
    public var malformedPDUs = 0
    public var unexpectedResponses = 0
    /// Requests the server sent us; this client has no attribute database to serve.
    public var serverRequestsRejected = 0
    public var otherChannelPDUs = 0
    /// Write or signed write commands from the server, which has nothing of ours to write.
    public var ignoredCommands = 0
    public var signalingRequestsRejected = 0
    public var droppedFragments = 0
    public var eventsDroppedQueueFull = 0

    public init() {}
}

/// A GATT client on one LE connection's ATT bearer (fixed L2CAP channel 0x0004), with no I/O.
///
/// ATT allows one request outstanding at a time (Core Vol 3 Part F §3.3.2); further
/// requests wait here in order. Write commands, confirmations and replies to the server's
/// own requests bypass that queue. Outgoing PDUs are cut into ACL packets no longer than
/// the controller's buffers and released only while `credits` has a free buffer.
public final class GATTClient {
    public static let defaultMTU: UInt16 = 23
    /// The longest attribute value (Core Vol 3 Part F §3.2.9).
    public static let maximumValueLength = 512

    public let connectionHandle: UInt16
    public let preferredMTU: UInt16
    public let requestTimeout: Duration
    public let maximumQueuedEvents: Int
    public private(set) var mtu: UInt16 = GATTClient.defaultMTU
    public private(set) var counters = GATTClientCounters()
    public private(set) var isClosed = false

    private let credits: HCIACLCredits
    private var reassembler = L2CAPReassembler()
    private var outgoing: [HCIACLPacket] = []
    private var outgoingHead = 0
    private var waiting: [GATTPendingRequest] = []
    private var outstanding: GATTPendingRequest? = nil
    private var nextID: GATTRequestID = 1
    private var events: [GATTClientEvent] = []
    private var eventHead = 0

    public init(connectionHandle: UInt16, credits: HCIACLCredits, preferredMTU: UInt16 = 247,
                requestTimeout: Duration = .seconds(30), maximumQueuedEvents: Int = 256) {
        self.connectionHandle = connectionHandle & 0x0FFF
        self.credits = credits
        self.preferredMTU = min(517, max(GATTClient.defaultMTU, preferredMTU))
        self.requestTimeout = requestTimeout
        self.maximumQueuedEvents = max(1, maximumQueuedEvents)
    }

    // MARK: Requests

    /// Exchange MTU (§3.4.2.1): offers `preferredMTU`; the bearer uses the smaller of both.
    public func exchangeMTU(now: Instant) throws(GATTError) -> GATTRequestID {
        try submit(.mtu, pdu: ATTPDU.exchangeMTURequest(clientMTU: preferredMTU), now: now)
    }

    /// Read (§3.4.4.3); a value that fills the response is continued with Read Blob.
    public func read(handle: UInt16, now: Instant) throws(GATTError) -> GATTRequestID {
        guard handle != 0 else { throw .invalidHandle }
        return try submit(.read(handle: handle, value: []), pdu: ATTPDU.readRequest(handle: handle), now: now)
    }

    /// Read By Type (§3.4.4.1): the values of attributes of `type` in `start...end`, e.g. a
    /// characteristic value by its UUID. One response's worth; continue from the last
    /// handle + 1 for more.
    public func readByType(_ type: BLEUUID, start: UInt16 = 0x0001, end: UInt16 = 0xFFFF, now: Instant) throws(GATTError) -> GATTRequestID {
        guard start != 0, start <= end else { throw .invalidHandle }
        return try submit(.readByType, pdu: ATTPDU.readByTypeRequest(start: start, end: end, type: type), now: now)
    }

    /// Find Information (§3.4.3.1): the handles and types of the attributes in
    /// `start...end`, e.g. a characteristic's descriptors (Core Vol 3 Part G §4.7.1). One
    /// response's worth; continue from the last handle + 1 for more.
    public func findInformation(start: UInt16, end: UInt16 = 0xFFFF, now: Instant) throws(GATTError) -> GATTRequestID {
        guard start != 0, start <= end else { throw .invalidHandle }
        return try submit(.findInformation, pdu: ATTPDU.findInformationRequest(start: start, end: end), now: now)
    }

    /// Write Request (§3.4.5.1); `.writeCompleted` follows the server's Write Response.
    public func write(handle: UInt16, value: [UInt8], now: Instant) throws(GATTError) -> GATTRequestID {
        guard handle != 0 else { throw .invalidHandle }
        try checkValueLength(value)
        return try submit(.write, pdu: ATTPDU.writeRequest(handle: handle, value: value), now: now)
    }

    /// Write Command (§3.4.5.3): no response, not queued behind requests.
    public func writeWithoutResponse(handle: UInt16, value: [UInt8]) throws(GATTError) {
        guard !isClosed else { throw .bearerClosed }
        guard handle != 0 else { throw .invalidHandle }
        try checkValueLength(value)
        counters.writeCommands += 1
        send(ATTPDU.writeCommand(handle: handle, value: value))
    }

    /// Writes the Client Characteristic Configuration descriptor (Core Vol 3 Part G
    /// §3.3.3.3): 0x0001 notifications, 0x0002 indications, 0x0000 off.
    public func enableNotifications(cccdHandle: UInt16, indications: Bool = false, now: Instant) throws(GATTError) -> GATTRequestID {
        try write(handle: cccdHandle, value: [indications ? 0x02 : 0x01, 0x00], now: now)
    }

    public func disableNotifications(cccdHandle: UInt16, now: Instant) throws(GATTError) -> GATTRequestID {
        try write(handle: cccdHandle, value: [0x00, 0x00], now: now)
    }

    // MARK: Owner's calls

    /// An ACL packet from the controller for this connection.
    public func receive(_ packet: HCIACLPacket, now: Instant) {
        guard !isClosed, packet.handle == connectionHandle else { return }
        let before = reassembler.droppedFragments
        let pdu = reassembler.add(packet)
        counters.droppedFragments += reassembler.droppedFragments - before
        guard let (channel, payload) = pdu else { return }
        switch channel {
        case L2CAPChannel.att: handleATT(payload, now: now)
        case L2CAPChannel.leSignaling: handleSignaling(payload)
        default: counters.otherChannelPDUs += 1
        }
    }

    public func tick(now: Instant) {
        guard let current = outstanding, current.deadline <= now else { return }
        outstanding = nil
        counters.timeouts += 1
        push(.requestFailed(current.id, .timedOut))
        push(.bearerTimedOut)
        close(failingWith: .bearerClosed)
    }

    public var nextDeadline: Instant? { outstanding?.deadline }

    /// True when a packet is queued and the controller has a buffer for it.
    public var hasOutgoing: Bool { outgoingHead < outgoing.count && credits.available > 0 }

    /// The next ACL packet to write (H4 indicator first), if the controller has room.
    public func takeOutgoing() -> [UInt8]? {
        guard outgoingHead < outgoing.count, credits.take(handle: connectionHandle) else { return nil }
        let packet = outgoing[outgoingHead]
        outgoingHead += 1
        if outgoingHead == outgoing.count {
            outgoing.removeAll(keepingCapacity: true)
            outgoingHead = 0
        }
        return packet.h4Bytes
    }

    public func nextEvent() -> GATTClientEvent? {
        guard eventHead < events.count else { return nil }
        let event = events[eventHead]
        eventHead += 1
        if eventHead == events.count {
            events.removeAll(keepingCapacity: true)
            eventHead = 0
        }
        return event
    }

    /// The connection is gone (Disconnection Complete): every request fails.
    public func connectionClosed() {
        guard !isClosed else { return }
        credits.connectionClosed(handle: connectionHandle)
        if let current = outstanding {
            outstanding = nil
            push(.requestFailed(current.id, .disconnected))
        }
        close(failingWith: .disconnected)
    }

    // MARK: Internals

    private func checkValueLength(_ value: [UInt8]) throws(GATTError) {
        let maximum = Int(mtu) - 3
        guard value.count <= maximum else { throw .valueTooLong(maximum: maximum) }
    }

    private func submit(_ kind: GATTPendingRequest.Kind, pdu: [UInt8], now: Instant) throws(GATTError) -> GATTRequestID {
        guard !isClosed else { throw .bearerClosed }
        let id = nextID
        nextID = nextID == GATTRequestID.max ? 1 : nextID + 1
        waiting.append(GATTPendingRequest(id: id, kind: kind, pdu: pdu, deadline: now))
        startNext(now: now)
        return id
    }

    private func startNext(now: Instant) {
        guard outstanding == nil, !isClosed, !waiting.isEmpty else { return }
        var request = waiting.removeFirst()
        request.deadline = now.advanced(by: requestTimeout)
        outstanding = request
        counters.requestsSent += 1
        send(request.pdu)
    }

    /// Frames an ATT PDU in L2CAP and cuts it to the controller's ACL buffer size
    /// (Core Vol 4 Part E §5.4.2: first fragment non-flushable, then continuations).
    private func send(_ att: [UInt8]) {
        let pdu = L2CAPHeader(length: UInt16(truncatingIfNeeded: att.count), channel: L2CAPChannel.att).bytes + att
        let size = credits.packetLength
        var offset = 0
        while offset < pdu.count {
            let end = min(pdu.count, offset + size)
            outgoing.append(HCIACLPacket(handle: connectionHandle, boundary: offset == 0 ? .firstNonFlushable : .continuing,
                                         data: Array(pdu[offset..<end])))
            offset = end
        }
    }

    private func handleATT(_ pdu: [UInt8], now: Instant) {
        var c = BLEByteCursor(pdu)
        guard let opcode = c.u8() else {
            counters.malformedPDUs += 1
            return
        }
        switch opcode {
        case ATTOpcode.handleValueNotification, ATTOpcode.handleValueIndication:
            guard let handle = c.u16le() else {
                counters.malformedPDUs += 1
                return
            }
            let value = Array(c.rest())
            if opcode == ATTOpcode.handleValueIndication {
                counters.indications += 1
                // The server sends no further indication until this confirmation (§3.4.7.3).
                send([ATTOpcode.handleValueConfirmation])
                pushDroppable(.indication(handle: handle, value: value))
            } else {
                counters.notifications += 1
                pushDroppable(.notification(handle: handle, value: value))
            }
        case ATTOpcode.exchangeMTURequest:
            // The peer is a client too. Both directions share one ATT_MTU (§3.4.2.2).
            guard let theirs = c.u16le() else {
                counters.malformedPDUs += 1
                return
            }
            send(ATTPDU.exchangeMTUResponse(serverMTU: preferredMTU))
            mtu = max(GATTClient.defaultMTU, min(preferredMTU, theirs))
        case _ where ATTOpcode.isRequest(opcode):
            counters.serverRequestsRejected += 1
            let startHandle = c.u16le() ?? 0
            // We hold no attributes: discovery finds nothing, anything else is unsupported.
            let discovery = opcode == 0x04 || opcode == 0x06 || opcode == 0x08 || opcode == 0x10
            send(ATTPDU.errorResponse(requestOpcode: opcode, handle: discovery ? startHandle : 0,
                                      code: discovery ? .attributeNotFound : .requestNotSupported))
        case _ where ATTOpcode.isCommand(opcode):
            counters.ignoredCommands += 1
        default:
            handleResponse(opcode: opcode, body: &c, now: now)
        }
    }

    private func handleResponse(opcode: UInt8, body c: inout BLEByteCursor, now: Instant) {
        guard var current = outstanding else {
            counters.unexpectedResponses += 1
            return
        }
        let requestOpcode = current.pdu.first ?? 0
        if opcode == ATTOpcode.errorResponse {
            guard let failedOpcode = c.u8(), let handle = c.u16le(), let code = c.u8() else {
                counters.malformedPDUs += 1
                return
            }
            guard failedOpcode == requestOpcode else {
                counters.unexpectedResponses += 1
                return
            }
            counters.errorResponses += 1
            outstanding = nil
            let error = ATTErrorCode(rawValue: code)
            if case .read(_, let value) = current.kind, requestOpcode == ATTOpcode.readBlobRequest,
               error == .attributeNotLong || error == .invalidOffset {
                // The value ended exactly at a PDU boundary (§3.4.4.5).
                push(.readCompleted(current.id, value: value))
            } else {
                push(.requestFailed(current.id, .attError(requestOpcode: failedOpcode, handle: handle, code: error)))
            }
            startNext(now: now)
            return
        }
        guard opcode == requestOpcode &+ 1 else {
            counters.unexpectedResponses += 1
            return
        }
        counters.responses += 1
        outstanding = nil
        switch current.kind {
        case .mtu:
            guard let serverMTU = c.u16le() else { return failMalformed(current, opcode, now: now) }
            mtu = max(GATTClient.defaultMTU, min(preferredMTU, serverMTU))
            push(.mtuExchanged(current.id, mtu: mtu))
        case .read(let handle, var value):
            let part = c.rest()
            value.append(contentsOf: part)
            if part.count == Int(mtu) - 1 && value.count < GATTClient.maximumValueLength {
                // A full response may mean more: continue with Read Blob at the next offset.
                current.kind = .read(handle: handle, value: value)
                current.pdu = ATTPDU.readBlobRequest(handle: handle, offset: UInt16(value.count))
                waiting.insert(current, at: 0)
            } else {
                push(.readCompleted(current.id, value: Array(value.prefix(GATTClient.maximumValueLength))))
            }
        case .readByType:
            guard let length = c.u8(), length >= 2, c.remaining > 0, c.remaining % Int(length) == 0 else {
                return failMalformed(current, opcode, now: now)
            }
            var values: [GATTHandleValue] = []
            while !c.isAtEnd {
                guard let handle = c.u16le(), let value = c.take(Int(length) - 2) else { return failMalformed(current, opcode, now: now) }
                values.append(GATTHandleValue(handle: handle, value: Array(value)))
            }
            push(.readByTypeCompleted(current.id, values: values))
        case .findInformation:
            // Format 0x01: 16-bit UUIDs, 0x02: 128-bit (§3.4.3.2); whole pairs only.
            guard let format = c.u8(), format == 0x01 || format == 0x02, c.remaining > 0 else {
                return failMalformed(current, opcode, now: now)
            }
            let size = format == 0x01 ? 2 : 16
            guard c.remaining % (2 + size) == 0 else { return failMalformed(current, opcode, now: now) }
            var entries: [GATTHandleType] = []
            while !c.isAtEnd {
                guard let handle = c.u16le(), let raw = c.take(size), let type = BLEUUID(attBytes: Array(raw)) else {
                    return failMalformed(current, opcode, now: now)
                }
                entries.append(GATTHandleType(handle: handle, type: type))
            }
            push(.findInformationCompleted(current.id, entries: entries))
        case .write:
            push(.writeCompleted(current.id))
        }
        startNext(now: now)
    }

    private func failMalformed(_ request: GATTPendingRequest, _ opcode: UInt8, now: Instant) {
        counters.malformedPDUs += 1
        push(.requestFailed(request.id, .malformedResponse(opcode: opcode)))
        startNext(now: now)
    }

    /// LE signaling channel (Core Vol 3 Part A §4): a central host that does not manage
    /// connection parameters rejects a peripheral's update request, and answers other
    /// requests with Command Reject so the peer is not left waiting for its timeout.
    private func handleSignaling(_ payload: [UInt8]) {
        var c = BLEByteCursor(payload)
        guard let code = c.u8(), let identifier = c.u8(), let length = c.u16le(), c.remaining >= Int(length) else {
            counters.malformedPDUs += 1
            return
        }
        var reply: [UInt8]
        switch code {
        case 0x12: // Connection Parameter Update Request -> Response, result 0x0001 rejected.
            reply = [0x13, identifier, 0x02, 0x00, 0x01, 0x00]
        case 0x06, 0x14, 0x17, 0x19: // Requests for channels this host does not offer.
            reply = [0x01, identifier, 0x02, 0x00, 0x00, 0x00] // Command Reject: not understood.
        default:
            return
        }
        counters.signalingRequestsRejected += 1
        reply = L2CAPHeader(length: UInt16(reply.count), channel: L2CAPChannel.leSignaling).bytes + reply
        outgoing.append(HCIACLPacket(handle: connectionHandle, boundary: .firstNonFlushable, data: reply))
    }

    private func close(failingWith error: GATTError) {
        isClosed = true
        for request in waiting { push(.requestFailed(request.id, error)) }
        waiting.removeAll()
        outgoing.removeAll()
        outgoingHead = 0
        reassembler.reset()
    }

    private func push(_ event: GATTClientEvent) { events.append(event) }

    /// Notifications and indications are dropped (and counted) when the owner falls behind;
    /// request outcomes never are.
    private func pushDroppable(_ event: GATTClientEvent) {
        guard events.count - eventHead < maximumQueuedEvents else {
            counters.eventsDroppedQueueFull += 1
            return
        }
        events.append(event)
    }
}

/// A request waiting for, or awaiting, its response.
struct GATTPendingRequest {
    enum Kind {
        case mtu
        case read(handle: UInt16, value: [UInt8])
        case readByType
        case findInformation
        case write
    }

    let id: GATTRequestID
    var kind: Kind
    var pdu: [UInt8]
    var deadline: Instant
}
