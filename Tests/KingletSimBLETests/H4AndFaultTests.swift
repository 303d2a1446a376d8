import Testing
@testable import KingletSimBLE

@Suite struct H4Tests {
    @Test func deframerSplitsPacketsWhateverTheChunking() {
        let stream = H4Packet.event(code: 0x0E, parameters: [1, 3, 0x0C, 0]).encoded
            + H4Packet.acl(handle: 0x40, flags: 0b10, data: [1, 2, 3]).encoded
            + H4Packet.event(code: 0x13, parameters: [1, 0x40, 0, 1, 0]).encoded
        for chunk in 1...stream.count {
            var d = H4Deframer.hostSide()
            var out: [H4Input] = []
            var i = 0
            while i < stream.count {
                out += d.push(stream[i..<min(i + chunk, stream.count)])
                i += chunk
            }
            #expect(out.count == 3)
            #expect(d.pending == 0)
        }
    }

    @Test func aclHandleAndFlagsSurviveEncoding() {
        var d = H4Deframer.hostSide()
        let p = H4Packet.acl(handle: 0x0ABC, flags: 0b01, data: [9])
        #expect(d.push(p.encoded) == [.packet(p)])
    }

    @Test func lostSynchronisationSendsHardwareErrorAndResynchronisesOnHCIReset() throws {
        var h = try Harness()
        let out = h.parse(h.controller.received([0x07, 0x01, 0x02]))
        #expect(out == [.event(code: 0x10, parameters: [0x01])])
        #expect(h.controller.awaitingReset)
        // A command is not recognised until an HCI_Reset appears in the stream.
        #expect(h.parse(h.controller.received(H4Packet.command(opcode: 0x1001, parameters: []).encoded)).isEmpty)
        let bytes = h.controller.received([0x55, 0x01, 0x03, 0x0C, 0x00])
        #expect(h.parse(bytes) == [.event(code: 0x0E, parameters: [0x01, 0x03, 0x0C, 0x00])])
        #expect(!h.controller.awaitingReset)
    }

    @Test func anACLLengthAboveTheBufferIsALossOfSynchronisation() throws {
        var h = try Harness()
        let bytes = h.controller.received([0x02, 0x40, 0x00, 0xFF, 0x00])
        #expect(h.parse(bytes) == [.event(code: 0x10, parameters: [0x01])])
    }

    @Test func eventIndicatorFromTheHostIsALossOfSynchronisation() throws {
        var h = try Harness()
        let bytes = h.controller.received([0x04, 0x0E, 0x00])
        #expect(h.parse(bytes).first == .event(code: 0x10, parameters: [0x01]))
    }
}

@Suite struct FaultTests {
    @Test func garbageEveryNInsertsOctetsAfterEveryNthPacket() throws {
        var h = try Harness(faults: FaultPlan(garbageEvery: 2))
        var raw: [UInt8] = []
        for _ in 0..<4 { raw += h.controller.received(H4Packet.command(opcode: 0x0C03, parameters: []).encoded) }
        let clean = H4Packet.event(code: 0x0E, parameters: [1, 3, 0x0C, 0]).encoded
        #expect(raw.count > 4 * clean.count)
        #expect(Array(raw[0..<clean.count]) == clean)
        #expect(Array(raw[clean.count..<2 * clean.count]) == clean)
        #expect(h.controller.faultCounters.garbageInsertions == 2)
        #expect(raw.count == 4 * clean.count + h.controller.faultCounters.garbageOctets)
    }

    @Test func truncateEveryNCutsEveryNthEvent() throws {
        var h = try Harness(faults: FaultPlan(truncateEvery: 3))
        var raw: [UInt8] = []
        for _ in 0..<3 { raw += h.controller.received(H4Packet.command(opcode: 0x0C03, parameters: []).encoded) }
        #expect(raw.count == 7 + 7 + 3)
        #expect(h.controller.faultCounters.eventsTruncated == 1)
    }

    @Test func silenceAfterNStopsAllOutput() throws {
        var h = try Harness(faults: FaultPlan(silenceAfter: 2))
        var raw: [[UInt8]] = []
        for _ in 0..<4 { raw.append(h.controller.received(H4Packet.command(opcode: 0x0C03, parameters: []).encoded)) }
        #expect(raw.map(\.count) == [7, 7, 0, 0])
        #expect(h.controller.faultCounters.packetsSilenced == 2)
    }
}
