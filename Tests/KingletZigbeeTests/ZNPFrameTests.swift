import Testing
@testable import KingletZigbee

@Suite struct ZNPFrameTests {
    @Test func sysPingIsTheSpecExampleFE00210120() throws {
        #expect(try ZNPRequest.ping.frame().encoded() == [0xFE, 0x00, 0x21, 0x01, 0x20])
        #expect(zigbeeHexString(try ZNPRequest.ping.frame().encoded()) == ZNPReferenceVectors.sysPing)
    }

    @Test func cmd0PacksTypeAndSubsystem() {
        let ping = ZNPCommandID.sysPing
        #expect(ping.cmd0 == 0x21)
        #expect(ping.type == .sreq)
        #expect(ping.subsystem == .sys)
        // The SRSP is the SREQ's CMD0 + 0x40.
        #expect(ping.response.cmd0 == 0x61)
        #expect(ping.response.cmd1 == 0x01)
        #expect(ZNPCommandID.afIncomingMessage.cmd0 == 0x44)
        #expect(ZNPCommandID.appConfigBDBSetChannel.cmd0 == 0x2F)
        #expect(ZNPCommandID.rpcError.cmd0 == 0x60)
        #expect(ZNPCommandID(cmd0: 0xE1, cmd1: 0).type == nil)  // type 7 is reserved
        #expect(ZNPCommandID(cmd0: 0x3F, cmd1: 0).subsystem == nil)
    }

    @Test func requestsMatchZigpyZNPByteForByte() throws {
        let cases: [(ZNPRequest, String)] = [
            (.permitJoin(mode: .broadcast, destination: 0xFFFC, seconds: 60, trustCenterSignificance: 0),
             ZNPReferenceVectors.permitJoin60),
            (.register(ZNPEndpointDescriptor(endpoint: 1, profileID: 0x0104, deviceID: 0x0005,
                                             inputClusters: [0x0000, 0x0006], outputClusters: [0x0402])),
             ZNPReferenceVectors.registerWithClusters),
            (.dataRequest(ZNPDataRequest(destination: 0x1234, destinationEndpoint: 1, sourceEndpoint: 1, cluster: 0x0006,
                                         transactionID: 1, options: 0x10, radius: 30, payload: [0x01, 0x01, 0x01])),
             ZNPReferenceVectors.dataRequestOn),
            (.bind(destination: 0x1234, source: testDeviceIEEE, sourceEndpoint: 1, cluster: 0x0402,
                   target: .device(testStickIEEE, endpoint: 1)),
             ZNPReferenceVectors.bindTemperature),
            (.bind(destination: 0x1234, source: testDeviceIEEE, sourceEndpoint: 1, cluster: 0x0006, target: .group(0x0BEE)),
             ZNPReferenceVectors.bindGroup),
            (.activeEndpoints(destination: 0x1234, nwkOfInterest: 0x1234), ZNPReferenceVectors.activeEndpointsRequest),
            (.nvItemInit(id: 0x0060, length: 1, initialValue: [0x55]), ZNPReferenceVectors.nvItemInitMarker),
            (.resetRequest(.soft), ZNPReferenceVectors.resume[0].request),
            (.getDeviceInfo, ZNPReferenceVectors.resume[3].request),
            (.nvRead(id: 0x0060, offset: 0), ZNPReferenceVectors.resume[4].request),
            (.startupFromApp(startDelay: 100), ZNPReferenceVectors.resume[9].request),
            (.bdbSetChannel(isPrimary: true, channels: ZigbeeChannelMask(channel: 15)!), ZNPReferenceVectors.formation[11]),
            (.bdbSetChannel(isPrimary: false, channels: .none), ZNPReferenceVectors.formation[12]),
            (.bdbStartCommissioning(mode: 0x04), ZNPReferenceVectors.formation[13]),
            (.nvWrite(id: 0x0062, offset: 0, value: testNetwork().networkKey), ZNPReferenceVectors.formation[10]),
        ]
        for (request, expected) in cases {
            #expect(zigbeeHexString(try request.frame().encoded()) == expected, "\(request.command.description)")
        }
    }

    @Test func dataLongerThan250BytesIsRefused() throws {
        let frame = ZNPFrame(.afDataRequest, data: Array(repeating: 0, count: 251))
        #expect(throws: ZNPError.dataTooLong(command: .afDataRequest, length: 251)) { try frame.encoded() }
        let largest = ZNPFrame(.afDataRequest, data: Array(repeating: 0xAA, count: 250))
        #expect(try largest.encoded().count == 255)
    }

    @Test func commandNamesComeFromTheMTSpec() {
        #expect(ZNPCommandID.sysResetIndication.description == "SYS_RESET_IND")
        #expect(ZNPCommandID.afDataRequest.response.description == "AF_DATA_REQUEST_SRSP")
        #expect(ZNPCommandID(cmd0: 0x45, cmd1: 0xC4).description == "MT 0x45 0xC4")
    }
}
