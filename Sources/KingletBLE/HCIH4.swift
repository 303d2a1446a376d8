/// The H4 packet indicator that precedes every HCI packet on a UART (Core Vol 4 Part A §2)
/// and on a Linux HCI user-channel socket.
public enum HCIPacketIndicator: UInt8, Sendable {
    case command = 0x01
    case aclData = 0x02
    case scoData = 0x03
    case event = 0x04
    case isoData = 0x05

    public var description: String {
        switch self {
        case .command: return "command"
        case .aclData: return "ACL data"
        case .scoData: return "SCO data"
        case .event: return "event"
        case .isoData: return "ISO data"
        }
    }
}

/// An HCI event packet as it came off the wire: the event code and its parameters
/// (Core Vol 4 Part E §5.4.4).
public struct HCIEventPacket: Equatable, Sendable {
    public let code: UInt8
    public let parameters: [UInt8]

    public init(code: UInt8, parameters: [UInt8]) {
        self.code = code
        self.parameters = parameters
    }
}

/// Packet_Boundary_Flag of an ACL data packet (Core Vol 4 Part E §5.4.2).
public enum HCIACLBoundary: UInt8, Sendable {
    /// Host to controller: first fragment of an L2CAP PDU (LE uses non-flushable).
    case firstNonFlushable = 0b00
    /// Either way: a continuation fragment.
    case continuing = 0b01
    /// Controller to host: first fragment of an L2CAP PDU.
    case firstFlushable = 0b10
    /// A complete, automatically flushable L2CAP PDU (BR/EDR only; accepted as "first").
    case complete = 0b11

    public var startsPDU: Bool { self != .continuing }
}

/// An HCI ACL data packet: the 12-bit connection handle, its flags and the payload.
public struct HCIACLPacket: Equatable, Sendable {
    public let handle: UInt16
    public let boundary: HCIACLBoundary
    /// Broadcast_Flag; 0 (point to point) on LE.
    public let broadcast: UInt8
    public let data: [UInt8]

    public init(handle: UInt16, boundary: HCIACLBoundary, broadcast: UInt8 = 0, data: [UInt8]) {
        self.handle = handle & 0x0FFF
        self.boundary = boundary
        self.broadcast = broadcast & 0b11
        self.data = data
    }

    /// The 4-byte ACL header plus payload, without the H4 indicator.
    public var hciBytes: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(4 + data.count)
        out.bleAppendLE16(handle | UInt16(boundary.rawValue) << 12 | UInt16(broadcast) << 14)
        out.bleAppendLE16(UInt16(truncatingIfNeeded: data.count))
        out.append(contentsOf: data)
        return out
    }

    /// The packet as written to a UART or user-channel socket.
    public var h4Bytes: [UInt8] { [HCIPacketIndicator.aclData.rawValue] + hciBytes }
}

/// One packet the host receives.
public enum HCIH4Packet: Equatable, Sendable {
    case event(HCIEventPacket)
    case acl(HCIACLPacket)
}

/// What the H4 reader has seen, for the agent's status and for tests.
public struct HCIH4Counters: Equatable, Sendable {
    public var events = 0
    public var aclPackets = 0
    /// SCO and ISO packets, framed correctly but of no use to this host.
    public var skippedPackets = 0
    /// Bytes dropped while looking for the next packet start.
    public var garbageBytes = 0
    /// Times the reader gave up on a header that could not be real and resynchronised.
    public var resyncs = 0

    public init() {}
}

/// Cuts an H4 byte stream into HCI packets. Feed it arbitrary chunks with `append`; take
/// packets with `nextPacket()` until it answers nil.
///
/// H4 has no sync word or checksum (Core Vol 4 Part A §2), so resynchronising is a matter of
/// judgement: a byte that is not an indicator the controller sends, or a header whose length
/// cannot be real, is dropped one byte at a time and counted, and parsing restarts at the
/// next byte. A stream that never lines up again wastes at most one packet's worth of bytes
/// per real packet; the buffer never grows beyond one maximal packet plus the last chunk.
public struct HCIH4Reader: Sendable {
    /// Largest ACL payload accepted (the controller's LE ACL buffer length is far smaller;
    /// 1021 leaves room for BR/EDR controllers).
    public let maximumACLLength: Int
    public private(set) var counters = HCIH4Counters()
    private var buffer: [UInt8] = []
    private var start = 0
    /// The parameters of the event just framed, refilled for each one: a fresh array per
    /// packet would be a heap allocation. An owner that drops each packet before asking for
    /// the next (as `BLEScanner` does) keeps this buffer unshared; a packet kept longer only
    /// makes the next refill copy (copy-on-write).
    private var eventParameters: [UInt8] = []

    public init(maximumACLLength: Int = 1021) {
        self.maximumACLLength = max(27, maximumACLLength)
    }

    /// Bytes waiting for the rest of their packet.
    public var pendingByteCount: Int { buffer.count - start }

