import KingletCore
import Testing
@testable import KingletBLE

// ACL bytes checked against Bumble 0.0.236: `bytes(HCI_AclDataPacket(...))` around
// `bytes(L2CAP_PDU(4, bytes(ATT_..._Request(...))))`, connection handle 0x0040.
@Suite struct GATTClientTests {
    private func client(packetLength: Int = 27, packets: Int = 4) -> (GATTClient, HCIACLCredits) {
        let credits = HCIACLCredits(packetLength: packetLength, totalPackets: packets)
        return (GATTClient(connectionHandle: 0x0040, credits: credits), credits)
    }

    private func deliver(_ bytes: String, to client: GATTClient, now: Instant = at(0)) {
        for packet in aclPackets(hex(bytes)) { client.receive(packet, now: now) }
    }

    @Test func mtuExchange() throws {
        let (gatt, _) = client()
        let id = try gatt.exchangeMTU(now: at(0))
        #expect(outgoing(gatt) == [hex("02400007000300040002f700")])
        deliver("02402007000300040003b900", to: gatt)
        #expect(drain(gatt) == [.mtuExchanged(id, mtu: 185)])
        #expect(gatt.mtu == 185)
    }

    @Test func readByHandle() throws {
        let (gatt, _) = client()
        let id = try gatt.read(handle: 0x0003, now: at(0))
        #expect(outgoing(gatt) == [hex("0240000700030004000a0300")])
        deliver("0240200c00080004000b4b696e676c6574", to: gatt)
        #expect(drain(gatt) == [.readCompleted(id, value: Array("Kinglet".utf8))])
    }

    @Test func writeRequestAndNotificationsOn() throws {
        let (gatt, _) = client()
        let id = try gatt.enableNotifications(cccdHandle: 0x000F, now: at(0))
        #expect(outgoing(gatt) == [hex("024000090005000400120f000100")])
        deliver("02402005000100040013", to: gatt)
        #expect(drain(gatt) == [.writeCompleted(id)])
        deliver("0240200900050004001b0e00ca09", to: gatt)
        #expect(drain(gatt) == [.notification(handle: 0x000E, value: [0xCA, 0x09])])
    }

    @Test func writeCommandIsSentAtOnce() throws {
        let (gatt, _) = client()
        _ = try gatt.read(handle: 0x0003, now: at(0))
        try gatt.writeWithoutResponse(handle: 0x0010, value: [0x2A])
        #expect(outgoing(gatt) == [hex("0240000700030004000a0300"), hex("0240000800040004005210002a")])
    }

    @Test func indicationIsConfirmed() {
        let (gatt, _) = client()
        deliver("0240200800040004001d0e0001", to: gatt)
        #expect(drain(gatt) == [.indication(handle: 0x000E, value: [0x01])])
        #expect(outgoing(gatt) == [hex("0240000500010004001e")])
    }

    @Test func readByTypeWith16And128BitUUIDs() throws {
        let (gatt, _) = client()
        let battery = try gatt.readByType(.uuid16(0x2A19), now: at(0))
        #expect(outgoing(gatt) == [hex("0240000b0007000400080100ffff192a")])
        deliver("024020090005000400090312005a", to: gatt)
        #expect(drain(gatt) == [.readByTypeCompleted(battery, values: [GATTHandleValue(handle: 0x0012, value: [0x5A])])])

        let nordicUART = try #require(BLEUUID("6E400003-B5A3-F393-E0A9-E50E24DCCA9E"))
        _ = try gatt.readByType(nordicUART, now: at(1))
        // 27-byte LE buffers: the 25-byte L2CAP PDU fits in one packet.
        #expect(outgoing(gatt) == [hex("024000190015000400080100ffff9ecadc240ee5a9e093f3a3b50300406e")])
    }

