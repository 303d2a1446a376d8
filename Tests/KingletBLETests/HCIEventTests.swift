import Testing
@testable import KingletBLE

// Event bytes made with Bumble 0.0.236's event classes (`bytes(HCI_..._Event(...))`).
@Suite struct HCIEventDecodingTests {
    private func event(_ bytes: [UInt8]) throws -> HCIEvent {
        var reader = HCIH4Reader()
        reader.append(bytes)
        guard case .event(let packet)? = reader.nextPacket() else { throw HCIEventError.truncated(code: 0) }
        return try HCIEvent(packet)
    }

    @Test func decodesCommandComplete() throws {
        let decoded = try event(hex("040e0401030c00"))
        #expect(decoded == .commandComplete(HCICommandComplete(commandCredits: 1, opcode: .reset, returnParameters: [0])))
    }

    @Test func decodesCommandStatus() throws {
        #expect(try event(hex("040f0400010d20")) == .commandStatus(status: .success, commandCredits: 1, opcode: .leCreateConnection))
    }

    @Test func decodesDisconnectionComplete() throws {
        #expect(try event(hex("04050400400013")) == .disconnectionComplete(status: .success, handle: 0x40, reason: HCIStatus(code: 0x13)))
    }

    @Test func decodesNumberOfCompletedPackets() throws {
        #expect(try event(hex("0413050140000200")) == .numberOfCompletedPackets([HCICompletedPackets(handle: 0x40, count: 2)]))
    }

    @Test func decodesAnAdvertisingReport() throws {
        let decoded = try event(hex("043e1a0201000022110038c1a40e0201060a16d2fc4002ca0903bf13c4"))
        let expected = HCIAdvertisingReport(eventType: 0, addressType: 0, address: BLEAddress("A4:C1:38:00:11:22")!,
                                            data: BLEInlineBytes(hex("0201060a16d2fc4002ca0903bf13"))!, rssi: -60)
        guard case .leAdvertisingReports(let reports) = decoded else {
            Issue.record("not a report")
            return
        }
        #expect(Array(reports) == [expected])
    }

    @Test func decodesLEConnectionComplete() throws {
        guard case .leConnectionComplete(let complete) = try event(hex("043e13010040000001563412eeffc028000000f40100")) else {
            Issue.record("not a connection complete")
            return
        }
        #expect(complete.status.isSuccess)
        #expect(complete.handle == 0x40)
        #expect(complete.peer == BLEAddress("C0:FF:EE:12:34:56"))
        #expect(complete.peerAddressType == 1)
        #expect(complete.interval == 0x28)
        #expect(complete.supervisionTimeout == 0x1F4)
    }

    @Test func rssiOf127MeansNotAvailable() throws {
        let decoded = try event(hex("043e0c0201030122110038c1a4007f"))
        guard case .leAdvertisingReports(let reports) = decoded else {
            Issue.record("not a report")
            return
        }
        #expect(Array(reports)[0].rssi == nil)
        #expect(Array(reports)[0].data.isEmpty)
    }

    @Test func truncatedAdvertisingReportIsATypedError() {
        // Data length 0x1F claims more bytes than the event holds.
        #expect(throws: HCIEventError.self) { try HCIEvent(HCIEventPacket(code: 0x3E, parameters: hex("02 01 00 00 221100 38C1A4 1F 0201"))) }
        #expect(throws: HCIEventError.self) { try HCIEvent(HCIEventPacket(code: 0x0E, parameters: hex("01"))) }
    }

    @Test func unknownEventsAreUnhandledNotErrors() throws {
        #expect(try HCIEvent(HCIEventPacket(code: 0x08, parameters: hex("00400001"))) == .unhandled(code: 0x08, subevent: nil))
        #expect(try HCIEvent(HCIEventPacket(code: 0x3E, parameters: hex("0300400600000000C800"))) == .unhandled(code: 0x3E, subevent: 0x03))
    }
}
