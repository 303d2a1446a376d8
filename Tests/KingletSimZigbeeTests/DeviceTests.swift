import Testing
@testable import KingletSimZigbee

@Suite("Devices: AF, ZCL, ZDO, reports, joining")
struct DeviceTests {
    /// ZCL frame bytes: frame control, sequence, command, payload.
    func zcl(_ control: UInt8, _ sequence: UInt8, _ command: UInt8, _ payload: [UInt8] = []) -> [UInt8] {
        [control, sequence, command] + payload
    }

    @Test func registeringAnEndpointTwiceIsADuplicateEntry() {
        var stick = Harness()
        let register: [UInt8] = [2, 0x04, 0x01, 0x05, 0x00, 0x00, 0x00, 0x00, 0x00]
        #expect(stick.request(.af, 0x00, register)?.payload == [0x00])
        #expect(stick.request(.af, 0x00, register)?.payload == [0xB8])
    }

    @Test func dataRequestFromAnUnregisteredEndpointIsInvalidParameter() {
        var stick = Harness()
        _ = stick.request(.zdo, 0x40, [0x64, 0x00])
        stick.advance(milliseconds: 600)
        #expect(stick.zcl(to: 0x1A2B, cluster: 0x0006, zcl(0x00, 1, 0x00, [0x00, 0x00])) == 0x02)
    }

    @Test func readAttributesIsAnsweredWithTypedValuesAfterTheConfirm() {
        var stick = Harness()
        stick.startNetwork()
        #expect(stick.zcl(to: 0x1A2B, cluster: 0x0008, tsn: 9, zcl(0x00, 0x21, 0x00, [0x00, 0x00, 0x99, 0x00])) == 0x00)
        stick.advance(milliseconds: 20)
        #expect(stick.expect(0x44, 0x80)?.payload == [0x00, 1, 9])
        #expect(stick.incoming().isEmpty)
        stick.advance(milliseconds: 40)
        let messages = stick.incoming()
        #expect(messages.count == 1)
        let response = messages.first
        #expect(response?.cluster == 0x0008 && response?.source == 0x1A2B && response?.endpoint == 1)
        #expect(response?.frame.command == 0x01 && response?.frame.sequence == 0x21 && response?.frame.serverToClient == true)
        // currentLevel: uint8 128; 0x0099: UNSUPPORTED_ATTRIBUTE.
        #expect(response?.frame.payload == [0x00, 0x00, 0x00, 0x20, 128, 0x99, 0x00, 0x86])
    }

    @Test func writeAttributesRefusesReadOnlyAndWritesWritable() {
        var stick = Harness()
        stick.startNetwork()
        stick.zcl(to: 0x1A2B, cluster: 0x0008, zcl(0x00, 3, 0x02, [0x00, 0x00, 0x20, 10, 0x11, 0x00, 0x20, 100]))
        stick.advance(milliseconds: 100)
        #expect(stick.incoming().first?.frame.payload == [0x88, 0x00, 0x00])
        #expect(stick.simulator.simulatedDevices[0].value(endpoint: 1, cluster: 0x0008, attribute: 0x0011) == .integer(100))
        #expect(stick.simulator.simulatedDevices[0].value(endpoint: 1, cluster: 0x0008, attribute: 0x0000) == .integer(128))
    }

    @Test func toggleFlipsOnOffAnswersDefaultResponseAndReports() {
        var stick = Harness()
        stick.startNetwork()
        stick.zcl(to: 0x1A2B, cluster: 0x0006, zcl(0x01, 7, 0x02))
        stick.advance(milliseconds: 100)
        let messages = stick.incoming()
        let onOff = messages.filter { $0.cluster == 0x0006 }
        #expect(onOff.count == 2)
        #expect(onOff.first?.frame.command == 0x0B && onOff.first?.frame.payload == [0x02, 0x00])
        #expect(onOff.last?.frame.command == 0x0A && onOff.last?.frame.payload == [0x00, 0x00, 0x10, 0x00])
        // The power reading follows at once: active power (int16) 0.
        #expect(messages.contains { $0.cluster == 0x0B04 && $0.frame.payload == [0x0B, 0x05, 0x29, 0x00, 0x00] })
        #expect(stick.simulator.simulatedDevices[0].value(endpoint: 1, cluster: 0x0006, attribute: 0x0000) == .integer(0))
        // The plug draws nothing while off.
        #expect(stick.simulator.simulatedDevices[0].value(endpoint: 1, cluster: 0x0B04, attribute: 0x050B) == .integer(0))
    }

