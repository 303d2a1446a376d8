@testable import KingletSimBLE

/// A test host: drives a controller with a manual clock and parses what it sends.
struct Harness {
    var controller: BLEController
    var now: SimInstant
    private var deframer = H4Deframer.hostSide()

    init(_ json: String = Harness.oneSensor, faults: FaultPlan = FaultPlan()) throws {
        let config = try SimulationConfig.parse(json)
        now = .milliseconds(1_000)
        controller = BLEController(config: config, faults: faults, start: now)
    }

    mutating func parse(_ bytes: [UInt8]) -> [H4Packet] {
        deframer.push(bytes).compactMap { if case let .packet(p) = $0 { return p } else { return nil } }
    }

    mutating func send(_ packet: H4Packet) -> [H4Packet] { parse(controller.received(packet.encoded)) }

    mutating func command(_ opcode: UInt16, _ parameters: [UInt8] = []) -> [H4Packet] {
        send(.command(opcode: opcode, parameters: parameters))
    }

    mutating func command(_ c: HCICommand, _ parameters: [UInt8] = []) -> [H4Packet] { command(c.rawValue, parameters) }

    mutating func advance(milliseconds ms: UInt64) -> [H4Packet] {
        var out: [H4Packet] = []
        // Step in 1 ms so events come out in time order, as the pty server's loop would.
        for _ in 0..<ms {
            now = now.adding(milliseconds: 1)
            out += parse(controller.tick(now: now))
        }
        return out
    }

    /// Reset, LE Meta unmasked, scan parameters, scan enable.
    mutating func startScanning(active: Bool = false, filterDuplicates: Bool = false, interval: UInt16 = 0x0010,
                                window: UInt16 = 0x0010) {
        _ = command(.reset)
        _ = command(.setEventMask, [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x3F])
        _ = command(.leSetScanParameters, [active ? 1 : 0, UInt8(interval & 0xFF), UInt8(interval >> 8),
                                           UInt8(window & 0xFF), UInt8(window >> 8), 0, 0])
        _ = command(.leSetScanEnable, [1, filterDuplicates ? 1 : 0])
    }

    /// Creates a connection to the relay and returns its handle.
    mutating func connectRelay() -> UInt16? {
        _ = command(.reset)
        _ = command(.setEventMask, [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x3F])
        let status = command(.leCreateConnection, createConnectionParameters(peer: "24:0A:C4:00:00:06"))
        guard status.first?.commandStatus == 0 else { return nil }
        for p in advance(milliseconds: 200) {
            if let c = p.leConnectionComplete, c.status == 0 { return c.handle }
        }
        return nil
    }

    /// One ATT request over L2CAP CID 4, then the connection event that carries it.
    mutating func att(_ handle: UInt16, _ pdu: [UInt8]) -> [UInt8]? {
        var l2 = ByteWriter()
        l2.u16(UInt16(pdu.count))
        l2.u16(0x0004)
        l2.append(pdu)
        _ = send(.acl(handle: handle, flags: 0b00, data: l2.bytes))
        return l2capPayloads(advance(milliseconds: 100), handle: handle).first
    }

    static let relay = """
        {"devices": [{"name": "relay", "address": "24:0A:C4:00:00:06", "intervalMs": 50, "localName": "Relay",
          "gatt": {"service": "a1b2c3d4-0001-4b4c-8e1f-6b696e676c65", "mtu": 247, "characteristics": [
            {"uuid": "a1b2c3d4-0002-4b4c-8e1f-6b696e676c65", "kind": "switch", "description": "Relay"},
            {"uuid": "2A6E", "kind": "temperature", "value": 23.0, "drift": 0, "notifyMs": 200},
            {"uuid": "2A29", "kind": "text", "value": "Kinglet"},
            {"uuid": "a1b2c3d4-0003-4b4c-8e1f-6b696e676c65", "kind": "bytes", "value": "00", "properties": ["write"]}
          ]}}]}
        """

    static let oneSensor = """
        {"devices": [{"name": "s", "address": "A4:C1:38:00:00:01", "intervalMs": 100,
          "bthome": {"measurements": [{"type": "temperature", "value": 21.5, "drift": 0}]}}]}
        """
}

func createConnectionParameters(peer: String, peerType: UInt8 = 0, intervalMin: UInt16 = 0x0018,
                                timeout: UInt16 = 0x01F4) -> [UInt8] {
    var w = ByteWriter()
    w.u16(0x0010); w.u16(0x0010); w.u8(0); w.u8(peerType)
    w.append(BDAddress(peer)!.wireOrder)
    w.u8(0); w.u16(intervalMin); w.u16(0x0028); w.u16(0); w.u16(timeout); w.u16(0); w.u16(0)
    return w.bytes
}

/// Reassembles the Controller's ACL fragments into L2CAP payloads on CID 4.
func l2capPayloads(_ packets: [H4Packet], handle: UInt16) -> [[UInt8]] {
    var out: [[UInt8]] = []
    var buffer: [UInt8] = []
    for case let .acl(h, flags, data) in packets where h == handle {
        if flags & 0x03 == 0b10 { buffer = data } else { buffer += data }
        if buffer.count >= 4, buffer.count == 4 + (Int(buffer[0]) | Int(buffer[1]) << 8) {
            out.append(Array(buffer[4...]))
            buffer = []
        }
    }
    return out
}

extension H4Packet {
    /// (opcode, return parameters) of a Command Complete.
    var commandComplete: (opcode: UInt16, parameters: [UInt8])? {
        guard case let .event(0x0E, p) = self, p.count >= 3 else { return nil }
        return (UInt16(p[1]) | UInt16(p[2]) << 8, Array(p[3...]))
    }

    /// Status of a Command Status.
    var commandStatus: UInt8? {
        guard case let .event(0x0F, p) = self, p.count == 4 else { return nil }
        return p[0]
    }

    /// Status of a Command Complete (its first return parameter).
    var completeStatus: UInt8? { commandComplete?.parameters.first }

    var advertisingReport: (type: UInt8, addressType: UInt8, address: BDAddress, data: [UInt8], rssi: Int8)? {
        guard case let .event(0x3E, p) = self, p.count >= 12, p[0] == 0x02, p[1] == 1 else { return nil }
        let length = Int(p[10])
        guard p.count == 12 + length else { return nil }
        return (p[2], p[3], BDAddress(wireOrder: p[4..<10]), Array(p[11..<11 + length]), Int8(bitPattern: p[11 + length]))
    }

    var leConnectionComplete: (status: UInt8, handle: UInt16, peer: BDAddress, interval: UInt16)? {
        guard case let .event(0x3E, p) = self, p.count == 19, p[0] == 0x01 else { return nil }
        return (p[1], UInt16(p[2]) | UInt16(p[3]) << 8, BDAddress(wireOrder: p[6..<12]), UInt16(p[12]) | UInt16(p[13]) << 8)
    }
}
