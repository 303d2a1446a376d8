/// MT transport framing: `FE | LEN | CMD0 | CMD1 | DATA | FCS`.
///
/// Sources: TI "Z-Stack Monitor and Test API" §2 (general frame format); zigpy-znp
/// zigpy_znp/frames.py (TransportFrame, GeneralFrame) and types/commands.py (CommandHeader).

/// The three MT command types the host and the stick exchange (CMD0 bits 5–7).
public enum MTType: UInt8, Sendable {
    /// POLL (0): only used on SPI transports.
    case poll = 0
    /// SREQ (1): synchronous request; the stick answers with exactly one SRSP.
    case sreq = 1
    /// AREQ (2): asynchronous request or callback; never answered.
    case areq = 2
    /// SRSP (3): the synchronous reply; its CMD0 is the request's plus 0x40.
    case srsp = 3
}

/// MT subsystems (CMD0 bits 0–4), zigpy-znp types/commands.py `Subsystem`.
public enum MTSubsystem: UInt8, Sendable {
    case rpcError = 0x00
    case sys = 0x01
    case mac = 0x02
    case nwk = 0x03
    case af = 0x04
    case zdo = 0x05
    case sapi = 0x06
    case util = 0x07
    case debug = 0x08
    case app = 0x09
    case appConfig = 0x0F
    case zgp = 0x15
}

/// One MT frame without its transport bytes (SOF, LEN, FCS).
public struct MTFrame: Equatable, Sendable, CustomStringConvertible {
    /// The most DATA bytes a frame may carry (zigpy-znp frames.py rejects LEN > 250).
    public static let maxPayload = 250
    static let startOfFrame: UInt8 = 0xFE

    public var cmd0: UInt8
    public var cmd1: UInt8
    public var payload: [UInt8]

    public init(cmd0: UInt8, cmd1: UInt8, payload: [UInt8] = []) {
        self.cmd0 = cmd0
        self.cmd1 = cmd1
        self.payload = payload
    }

    public init(type: MTType, subsystem: UInt8, command: UInt8, payload: [UInt8] = []) {
        self.init(cmd0: type.rawValue << 5 | (subsystem & 0x1F), cmd1: command, payload: payload)
    }

    public init(type: MTType, subsystem: MTSubsystem, command: UInt8, payload: [UInt8] = []) {
        self.init(type: type, subsystem: subsystem.rawValue, command: command, payload: payload)
    }

    public var typeBits: UInt8 { cmd0 >> 5 }
    public var type: MTType? { MTType(rawValue: typeBits) }
    public var subsystemID: UInt8 { cmd0 & 0x1F }
    public var subsystem: MTSubsystem? { MTSubsystem(rawValue: subsystemID) }

    /// FCS: XOR of LEN, CMD0, CMD1 and every DATA byte.
    public var checksum: UInt8 {
        payload.reduce(UInt8(truncatingIfNeeded: payload.count) ^ cmd0 ^ cmd1, ^)
    }

    /// The bytes on the wire. Payloads over 250 bytes are a programming error upstream; they
    /// are cut rather than sent with a LEN the host would reject.
    public var encoded: [UInt8] {
        let frame = payload.count > Self.maxPayload
            ? MTFrame(cmd0: cmd0, cmd1: cmd1, payload: Array(payload.prefix(Self.maxPayload))) : self
        return [Self.startOfFrame, UInt8(frame.payload.count), cmd0, cmd1] + frame.payload + [frame.checksum]
    }

    public var description: String {
        let kinds = ["POLL", "SREQ", "AREQ", "SRSP"]
        let kind = Int(typeBits) < kinds.count ? kinds[Int(typeBits)] : "T\(typeBits)"
        let name = MTCommandNames.name(cmd0: cmd0, cmd1: cmd1)
        return "\(kind) \(name) [\(hex2(cmd0)) \(hex2(cmd1))] \(payload.isEmpty ? "-" : hexDump(payload))"
    }
}

/// Splits a byte stream into frames the way the stick's UART task does (MT_UartProcessZToolData):
/// bytes before a SOF are skipped, a LEN over 250 drops that SOF, and a frame whose FCS does not
/// match is dropped whole, without looking for another SOF inside it.
public struct MTFrameDecoder: Sendable {
    public enum Event: Equatable, Sendable {
        case frame(MTFrame)
        /// A complete frame whose FCS was wrong, dropped.
        case badChecksum(MTFrame, received: UInt8)
        /// Bytes skipped while looking for a SOF (or a SOF with an impossible LEN).
        case skipped(count: Int)
    }

    private var buffer: [UInt8] = []

    public init() {}

    /// Bytes received but not yet part of a whole frame.
    public var pendingCount: Int { buffer.count }

    public mutating func reset() { buffer.removeAll() }

    public mutating func feed(_ bytes: [UInt8]) -> [Event] {
        buffer.append(contentsOf: bytes)
        var events: [Event] = []
        var start = 0
        var skipped = 0
        // Each pass consumes at least one byte or stops, so the loop ends within buffer.count passes.
        while start < buffer.count {
            if buffer[start] != MTFrame.startOfFrame {
                start += 1
                skipped += 1
                continue
            }
            guard buffer.count - start >= 2 else { break }
            let length = Int(buffer[start + 1])
            if length > MTFrame.maxPayload {
                start += 1
                skipped += 1
                continue
            }
            let total = 5 + length
            guard buffer.count - start >= total else { break }
            if skipped > 0 {
                events.append(.skipped(count: skipped))
                skipped = 0
            }
            let frame = MTFrame(
                cmd0: buffer[start + 2], cmd1: buffer[start + 3],
                payload: Array(buffer[(start + 4)..<(start + 4 + length)]))
            let fcs = buffer[start + total - 1]
            events.append(fcs == frame.checksum ? .frame(frame) : .badChecksum(frame, received: fcs))
            start += total
        }
        if skipped > 0 { events.append(.skipped(count: skipped)) }
        buffer.removeFirst(start)
        return events
    }
}
