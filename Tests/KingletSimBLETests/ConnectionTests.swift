import Testing
@testable import KingletSimBLE

@Suite struct ConnectionTests {
    @Test func createConnectionAnswersCommandStatusThenConnectionCompleteAtThePeersNextAdvertisement() throws {
        var h = try Harness(Harness.relay)
        _ = h.command(.setEventMask, [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x3F])
        let status = h.command(.leCreateConnection, createConnectionParameters(peer: "24:0A:C4:00:00:06"))
        #expect(status == [.event(code: 0x0F, parameters: [0x00, 0x01, 0x0D, 0x20])])
        let events = h.advance(milliseconds: 70)
        let c = try #require(events.compactMap(\.leConnectionComplete).first)
        #expect(c.status == 0 && c.handle == 0x0040 && c.peer == BDAddress("24:0A:C4:00:00:06") && c.interval == 0x0018)
    }

    @Test func aPublicPeerIsNotReachedThroughARandomPeerAddressType() throws {
        var h = try Harness(Harness.relay)
        _ = h.command(.setEventMask, [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x3F])
        _ = h.command(.leCreateConnection, createConnectionParameters(peer: "24:0A:C4:00:00:06", peerType: 1))
        #expect(h.advance(milliseconds: 500).compactMap(\.leConnectionComplete).isEmpty)
    }

    @Test func secondCreateConnectionWhilePendingIsCommandDisallowed() throws {
        var h = try Harness(Harness.relay)
        _ = h.command(.leCreateConnection, createConnectionParameters(peer: "00:00:00:00:00:99"))
        #expect(h.command(.leCreateConnection, createConnectionParameters(peer: "00:00:00:00:00:99")).first?.commandStatus == 0x0C)
    }

    @Test func createConnectionCancelCompletesThenReportsUnknownConnectionIdentifier() throws {
        var h = try Harness(Harness.relay)
        _ = h.command(.setEventMask, [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x3F])
        #expect(h.command(.leCreateConnectionCancel).first?.completeStatus == 0x0C)
        _ = h.command(.leCreateConnection, createConnectionParameters(peer: "00:00:00:00:00:99"))
        let out = h.command(.leCreateConnectionCancel)
        #expect(out.count == 2 && out[0].completeStatus == 0 && out[1].leConnectionComplete?.status == 0x02)
    }

    @Test func supervisionTimeoutShorterThanTwiceTheEffectiveIntervalIsInvalidParameters() throws {
        var h = try Harness(Harness.relay)
        // 100 ms timeout vs 2 × 50 ms maximum interval: not strictly greater.
        let p = createConnectionParameters(peer: "24:0A:C4:00:00:06", timeout: 0x000A)
        #expect(h.command(.leCreateConnection, p).first?.commandStatus == 0x12)
    }

    @Test func disconnectAnswersCommandStatusThenDisconnectionCompleteWithReasonLocalHost() throws {
        var h = try Harness(Harness.relay)
        let handleValue = h.connectRelay()
        let handle = try #require(handleValue)
        let status = h.command(.disconnect, [UInt8(handle & 0xFF), UInt8(handle >> 8), 0x13])
        #expect(status.first?.commandStatus == 0)
        let events = h.advance(milliseconds: 200)
        #expect(events.contains(.event(code: 0x05, parameters: [0x00, UInt8(handle & 0xFF), UInt8(handle >> 8), 0x16])))
        #expect(h.command(.disconnect, [UInt8(handle & 0xFF), UInt8(handle >> 8), 0x13]).first?.commandStatus == 0x02)
    }

    @Test func disconnectWithAReasonTheSpecDoesNotListIsInvalidParameters() throws {
        var h = try Harness(Harness.relay)
        let handleValue = h.connectRelay()
        let handle = try #require(handleValue)
        #expect(h.command(.disconnect, [UInt8(handle & 0xFF), UInt8(handle >> 8), 0x16]).first?.commandStatus == 0x12)
    }

    @Test func aConnectedPeripheralStopsAdvertisingAndResumesAfterDisconnection() throws {
        var h = try Harness(Harness.relay)
        let handleValue = h.connectRelay()
        let handle = try #require(handleValue)
        _ = h.command(.leSetScanEnable, [1, 0])
        #expect(h.advance(milliseconds: 500).compactMap(\.advertisingReport).isEmpty)
        _ = h.command(.disconnect, [UInt8(handle & 0xFF), UInt8(handle >> 8), 0x13])
        #expect(!h.advance(milliseconds: 500).compactMap(\.advertisingReport).isEmpty)
    }

