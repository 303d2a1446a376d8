/// H4, the UART transport (Core Vol 4 Part A): every HCI packet is preceded by a one-octet
/// packet indicator, and the packet's own length field says where it ends.

/// HCI packet indicators (Core Vol 4 Part A §2, Table 2.1).
public enum H4Indicator: UInt8, Sendable {
    /// HCI Command packet, Host to Controller only.
    case command = 0x01
    /// HCI ACL Data packet, both ways.
    case acl = 0x02
    /// HCI Synchronous Data packet (SCO), both ways; an LE-only controller has none.
    case sco = 0x03
    /// HCI Event packet, Controller to Host only.
    case event = 0x04
    /// HCI ISO Data packet, both ways.
    case iso = 0x05
}

/// One HCI packet as the UART carries it.
public enum H4Packet: Equatable, Sendable {
    case command(opcode: UInt16, parameters: [UInt8])
    /// `flags` holds the Packet_Boundary (bits 0–1) and Broadcast (bits 2–3) flags.
    case acl(handle: UInt16, flags: UInt8, data: [UInt8])
    case sco(handle: UInt16, data: [UInt8])
    case event(code: UInt8, parameters: [UInt8])
    case iso(handle: UInt16, data: [UInt8])

    /// The packet with its indicator, ready for the UART.
    public var encoded: [UInt8] {
        switch self {
        case let .command(opcode, parameters):
            return [H4Indicator.command.rawValue, UInt8(opcode & 0xFF), UInt8(opcode >> 8), UInt8(parameters.count)]
                + parameters
        case let .acl(handle, flags, data):
            let word = (handle & 0x0FFF) | UInt16(flags & 0x0F) << 12
            return [H4Indicator.acl.rawValue, UInt8(word & 0xFF), UInt8(word >> 8),
                    UInt8(data.count & 0xFF), UInt8(data.count >> 8)] + data
        case let .sco(handle, data):
            return [H4Indicator.sco.rawValue, UInt8(handle & 0xFF), UInt8((handle >> 8) & 0x0F), UInt8(data.count)] + data
        case let .event(code, parameters):
            return [H4Indicator.event.rawValue, code, UInt8(parameters.count)] + parameters
        case let .iso(handle, data):
            return [H4Indicator.iso.rawValue, UInt8(handle & 0xFF), UInt8((handle >> 8) & 0x0F),
                    UInt8(data.count & 0xFF), UInt8((data.count >> 8) & 0x3F)] + data
        }
    }
}

/// What the deframer makes of the byte stream.
public enum H4Input: Equatable, Sendable {
    case packet(H4Packet)
    /// Synchronisation is lost (Core Vol 4 Part A §4): a wrong packet indicator, or a length
    /// field out of range. `byte` is the offending octet, `reason` says which.
    case syncLost(byte: UInt8, reason: String)
}

/// Splits a UART byte stream into HCI packets, whatever the chunking of reads.
///
/// On the Controller side (`resyncOnReset`), after a loss of synchronisation it discards
/// everything until the bytes of an HCI_Reset command, which the Controller uses to
/// resynchronise (Core Vol 4 Part A §4, Error Recovery).
public struct H4Deframer: Sendable {
    /// Which packet indicators this side may receive.
    public let accepted: Set<H4Indicator>
    /// ACL data packets longer than this are a length out of range.
    public let maxACLLength: Int
    public let resyncOnReset: Bool

    private var buffer: [UInt8] = []
    private(set) public var awaitingReset = false

    static let resetCommand: [UInt8] = [0x01, 0x03, 0x0C, 0x00]

    public init(accepted: Set<H4Indicator>, maxACLLength: Int = 0xFFFF, resyncOnReset: Bool) {
        self.accepted = accepted
        self.maxACLLength = maxACLLength
        self.resyncOnReset = resyncOnReset
    }

    /// Controller side: commands, ACL, SCO and ISO data from the Host.
    public static func controllerSide(maxACLLength: Int) -> H4Deframer {
        H4Deframer(accepted: [.command, .acl, .sco, .iso], maxACLLength: maxACLLength, resyncOnReset: true)
    }

    /// Host side: events and ACL data from the Controller (for tests and tools).
    public static func hostSide() -> H4Deframer {
        H4Deframer(accepted: [.event, .acl, .sco, .iso], resyncOnReset: false)
    }

    /// Bytes held back until their packet completes.
    public var pending: Int { buffer.count }

    public mutating func push(_ bytes: some Sequence<UInt8>) -> [H4Input] {
        buffer.append(contentsOf: bytes)
        var out: [H4Input] = []
        // Each pass consumes at least one byte or stops, so the loop ends within buffer.count passes.
        var guardCount = buffer.count + 1
        while !buffer.isEmpty, guardCount > 0 {
            guardCount -= 1
            if awaitingReset {
                guard let at = findReset() else {
                    // Keep only a tail that could still start the Reset pattern.
                    let keep = min(buffer.count, H4Deframer.resetCommand.count - 1)
                    buffer.removeFirst(buffer.count - keep)
                    return out
                }
                buffer.removeFirst(at)
                awaitingReset = false
                continue
            }
            guard let indicator = H4Indicator(rawValue: buffer[0]), accepted.contains(indicator) else {
                let byte = buffer.removeFirst()
                out.append(.syncLost(byte: byte, reason: "packet indicator 0x\(hex2(byte)) is not one this side receives"))
                if resyncOnReset { awaitingReset = true }
                continue
            }
            let headerLength: Int
            switch indicator {
            case .command: headerLength = 3
            case .acl, .iso: headerLength = 4
            case .sco, .event: headerLength = 2
            }
            guard buffer.count >= 1 + headerLength else { return out }
            let h = Array(buffer[1...headerLength])
            let length: Int
            switch indicator {
            case .command, .sco: length = Int(h[2])
            case .event: length = Int(h[1])
            case .acl: length = Int(h[2]) | Int(h[3]) << 8
            case .iso: length = Int(h[2]) | Int(h[3] & 0x3F) << 8
            }
            if indicator == .acl, length > maxACLLength {
                let byte = buffer.removeFirst()
                out.append(.syncLost(byte: byte, reason: "ACL data length \(length) is above the buffer length \(maxACLLength)"))
                if resyncOnReset { awaitingReset = true }
                continue
            }
            let total = 1 + headerLength + length
            guard buffer.count >= total else { return out }
            let body = Array(buffer[(1 + headerLength)..<total])
            buffer.removeFirst(total)
            switch indicator {
            case .command:
                out.append(.packet(.command(opcode: UInt16(h[0]) | UInt16(h[1]) << 8, parameters: body)))
            case .acl:
                let word = UInt16(h[0]) | UInt16(h[1]) << 8
                out.append(.packet(.acl(handle: word & 0x0FFF, flags: UInt8(word >> 12), data: body)))
            case .sco:
                out.append(.packet(.sco(handle: (UInt16(h[0]) | UInt16(h[1]) << 8) & 0x0FFF, data: body)))
            case .event:
                out.append(.packet(.event(code: h[0], parameters: body)))
            case .iso:
                out.append(.packet(.iso(handle: (UInt16(h[0]) | UInt16(h[1]) << 8) & 0x0FFF, data: body)))
            }
        }
        return out
    }

    private func findReset() -> Int? {
        let p = H4Deframer.resetCommand
        guard buffer.count >= p.count else { return nil }
        for i in 0...(buffer.count - p.count) where buffer[i] == p[0] {
            if Array(buffer[i..<i + p.count]) == p { return i }
        }
        return nil
    }
}
