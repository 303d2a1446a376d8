/// Event codes this host understands (Core Vol 4 Part E §7.7).
public enum HCIEventCode: UInt8, Sendable {
    case disconnectionComplete = 0x05
    case commandComplete = 0x0E
    case commandStatus = 0x0F
    case hardwareError = 0x10
    case numberOfCompletedPackets = 0x13
    case leMeta = 0x3E
}

/// LE Meta subevent codes (Core Vol 4 Part E §7.7.65).
public enum HCILESubevent: UInt8, Sendable {
    case connectionComplete = 0x01
    case advertisingReport = 0x02
}

/// An HCI status / error code (Core Vol 1 Part F).
public struct HCIStatus: Equatable, Hashable, Sendable, CustomStringConvertible {
    public let code: UInt8
    public init(code: UInt8) { self.code = code }

    public static let success = HCIStatus(code: 0x00)
    public var isSuccess: Bool { code == 0 }

    public var description: String {
        let name: String
        switch code {
        case 0x00: name = "success"
        case 0x01: name = "unknown HCI command"
        case 0x02: name = "unknown connection identifier"
        case 0x03: name = "hardware failure"
        case 0x05: name = "authentication failure"
        case 0x07: name = "memory capacity exceeded"
        case 0x08: name = "connection timeout"
        case 0x09: name = "connection limit exceeded"
        case 0x0C: name = "command disallowed"
        case 0x0D: name = "connection rejected due to limited resources"
        case 0x11: name = "unsupported feature or parameter value"
        case 0x12: name = "invalid HCI command parameters"
        case 0x13: name = "remote user terminated connection"
        case 0x16: name = "connection terminated by local host"
        case 0x1A: name = "unsupported remote feature"
        case 0x1F: name = "unspecified error"
        case 0x22: name = "LL response timeout"
        case 0x28: name = "instant passed"
        case 0x3A: name = "controller busy"
        case 0x3B: name = "unacceptable connection parameters"
        case 0x3C: name = "advertising timeout"
        case 0x3D: name = "connection terminated due to MIC failure"
        case 0x3E: name = "connection failed to be established"
        default: name = "error"
        }
        return name + " (0x" + BLEHex.byte(code) + ")"
    }
}

/// Command Complete (Core Vol 4 Part E §7.7.14).
public struct HCICommandComplete: Equatable, Sendable {
    /// Num_HCI_Command_Packets: how many commands the controller will take now.
    public let commandCredits: UInt8
    public let opcode: HCIOpcode
    public let returnParameters: [UInt8]

    /// The first return parameter is the status for every command this host sends.
    public var status: HCIStatus { HCIStatus(code: returnParameters.first ?? 0x00) }
}

/// One report of an LE Advertising Report event (Core Vol 4 Part E §7.7.65.2).
public struct HCIAdvertisingReport: Equatable, Sendable {
    /// 0 ADV_IND, 1 ADV_DIRECT_IND, 2 ADV_SCAN_IND, 3 ADV_NONCONN_IND, 4 SCAN_RSP.
    public let eventType: UInt8
    public let addressType: UInt8
    public let address: BLEAddress
    /// The advertising or scan response data (at most 31 bytes), kept in the report itself.
    public let data: BLEInlineBytes
    /// dBm; nil when the controller said 127 ("not available").
    public let rssi: Int8?

    public init(eventType: UInt8, addressType: UInt8, address: BLEAddress, data: BLEInlineBytes, rssi: Int8?) {
        self.eventType = eventType
        self.addressType = addressType
        self.address = address
        self.data = data
        self.rssi = rssi
    }

    public var isScanResponse: Bool { eventType == 0x04 }
}

/// LE Connection Complete (Core Vol 4 Part E §7.7.65.1).
public struct HCILEConnectionComplete: Equatable, Sendable {
    public let status: HCIStatus
    public let handle: UInt16
    /// 0x00 central, 0x01 peripheral.
    public let role: UInt8
    public let peerAddressType: UInt8
    public let peer: BLEAddress
    /// 1.25 ms units.
    public let interval: UInt16
    public let latency: UInt16
    /// 10 ms units.
    public let supervisionTimeout: UInt16
}

/// One handle's entry of Number of Completed Packets (Core Vol 4 Part E §7.7.19).
public struct HCICompletedPackets: Equatable, Sendable {
    public let handle: UInt16
    public let count: UInt16
}

/// Why an event packet could not be decoded.
public enum HCIEventError: Error, Equatable, Sendable, CustomStringConvertible {
    case truncated(code: UInt8)
    case badLength(code: UInt8)

    public var description: String {
        switch self {
        case .truncated(let code): return "HCI event 0x" + BLEHex.byte(code) + " is shorter than its fields"
        case .badLength(let code): return "HCI event 0x" + BLEHex.byte(code) + " has a length its fields do not match"
        }
    }
}

/// A decoded HCI event.
public enum HCIEvent: Equatable, Sendable {
    case commandComplete(HCICommandComplete)
    case commandStatus(status: HCIStatus, commandCredits: UInt8, opcode: HCIOpcode)
    case disconnectionComplete(status: HCIStatus, handle: UInt16, reason: HCIStatus)
    case numberOfCompletedPackets([HCICompletedPackets])
    case hardwareError(code: UInt8)
    case leConnectionComplete(HCILEConnectionComplete)
    case leAdvertisingReports(HCIAdvertisingReports)
    /// An event or LE subevent this host does not use (not an error: controllers send many).
    case unhandled(code: UInt8, subevent: UInt8?)

