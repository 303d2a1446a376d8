/// L2CAP fixed channels on an LE link (Core Vol 3 Part A §2.1).
public enum L2CAPChannel {
    public static let att: UInt16 = 0x0004
    public static let leSignaling: UInt16 = 0x0005
    public static let securityManager: UInt16 = 0x0006
}

/// The L2CAP basic header: payload length and channel id, both little-endian
/// (Core Vol 3 Part A §3.1).
public struct L2CAPHeader: Equatable, Sendable {
    public let length: UInt16
    public let channel: UInt16

    public init(length: UInt16, channel: UInt16) {
        self.length = length
        self.channel = channel
    }

    public static let size = 4

    public var bytes: [UInt8] {
        var out: [UInt8] = []
        out.bleAppendLE16(length)
        out.bleAppendLE16(channel)
        return out
    }
}

/// The controller's LE ACL data buffers, shared by every connection: the host may have at
/// most `totalPackets` ACL packets in the controller at once, each at most `packetLength`
/// bytes of payload. A packet's buffer comes back with Number of Completed Packets, and all
/// of a connection's buffers come back when it disconnects (Core Vol 4 Part E §4.1.1, §4.3).
public final class HCIACLCredits {
    public private(set) var packetLength: Int
    public private(set) var totalPackets: Int
    private var inFlight: [UInt16: Int] = [:]

    /// The defaults are the smallest LE buffer a controller may have (27 bytes, Core Vol 6
    /// Part B §2.4.2.21) and a single packet: safe before LE Read Buffer Size has answered.
    public init(packetLength: Int = 27, totalPackets: Int = 1) {
        self.packetLength = max(27, packetLength)
        self.totalPackets = max(1, totalPackets)
    }

    public var inFlightTotal: Int { inFlight.values.reduce(0, +) }
    public var available: Int { max(0, totalPackets - inFlightTotal) }

    public func configure(packetLength: Int, totalPackets: Int) {
        self.packetLength = max(27, packetLength)
        self.totalPackets = max(1, totalPackets)
    }

    /// Claims one buffer for `handle`; false when the controller has none free.
    public func take(handle: UInt16) -> Bool {
        guard available > 0 else { return false }
        inFlight[handle, default: 0] += 1
        return true
    }

    /// Number of Completed Packets for one handle. A count larger than what we sent is a
    /// controller bug; it is clamped so credits never exceed the total.
    public func release(handle: UInt16, count: Int) {
        guard let current = inFlight[handle] else { return }
        let left = current - min(current, max(0, count))
        inFlight[handle] = left == 0 ? nil : left
    }

    public func connectionClosed(handle: UInt16) {
        inFlight[handle] = nil
    }
}

/// Collects the ACL fragments of one connection into whole L2CAP PDUs.
struct L2CAPReassembler {
    /// ATT's largest MTU plus the L2CAP header; anything bigger is not ours to buffer.
    static let maximumPDU = 4 + 517
    private var pending: [UInt8] = []
    private(set) var droppedFragments = 0

    /// Returns (channel, payload) once a PDU is complete.
    mutating func add(_ packet: HCIACLPacket) -> (channel: UInt16, payload: [UInt8])? {
        if packet.boundary.startsPDU {
            if !pending.isEmpty { droppedFragments += 1 }
            pending = packet.data
        } else {
            guard !pending.isEmpty else {
                droppedFragments += 1
                return nil
            }
            pending.append(contentsOf: packet.data)
        }
        guard pending.count >= L2CAPHeader.size else { return nil }
        let total = (Int(pending[0]) | Int(pending[1]) << 8) + L2CAPHeader.size
        if total > L2CAPReassembler.maximumPDU || pending.count > total {
            // Longer than its header says, or than any ATT PDU: corrupt, not ours to guess at.
            droppedFragments += 1
            pending = []
            return nil
        }
        if pending.count < total { return nil }
        let channel = UInt16(pending[2]) | UInt16(pending[3]) << 8
        let payload = Array(pending[L2CAPHeader.size...])
        pending = []
        return (channel, payload)
    }

    mutating func reset() { pending = [] }
}