    @Test func findInformationListsHandlesWith16Or128BitTypes() throws {
        let (gatt, _) = client()
        let short = try gatt.findInformation(start: 0x000C, now: at(0))
        #expect(outgoing(gatt) == [hex("024000090005000400040c00ffff")])
        deliver("0240200e000a000400" + "05010c0002290d000328", to: gatt)
        #expect(drain(gatt) == [.findInformationCompleted(short, entries: [GATTHandleType(handle: 0x000C, type: .uuid16(0x2902)),
                                                                           GATTHandleType(handle: 0x000D, type: .uuid16(0x2803))])])

        // Format 0x02: a vendor's 128-bit type, and 0x2902 written out on the base UUID.
        let long = try gatt.findInformation(start: 0x000E, end: 0x0010, now: at(1))
        _ = outgoing(gatt)
        let vendor = try #require(BLEUUID("a1b2c3d4-0009-4b4c-8e1f-6b696e676c65"))
        let base = try #require(BLEUUID("00002902-0000-1000-8000-00805f9b34fb"))
        let att = [0x05, 0x02, 0x0E, 0x00] + vendor.attBytes + [0x0F, 0x00] + base.attBytes
        let l2cap = [UInt8(att.count), 0x00, 0x04, 0x00] + att
        for packet in aclPackets([0x02, 0x40, 0x20, UInt8(l2cap.count), 0x00] + l2cap) { gatt.receive(packet, now: at(1)) }
        #expect(drain(gatt) == [.findInformationCompleted(long, entries: [GATTHandleType(handle: 0x000E, type: vendor),
                                                                          GATTHandleType(handle: 0x000F, type: .uuid16(0x2902))])])
    }

    @Test func aFindInformationResponseWithAPartPairOrAnUnknownFormatIsMalformed() throws {
        let (gatt, _) = client()
        let cut = try gatt.findInformation(start: 0x000C, now: at(0))
        deliver("02402009000500040005010c0002", to: gatt)
        let unknown = try gatt.findInformation(start: 0x000C, now: at(0))
        deliver("0240200a00060004000503" + "0c000229", to: gatt)
        #expect(drain(gatt) == [.requestFailed(cut, .malformedResponse(opcode: 0x05)),
                                .requestFailed(unknown, .malformedResponse(opcode: 0x05))])
        #expect(gatt.counters.malformedPDUs == 2)
    }

    @Test func errorResponseBecomesATypedError() throws {
        let (gatt, _) = client()
        let id = try gatt.read(handle: 0x0003, now: at(0))
        _ = outgoing(gatt)
        deliver("024020090005000400010a030002", to: gatt)
        let expected = GATTError.attError(requestOpcode: 0x0A, handle: 0x0003, code: .readNotPermitted)
        #expect(drain(gatt) == [.requestFailed(id, expected)])
        #expect(expected.description.contains("read not permitted"))
    }

    @Test func onlyOneRequestIsOutstanding() throws {
        let (gatt, _) = client()
        let first = try gatt.read(handle: 0x0003, now: at(0))
        let second = try gatt.read(handle: 0x0005, now: at(0))
        #expect(outgoing(gatt) == [hex("0240000700030004000a0300")])
        deliver("024020060002000400 0b01", to: gatt, now: at(10))
        #expect(outgoing(gatt) == [hex("0240000700030004000a0500")])
        deliver("024020060002000400 0b02", to: gatt, now: at(20))
        #expect(drain(gatt) == [.readCompleted(first, value: [1]), .readCompleted(second, value: [2])])
    }

    @Test func requestTimesOutAfterThirtySecondsAndClosesTheBearer() throws {
        let (gatt, _) = client()
        let first = try gatt.read(handle: 0x0003, now: at(0))
        let queued = try gatt.read(handle: 0x0004, now: at(0))
        _ = outgoing(gatt)
        #expect(gatt.nextDeadline == at(30_000))
        gatt.tick(now: at(29_999))
        #expect(drain(gatt).isEmpty)
        gatt.tick(now: at(30_000))
        #expect(drain(gatt) == [.requestFailed(first, .timedOut), .bearerTimedOut, .requestFailed(queued, .bearerClosed)])
        #expect(throws: GATTError.bearerClosed) { try gatt.read(handle: 3, now: at(30_001)) }
        #expect(gatt.counters.timeouts == 1)
    }

    @Test func controllerBufferCreditsLimitWhatIsWritten() throws {
        let (gatt, credits) = client(packets: 1)
        try gatt.writeWithoutResponse(handle: 0x0010, value: [1])
        try gatt.writeWithoutResponse(handle: 0x0010, value: [2])
        #expect(gatt.takeOutgoing() == hex("0240000800040004005210000 1"))
        #expect(gatt.takeOutgoing() == nil)
        #expect(!gatt.hasOutgoing)
        credits.release(handle: 0x0040, count: 1) // Number of Completed Packets
        #expect(gatt.takeOutgoing() == hex("02400008000400040052100002"))
    }

    @Test func longPDUsAreFragmentedAndReassembled() throws {
        let (gatt, _) = client(packetLength: 27, packets: 8)
        deliver("02402007000300040003b900", to: gatt) // unsolicited MTU response: ignored
        #expect(gatt.counters.unexpectedResponses == 1)
        _ = try gatt.exchangeMTU(now: at(0))
        _ = outgoing(gatt)
        deliver("02402007000300040003b900", to: gatt)
        _ = drain(gatt)
        let value = [UInt8](repeating: 0x55, count: 40)
        _ = try gatt.write(handle: 0x0020, value: value, now: at(1))
        let packets = aclPackets(outgoing(gatt).flatMap { $0 })
        #expect(packets.map(\.boundary) == [.firstNonFlushable, .continuing])
        #expect(packets.map(\.data.count) == [27, 20])
        #expect(Array(packets[0].data.prefix(7)) == hex("2b00 0400 12 2000"))

        // A 40-byte notification arriving in two fragments.
        let pdu = L2CAPHeader(length: 43, channel: 4).bytes + [0x1B, 0x21, 0x00] + value
        gatt.receive(HCIACLPacket(handle: 0x40, boundary: .firstFlushable, data: Array(pdu[..<20])), now: at(2))
        #expect(drain(gatt).isEmpty)
        gatt.receive(HCIACLPacket(handle: 0x40, boundary: .continuing, data: Array(pdu[20...])), now: at(2))
        #expect(drain(gatt) == [.notification(handle: 0x0021, value: value)])
    }

    @Test func longReadContinuesWithReadBlob() throws {
        let (gatt, _) = client()
        let id = try gatt.read(handle: 0x0003, now: at(0))
        _ = outgoing(gatt)
        let first = [UInt8](repeating: 0xAB, count: 22) // ATT_MTU 23 - 1: maybe more to come
        gatt.receive(HCIACLPacket(handle: 0x40, boundary: .firstFlushable, data: L2CAPHeader(length: 23, channel: 4).bytes + [0x0B] + first), now: at(1))
        #expect(outgoing(gatt) == [hex("0240000900050004000c03001600")])
        gatt.receive(HCIACLPacket(handle: 0x40, boundary: .firstFlushable, data: L2CAPHeader(length: 3, channel: 4).bytes + [0x0D, 0x01, 0x02]), now: at(2))
        #expect(drain(gatt) == [.readCompleted(id, value: first + [1, 2])])
    }

    @Test func valueTooLongForTheMTUIsRefused() {
        let (gatt, _) = client()
        #expect(throws: GATTError.valueTooLong(maximum: 20)) { try gatt.write(handle: 1, value: [UInt8](repeating: 0, count: 21), now: at(0)) }
        #expect(throws: GATTError.invalidHandle) { try gatt.read(handle: 0, now: at(0)) }
    }

    @Test func serverRequestsGetErrorResponses() {
        let (gatt, _) = client()
        // A peer discovering our services (Read By Group Type 0x0001-0xFFFF, primary service).
        deliver("0240200b00070004001001 00ffff0028", to: gatt)
        #expect(outgoing(gatt) == [hex("02400009000500040001100100 0a")])
        // The peer's own MTU exchange is answered with ours.
        deliver("02402007000300040002 6400", to: gatt)
        #expect(outgoing(gatt) == [hex("02400007000300040003f700")])
        #expect(gatt.mtu == 100)
    }

    @Test func connectionParameterUpdateRequestIsRejected() {
        let (gatt, _) = client()
        // LE signaling (CID 5): Connection Parameter Update Request, identifier 7.
        deliver("024020100 00c0005001207080006000c000000f401", to: gatt)
        #expect(outgoing(gatt) == [hex("0240000a00060005001307020001 00")])
    }

    @Test func disconnectFailsEveryRequest() throws {
        let (gatt, credits) = client(packets: 2)
        let first = try gatt.read(handle: 3, now: at(0))
        let second = try gatt.read(handle: 4, now: at(0))
        _ = outgoing(gatt)
        #expect(credits.available == 1)
        gatt.connectionClosed()
        #expect(drain(gatt) == [.requestFailed(first, .disconnected), .requestFailed(second, .disconnected)])
        #expect(credits.available == 2)
        #expect(gatt.nextDeadline == nil)
    }

    @Test func packetsForOtherConnectionsAreIgnored() {
        let (gatt, _) = client()
        deliver("0241200900050004001b0e00ca09", to: gatt)
        #expect(drain(gatt).isEmpty)
    }
}