    @Test func disabledDefaultResponseSuppressesOnlyTheSuccessResponse() {
        var stick = Harness()
        stick.startNetwork()
        stick.zcl(to: 0x1A2B, cluster: 0x0006, zcl(0x11, 8, 0x01))
        stick.zcl(to: 0x1A2B, cluster: 0x0006, zcl(0x11, 9, 0x42, [0, 0, 0, 0, 0]))
        stick.advance(milliseconds: 100)
        let responses = stick.incoming().filter { $0.frame.command == 0x0B }
        #expect(responses.map(\.frame.sequence) == [9])
        #expect(responses.first?.frame.payload == [0x42, 0x81])
    }

    @Test func moveToLevelWithOnOffSetsTheLevelAndTheSwitch() {
        var stick = Harness()
        stick.startNetwork()
        stick.zcl(to: 0x1A2B, cluster: 0x0008, zcl(0x01, 4, 0x04, [1, 0x00, 0x00]))
        stick.advance(milliseconds: 100)
        let device = stick.simulator.simulatedDevices[0]
        #expect(device.value(endpoint: 1, cluster: 0x0008, attribute: 0x0000) == .integer(1))
        #expect(device.value(endpoint: 1, cluster: 0x0006, attribute: 0x0000) == .integer(0))
        stick.zcl(to: 0x1A2B, cluster: 0x0008, zcl(0x01, 5, 0x00, [0xFF, 0x00, 0x00]))
        stick.advance(milliseconds: 100)
        #expect(stick.simulator.simulatedDevices[0].value(endpoint: 1, cluster: 0x0008, attribute: 0x0000) == .integer(0xFE))
    }

    @Test func theBroadcastEndpointReachesEveryEndpointWithTheClusterWithoutDefaultResponses() {
        var stick = Harness()
        stick.startNetwork()
        let payload = le16(0x1A2B) + [0xFF, 1] + le16(0x0006) + [1, 0x00, 30, 3] + zcl(0x01, 1, 0x00)
        #expect(stick.request(.af, 0x01, payload)?.payload == [0x00])
        stick.advance(milliseconds: 100)
        #expect(stick.simulator.simulatedDevices[0].value(endpoint: 1, cluster: 0x0006, attribute: 0x0000) == .integer(0))
        #expect(!stick.incoming().contains { $0.frame.command == 0x0B })
    }

    @Test func aClusterTheEndpointLacksGetsUnsupportedCluster() {
        var stick = Harness()
        stick.startNetwork()
        stick.zcl(to: 0x2B3C, cluster: 0x0006, zcl(0x10, 6, 0x00, [0x00, 0x00]))
        stick.advance(milliseconds: 100)
        #expect(stick.incoming().first?.frame.payload == [0x00, 0xC3])
    }

    @Test func configureReportingSetsTheAttributesReportInterval() {
        var stick = Harness()
        stick.startNetwork()
        // Temperature measured value, int16, min 1 s, max 1 s, reportable change 10 (int16).
        stick.zcl(to: 0x2B3C, cluster: 0x0402, zcl(0x00, 2, 0x06, [0x00, 0x00, 0x00, 0x29, 1, 0, 1, 0, 10, 0]))
        stick.advance(milliseconds: 100)
        #expect(stick.incoming().first?.frame.payload == [0x00])
        stick.advance(milliseconds: 1_950)
        let reports = stick.incoming().filter { $0.frame.command == 0x0A && $0.cluster == 0x0402 }
        #expect(reports.count == 2)
    }

    @Test func configureReportingRejectsAWrongTypeAndAMissingAttribute() {
        var stick = Harness()
        stick.startNetwork()
        stick.zcl(to: 0x2B3C, cluster: 0x0402, zcl(0x00, 2, 0x06, [0x00, 0x00, 0x00, 0x21, 1, 0, 1, 0, 10, 0,
                                                                  0x00, 0x05, 0x00, 0x10, 1, 0, 1, 0]))
        stick.advance(milliseconds: 100)
        #expect(stick.incoming().first?.frame.payload == [0x8D, 0x00, 0x00, 0x00, 0x86, 0x00, 0x05, 0x00])
    }

    @Test func devicesReportAtTheirIntervalWithDriftWithinBounds() {
        var stick = Harness()
        stick.startNetwork()
        stick.advance(milliseconds: 10_200, step: 100)
        let temperatures = stick.incoming().filter { $0.cluster == 0x0402 && $0.frame.command == 0x0A }
        #expect(temperatures.count == 5)
        for report in temperatures {
            var reader = ByteReader(report.frame.payload)
            #expect(reader.u16() == 0x0000)
            #expect(reader.u8() == ZCLDataType.int16.rawValue)
            let value = Int16(bitPattern: reader.u16() ?? 0)
            #expect((2150 - 300)...(2150 + 300) ~= Int(value))
            #expect(report.endpoint == 1)
        }
    }