    @Test func hostACLDataIsAcknowledgedByNumberOfCompletedPacketsAtTheConnectionEvent() throws {
        var h = try Harness(Harness.relay)
        let handleValue = h.connectRelay()
        let handle = try #require(handleValue)
        let immediate = h.send(.acl(handle: handle, flags: 0, data: [0x03, 0x00, 0x04, 0x00, 0x02, 0xF7, 0x00]))
        #expect(immediate.isEmpty)
        let later = h.advance(milliseconds: 40)
        #expect(later.first == .event(code: 0x13, parameters: [0x01, UInt8(handle & 0xFF), UInt8(handle >> 8), 0x01, 0x00]))
        #expect(l2capPayloads(later, handle: handle) == [[0x03, 0xF7, 0x00]])
    }

    @Test func moreACLPacketsThanTheBufferCountOverflowTheBuffer() throws {
        var h = try Harness(Harness.relay)
        let handleValue = h.connectRelay()
        let handle = try #require(handleValue)
        var out: [H4Packet] = []
        for _ in 0..<9 { out += h.send(.acl(handle: handle, flags: 0, data: [0x01, 0x00, 0x04, 0x00, 0x52])) }
        #expect(out == [.event(code: 0x1A, parameters: [0x01])])
    }

    @Test func aFragmentedRequestIsReassembledAndALongResponseComesBackIn27OctetFragments() throws {
        var h = try Harness(Harness.relay)
        let handleValue = h.connectRelay()
        let handle = try #require(handleValue)
        _ = h.att(handle, [0x02, 0xF7, 0x00])
        // Read By Group Type over two fragments: start (PB 00) and continuation (PB 01).
        let request: [UInt8] = [0x07, 0x00, 0x04, 0x00, 0x10, 0x01, 0x00, 0xFF, 0xFF, 0x00, 0x28]
        _ = h.send(.acl(handle: handle, flags: 0b00, data: Array(request[0..<6])))
        _ = h.send(.acl(handle: handle, flags: 0b01, data: Array(request[6...])))
        let packets = h.advance(milliseconds: 100)
        let fragments = packets.compactMap { p -> [UInt8]? in if case let .acl(_, _, d) = p { return d } else { return nil } }
        #expect(fragments.allSatisfy { $0.count <= 27 })
        let rsp = try #require(l2capPayloads(packets, handle: handle).first)
        // GAP service 1–5 (16-bit) only: the 128-bit service has another length, in the next response.
        #expect(rsp == [0x11, 0x06, 0x01, 0x00, 0x05, 0x00, 0x00, 0x18])
        let nextValue = h.att(handle, [0x10, 0x06, 0x00, 0xFF, 0xFF, 0x00, 0x28])
        let next = try #require(nextValue)
        #expect(next.count == 2 + 20 && next[1] == 20 && next[2] == 0x06)
        #expect(h.att(handle, [0x10, 0x0F, 0x00, 0xFF, 0xFF, 0x00, 0x28]) == [0x01, 0x10, 0x0F, 0x00, 0x0A])
    }

    @Test func pairingRequestsAreRefusedWithPairingNotSupported() throws {
        var h = try Harness(Harness.relay)
        let handleValue = h.connectRelay()
        let handle = try #require(handleValue)
        _ = h.send(.acl(handle: handle, flags: 0, data: [0x07, 0x00, 0x06, 0x00, 0x01, 0x03, 0x00, 0x01, 0x10, 0x07, 0x07]))
        let packets = h.advance(milliseconds: 100)
        #expect(packets.contains(.acl(handle: handle, flags: 0b10, data: [0x02, 0x00, 0x06, 0x00, 0x05, 0x05])))
    }

    @Test func unknownSignalingCommandsAreRejectedAsNotUnderstood() throws {
        var h = try Harness(Harness.relay)
        let handleValue = h.connectRelay()
        let handle = try #require(handleValue)
        _ = h.send(.acl(handle: handle, flags: 0, data: [0x0C, 0x00, 0x05, 0x00, 0x12, 0x07, 0x08, 0x00, 6, 0, 12, 0, 0, 0, 0xF4, 1]))
        let packets = h.advance(milliseconds: 100)
        #expect(packets.contains(.acl(handle: handle, flags: 0b10, data: [0x06, 0x00, 0x05, 0x00, 0x01, 0x07, 0x02, 0x00, 0x00, 0x00])))
    }
}