    public init(_ packet: HCIEventPacket) throws(HCIEventError) {
        var c = BLEByteCursor(packet.parameters)
        let code = packet.code
        switch HCIEventCode(rawValue: code) {
        case .commandComplete:
            guard let credits = c.u8(), let opcode = c.u16le() else { throw .truncated(code: code) }
            self = .commandComplete(HCICommandComplete(commandCredits: credits, opcode: HCIOpcode(rawValue: opcode),
                                                       returnParameters: Array(c.rest())))
        case .commandStatus:
            guard let status = c.u8(), let credits = c.u8(), let opcode = c.u16le() else { throw .truncated(code: code) }
            self = .commandStatus(status: HCIStatus(code: status), commandCredits: credits, opcode: HCIOpcode(rawValue: opcode))
        case .disconnectionComplete:
            guard let status = c.u8(), let handle = c.u16le(), let reason = c.u8() else { throw .truncated(code: code) }
            self = .disconnectionComplete(status: HCIStatus(code: status), handle: handle & 0x0FFF, reason: HCIStatus(code: reason))
        case .numberOfCompletedPackets:
            guard let count = c.u8() else { throw .truncated(code: code) }
            guard c.remaining == Int(count) * 4 else { throw .badLength(code: code) }
            var entries: [HCICompletedPackets] = []
            // Row-major (handle, count) pairs, as controllers and BlueZ lay them out.
            for _ in 0..<count {
                guard let handle = c.u16le(), let done = c.u16le() else { throw .truncated(code: code) }
                entries.append(HCICompletedPackets(handle: handle & 0x0FFF, count: done))
            }
            self = .numberOfCompletedPackets(entries)
        case .hardwareError:
            guard let hardwareCode = c.u8() else { throw .truncated(code: code) }
            self = .hardwareError(code: hardwareCode)
        case .leMeta:
            guard let subevent = c.u8() else { throw .truncated(code: code) }
            switch HCILESubevent(rawValue: subevent) {
            case .connectionComplete:
                guard let status = c.u8(), let handle = c.u16le(), let role = c.u8(), let peerType = c.u8(),
                      let peer = c.take(6).flatMap({ BLEAddress(hciBytes: $0) }),
                      let interval = c.u16le(), let latency = c.u16le(), let timeout = c.u16le(), c.u8() != nil
                else { throw .truncated(code: code) }
                self = .leConnectionComplete(HCILEConnectionComplete(
                    status: HCIStatus(code: status), handle: handle & 0x0FFF, role: role, peerAddressType: peerType,
                    peer: peer, interval: interval, latency: latency, supervisionTimeout: timeout))
            case .advertisingReport:
                self = .leAdvertisingReports(try HCIAdvertisingReports(c.rest()))
            case nil:
                self = .unhandled(code: code, subevent: subevent)
            }
        case nil:
            self = .unhandled(code: code, subevent: nil)
        }
    }
}

/// The reports of one LE Advertising Report event, read in place from the event's
/// parameters when iterated; the whole event is checked when it is decoded, so a malformed
/// one yields no report at all. An array of reports per event would be a heap allocation.
/// The parameters are the H4 reader's reused buffer: take the reports out (they are plain
/// values) before the reader frames the next packet, or its refill copies.
public struct HCIAdvertisingReports: Sequence, Equatable, Sendable {
    /// Num_Reports and the reports.
    private let bytes: ArraySlice<UInt8>
    public let count: Int

    init(_ bytes: ArraySlice<UInt8>) throws(HCIEventError) {
        let code = HCIEventCode.leMeta.rawValue
        var c = BLEByteCursor(bytes)
        guard let count = c.u8() else { throw .truncated(code: code) }
        guard (1...25).contains(count) else { throw .badLength(code: code) }
        for _ in 0..<count { _ = try HCIAdvertisingReports.report(&c) }
        guard c.isAtEnd else { throw .badLength(code: code) }
        self.bytes = bytes
        self.count = Int(count)
    }

    public var underestimatedCount: Int { count }

    public func makeIterator() -> Iterator {
        var c = BLEByteCursor(bytes)
        _ = c.u8()
        return Iterator(cursor: c, left: count)
    }

    public struct Iterator: IteratorProtocol {
        var cursor: BLEByteCursor
        var left: Int

        public mutating func next() -> HCIAdvertisingReport? {
            guard left > 0 else { return nil }
            left -= 1
            // Never nil: every report was read once already, when the event was decoded.
            return try? HCIAdvertisingReports.report(&cursor)
        }
    }

    /// Reports are read one after another (event type, address type, address, data, RSSI),
    /// the layout controllers send and BlueZ and Bumble parse; with the usual single
    /// report it is also the spec's column layout.
    private static func report(_ c: inout BLEByteCursor) throws(HCIEventError) -> HCIAdvertisingReport {
        let code = HCIEventCode.leMeta.rawValue
        guard let eventType = c.u8(), let addressType = c.u8(),
              let address = c.take(6).flatMap({ BLEAddress(hciBytes: $0) }),
              let length = c.u8() else { throw .truncated(code: code) }
        guard length <= 31 else { throw .badLength(code: code) }
        guard let raw = c.take(Int(length)), let data = BLEInlineBytes(raw), let rssi = c.i8() else { throw .truncated(code: code) }
        return HCIAdvertisingReport(eventType: eventType, addressType: addressType, address: address,
                                    data: data, rssi: rssi == 127 ? nil : rssi)
    }

    /// The same bytes are the same reports.
    public static func == (a: HCIAdvertisingReports, b: HCIAdvertisingReports) -> Bool { a.bytes == b.bytes }
}