    @Test func reportsWaitForARegisteredEndpoint() {
        var stick = Harness()
        _ = stick.request(.zdo, 0x40, [0x64, 0x00])
        stick.advance(milliseconds: 6_000, step: 100)
        #expect(stick.incoming().isEmpty)
        #expect(stick.simulator.counters.reportsSent == 0)
    }

    @Test func dataRequestsToAbsentDevicesConfirmWithTheNetworksError() {
        var stick = Harness()
        stick.startNetwork()
        #expect(stick.zcl(to: 0x7777, cluster: 0x0006, tsn: 1, zcl(0x00, 1, 0x00, [0, 0])) == 0x00)
        #expect(stick.zcl(to: 0x3C4D, cluster: 0x0006, tsn: 2, zcl(0x00, 2, 0x00, [0, 0])) == 0x00)
        stick.advance(milliseconds: 500)
        let confirms = stick.all(0x44, 0x80).map(\.payload)
        #expect(confirms == [[0xCD, 1, 1], [0xE9, 1, 2]])
        #expect(stick.incoming().isEmpty)
    }

    @Test func permitJoinLetsMarkedDevicesJoinAndAnnounce() {
        var stick = Harness()
        stick.startNetwork()
        #expect(stick.request(.zdo, 0x36, [0x0F, 0xFC, 0xFF, 60, 0x01])?.payload == [0x00])
        stick.advance(milliseconds: 100)
        #expect(stick.expect(0x45, 0xB6)?.payload == [0x00, 0x00, 0x00])
        #expect(stick.expect(0x45, 0xC1) == nil)
        stick.advance(milliseconds: 500)
        #expect(stick.expect(0x45, 0xCA)?.payload == le16(0x3C4D) + TestDevices.joinerIEEE.littleEndianBytes + [0x00, 0x00])
        let announce = stick.expect(0x45, 0xC1)?.payload
        #expect(announce == le16(0x3C4D) + le16(0x3C4D) + TestDevices.joinerIEEE.littleEndianBytes + [0x8E])
        #expect(stick.simulator.isJoined(TestDevices.joinerIEEE))
    }

    @Test func devicesDoNotJoinOnceJoiningIsClosed() {
        var stick = Harness()
        stick.startNetwork()
        _ = stick.request(.zdo, 0x36, [0x02, 0x00, 0x00, 60, 0x01])
        _ = stick.request(.zdo, 0x36, [0x02, 0x00, 0x00, 0, 0x01])
        stick.advance(milliseconds: 1_000)
        #expect(stick.expect(0x45, 0xC1) == nil)
        #expect(!stick.simulator.isJoined(TestDevices.joinerIEEE))
        #expect(!stick.simulator.isPermittingJoin)
    }

    @Test func bindIsAnsweredByTheSourceDevice() {
        var stick = Harness()
        stick.startNetwork()
        let coordinator = ZNPConfiguration().coordinatorIEEE.littleEndianBytes
        let bind = le16(0x2B3C) + TestDevices.sensorIEEE.littleEndianBytes + [1] + le16(0x0402) + [0x03] + coordinator + [1]
        #expect(stick.request(.zdo, 0x21, bind)?.payload == [0x00])
        stick.advance(milliseconds: 100)
        #expect(stick.expect(0x45, 0xA1)?.payload == [0x3C, 0x2B, 0x00])
        let wrongSource = le16(0x2B3C) + TestDevices.plugIEEE.littleEndianBytes + [1] + le16(0x0402) + [0x03] + coordinator + [1]
        _ = stick.request(.zdo, 0x21, wrongSource)
        stick.advance(milliseconds: 100)
        #expect(stick.expect(0x45, 0xA1)?.payload == [0x3C, 0x2B, 0x84])
        #expect(stick.request(.zdo, 0x22, bind)?.payload == [0x00])
        stick.advance(milliseconds: 100)
        #expect(stick.expect(0x45, 0xA2)?.payload == [0x3C, 0x2B, 0x00])
    }

    @Test func activeEndpointsAndSimpleDescriptorDescribeTheDevice() {
        var stick = Harness()
        stick.startNetwork()
        _ = stick.request(.zdo, 0x05, le16(0x1A2B) + le16(0x1A2B))
        _ = stick.request(.zdo, 0x04, le16(0x1A2B) + le16(0x1A2B) + [1])
        stick.advance(milliseconds: 100)
        #expect(stick.expect(0x45, 0x85)?.payload == [0x2B, 0x1A, 0x00, 0x2B, 0x1A, 1, 1])
        let simple = stick.expect(0x45, 0x84)?.payload ?? []
        let descriptor: [UInt8] = [1, 0x04, 0x01, 0x51, 0x00, 1, 3, 0x06, 0x00, 0x08, 0x00, 0x04, 0x0B, 0]
        #expect(simple == [0x2B, 0x1A, 0x00, 0x2B, 0x1A, UInt8(descriptor.count)] + descriptor)
    }
}