    public mutating func append(_ bytes: some Sequence<UInt8>) {
        if start > 0 && start >= buffer.count / 2 {
            buffer.removeFirst(start)
            start = 0
        }
        buffer.append(contentsOf: bytes)
    }

    /// Forgets a partial packet, e.g. after the owner reopened the port.
    public mutating func reset() {
        buffer.removeAll(keepingCapacity: true)
        start = 0
    }

    public mutating func nextPacket() -> HCIH4Packet? {
        while start < buffer.count {
            switch frame() {
            case .packet(let packet): return packet
            case .needMore: return nil
            case .skipped: continue
            case .garbage:
                counters.garbageBytes += 1
                start += 1
            }
        }
        return nil
    }

    private enum FrameResult {
        case packet(HCIH4Packet)
        case needMore
        case skipped
        case garbage
    }

    private mutating func frame() -> FrameResult {
        let available = buffer.count - start
        switch HCIPacketIndicator(rawValue: buffer[start]) {
        case .event:
            guard available >= 3 else { return .needMore }
            let code = buffer[start + 1]
            let length = Int(buffer[start + 2])
            guard HCIH4Reader.plausibleEvent(code: code, length: length) else { return resync() }
            guard available >= 3 + length else { return .needMore }
            eventParameters.removeAll(keepingCapacity: true)
            eventParameters.append(contentsOf: buffer[(start + 3)..<(start + 3 + length)])
            start += 3 + length
            counters.events += 1
            return .packet(.event(HCIEventPacket(code: code, parameters: eventParameters)))
        case .aclData:
            guard available >= 5 else { return .needMore }
            let field = UInt16(buffer[start + 1]) | UInt16(buffer[start + 2]) << 8
            let length = Int(buffer[start + 3]) | Int(buffer[start + 4]) << 8
            // Handles above 0x0EFF are reserved (Core Vol 4 Part E §5.4.2).
            guard field & 0x0FFF <= 0x0EFF, length <= maximumACLLength,
                  let boundary = HCIACLBoundary(rawValue: UInt8((field >> 12) & 0b11))
            else { return resync() }
            guard available >= 5 + length else { return .needMore }
            let data = Array(buffer[(start + 5)..<(start + 5 + length)])
            start += 5 + length
            counters.aclPackets += 1
            return .packet(.acl(HCIACLPacket(handle: field & 0x0FFF, boundary: boundary,
                                             broadcast: UInt8(field >> 14), data: data)))
        case .scoData:
            guard available >= 4 else { return .needMore }
            return skip(headerLength: 4, payloadLength: Int(buffer[start + 3]))
        case .isoData:
            guard available >= 5 else { return .needMore }
            let length = (Int(buffer[start + 3]) | Int(buffer[start + 4]) << 8) & 0x3FFF
            guard length <= maximumACLLength else { return resync() }
            return skip(headerLength: 5, payloadLength: length)
        case .command, nil:
            // A controller never sends commands; anything else is line noise.
            return .garbage
        }
    }

    private mutating func skip(headerLength: Int, payloadLength: Int) -> FrameResult {
        guard buffer.count - start >= headerLength + payloadLength else { return .needMore }
        start += headerLength + payloadLength
        counters.skippedPackets += 1
        return .skipped
    }

    private mutating func resync() -> FrameResult {
        counters.resyncs += 1
        return .garbage
    }

    /// Rejects headers no controller sends: event code 0 does not exist, codes above the
    /// spec's range (0x59 in Core 5.4; new LE events come as LE Meta subevents) are unused
    /// except vendor 0xFF, and the events this host relies on have a known size
    /// (Core Vol 4 Part E §7.7).
    static func plausibleEvent(code: UInt8, length: Int) -> Bool {
        switch code {
        case 0x00, 0x60...0xFE: return false
        case HCIEventCode.commandComplete.rawValue: return length >= 3
        case HCIEventCode.commandStatus.rawValue: return length == 4
        case HCIEventCode.disconnectionComplete.rawValue: return length == 4
        case HCIEventCode.numberOfCompletedPackets.rawValue: return length >= 1 && (length - 1) % 4 == 0
        case HCIEventCode.leMeta.rawValue: return length >= 1
        default: return true
        }
    }
}

/// Encoders for what the host writes.
public enum HCIH4 {
    /// An HCI command packet with its H4 indicator: opcode LE, parameter length, parameters
    /// (Core Vol 4 Part E §5.4.1).
    public static func command(_ opcode: HCIOpcode, parameters: [UInt8] = []) -> [UInt8] {
        var out: [UInt8] = [HCIPacketIndicator.command.rawValue]
        out.reserveCapacity(4 + parameters.count)
        out.bleAppendLE16(opcode.rawValue)
        out.append(UInt8(truncatingIfNeeded: min(parameters.count, 255)))
        out.append(contentsOf: parameters.prefix(255))
        return out
    }

    /// An ACL data packet with its H4 indicator.
    public static func acl(handle: UInt16, boundary: HCIACLBoundary, data: [UInt8]) -> [UInt8] {
        HCIACLPacket(handle: handle, boundary: boundary, data: data).h4Bytes
    }
}
