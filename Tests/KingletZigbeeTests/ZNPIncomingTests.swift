import Testing
@testable import KingletZigbee

@Suite struct ZNPIncomingTests {
    private func decode(_ hex: String) throws -> ZNPIncoming {
        var reader = ZNPFrameReader()
        reader.append(zigbeeHex(hex))
        var frame = ZNPFrame(cmd0: 0, cmd1: 0)
        let found = reader.nextFrame(into: &frame)
        #expect(found)
        return try ZNPIncoming.decode(frame)
    }

    @Test func pingResponseCarriesCapabilities() throws {
        let incoming = try decode(ZNPReferenceVectors.resume[1].responses[0])
        #expect(incoming == .ping(ZNPCapabilities(rawValue: 0x0D59)))
        guard case .ping(let capabilities) = incoming else { return }
        #expect(capabilities.contains(.appConfig))
    }

    @Test func versionWithAndWithoutCodeRevision() throws {
        #expect(try decode(ZNPReferenceVectors.resume[2].responses[0]) == .version(ZNPVersionInfo(
            transportRevision: 2, product: 1, major: 2, minor: 7, maintenance: 1, codeRevision: 20221226)))
        #expect(try decode(ZNPReferenceVectors.versionShort) == .version(ZNPVersionInfo(
            transportRevision: 2, product: 0, major: 2, minor: 6, maintenance: 3, codeRevision: nil)))
    }

    @Test func resetIndicationCarriesReasonAndVersion() throws {
        #expect(try decode(ZNPReferenceVectors.resetIndication) == .resetIndication(reason: 1, ZNPVersionInfo(
            transportRevision: 2, product: 1, major: 2, minor: 7, maintenance: 1, codeRevision: nil)))
    }

    @Test func deviceInfoGivesTheStickIEEEAndState() throws {
        #expect(try decode(ZNPReferenceVectors.resume[3].responses[0]) == .deviceInfo(ZNPDeviceInfo(
            status: .success, ieee: testStickIEEE, nwk: 0, deviceState: 0)))
    }

    @Test func nvReadReturnsTheValue() throws {
        guard case .nvRead(let status, let value) = try decode(ZNPReferenceVectors.resume[5].responses[0]) else {
            Issue.record("not an NV read")
            return
        }
        #expect(status == .success)
        #expect(Array(value) == [0x62, 0x1A])
    }

    @Test func statusOnlyResponsesNameTheirRequest() throws {
        #expect(try decode(ZNPReferenceVectors.dataRequestOk) == .status(request: .afDataRequest, .success))
        #expect(try decode(ZNPReferenceVectors.bindOk) == .status(request: .zdoBindRequest, .success))
        #expect(try decode(ZNPReferenceVectors.resume[10].responses[0]) == .status(request: .afRegister, .success))
    }

    @Test func deviceAnnounceCarriesNWKAndIEEE() throws {
        #expect(try decode(ZNPReferenceVectors.announce) == .deviceAnnounce(
            source: 0x1234, device: ZigbeeDeviceAddress(ieee: testDeviceIEEE, nwk: 0x1234), capabilities: 0x8C))
        #expect(testDeviceIEEE.description == "00:12:4B:00:01:02:03:04")
    }

    @Test func zdoCallbacksDecode() throws {
        #expect(try decode(ZNPReferenceVectors.trustCenterDevice) == .trustCenterDevice(
            device: ZigbeeDeviceAddress(ieee: testDeviceIEEE, nwk: 0x1234), parent: 0))
        #expect(try decode(ZNPReferenceVectors.leave) == .leave(
            device: ZigbeeDeviceAddress(ieee: testDeviceIEEE, nwk: 0x1234), isRequest: false, removeChildren: false,
            rejoin: false))
        #expect(try decode(ZNPReferenceVectors.bindResponse) == .bindResponse(source: 0x1234, .success))
        guard case .activeEndpoints(let source, let status, let nwk, let endpoints) =
                try decode(ZNPReferenceVectors.activeEndpointsResponse) else {
            Issue.record("not an active endpoints response")
            return
        }
        #expect(source == 0x1234 && status == .success && nwk == 0x1234 && Array(endpoints) == [1, 2])
    }

    @Test func afIncomingMessageIgnoresTheUndocumentedTrailer() throws {
        guard case .incomingMessage(let message) = try decode(ZNPReferenceVectors.incomingTemperature) else {
            Issue.record("not an incoming message")
            return
        }
        #expect(message.cluster == 0x0402)
        #expect(message.source == 0x1234)
        #expect(message.sourceEndpoint == 1)
        #expect(message.linkQuality == 120)
        #expect(message.timestamp == 123456)
        #expect(Array(message.payload) == [0x18, 0x2A, 0x0A, 0x00, 0x00, 0x29, 0xCA, 0x09])
    }

    @Test func dataConfirmAndRPCError() throws {
        #expect(try decode(ZNPReferenceVectors.dataConfirmNoAck) == .dataConfirm(.macNoAck, endpoint: 1, transactionID: 1))
        #expect(try decode(ZNPReferenceVectors.rpcErrorPing) == .rpcError(code: 2, request: .sysPing))
    }

    @Test func truncatedPayloadThrowsWithItsCommand() {
        let frame = ZNPFrame(.zdoEndDeviceAnnounceIndication, data: [0x34, 0x12, 0x34])
        #expect(throws: ZNPError.truncated(command: .zdoEndDeviceAnnounceIndication, length: 3)) {
            try ZNPIncoming.decode(frame)
        }
        // A length byte promising more than the frame holds.
        let message = ZNPFrame(.afIncomingMessage, data: Array(repeating: 0, count: 16) + [0x09, 0x18])
        #expect(throws: ZNPError.truncated(command: .afIncomingMessage, length: 18)) { try ZNPIncoming.decode(message) }
    }

    @Test func unknownCommandThrows() {
        let frame = ZNPFrame(cmd0: 0x45, cmd1: 0xC4, data: [1, 2])  // ZDO_SRC_RTG_IND
        #expect(throws: ZNPError.unknownCommand(ZNPCommandID(cmd0: 0x45, cmd1: 0xC4))) { try ZNPIncoming.decode(frame) }
    }
}
