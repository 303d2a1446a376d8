import KingletCore
import Testing
@testable import KingletZigbee

@Suite struct ZNPCoordinatorRuntimeTests {
    @Test func temperatureReportInAFIncomingMsgDecodesTo25_06Celsius() {
        let (coordinator, _, clock) = readyCoordinator()
        coordinator.received(zigbeeHex(ZNPReferenceVectors.incomingTemperature), now: clock.now)
        let events = zigbeeEvents(coordinator)
        #expect(events.count == 1)
        guard case .attribute(let report) = events.first else {
            Issue.record("no attribute event")
            return
        }
        #expect(report.ieee == testDeviceIEEE)
        #expect(report.nwk == 0x1234 && report.endpoint == 1 && report.cluster == 0x0402 && report.attribute == 0)
        #expect(report.value == .int16(2506))
        #expect(report.reading?.quantity == .temperature)
        #expect(report.reading?.value == 25.06)
        #expect(report.reading?.quantity.unit == "°C")
        #expect(report.linkQuality == 120)
    }

    @Test func onCommandWritesTheZigpyFrameAndCompletesOnTheConfirm() throws {
        let (coordinator, _, clock) = readyCoordinator()
        let id = try coordinator.setOnOff(.on, device: testDeviceIEEE, endpoint: 1)
        #expect(zigbeeFrames(coordinator.takeOutgoing()) == [ZNPReferenceVectors.dataRequestOn])
        coordinator.received(zigbeeHex(ZNPReferenceVectors.dataRequestOk), now: clock.now)
        #expect(zigbeeEvents(coordinator).isEmpty)  // accepted by the stick, not yet delivered
        #expect(coordinator.nextDeadline == clock.now.advanced(by: .seconds(20)))
        coordinator.received(zigbeeHex(ZNPReferenceVectors.dataConfirm), now: clock.now)
        #expect(zigbeeEvents(coordinator) == [.requestCompleted(id)])
        #expect(coordinator.nextDeadline == nil)
    }

    @Test func failedDeliveryIsReportedWithItsStatus() throws {
        let (coordinator, stick, clock) = readyCoordinator()
        stick.confirmStatus = 0xE9
        let id = try coordinator.setOnOff(.toggle, device: testDeviceIEEE, endpoint: 1)
        zigbeeExchange(coordinator, stick, at: clock.now)
        #expect(zigbeeEvents(coordinator) == [.requestFailed(id, .deliveryFailed(.macNoAck))])
    }

    @Test func confirmThatOvertakesItsSRSPStillCompletes() throws {
        let (coordinator, _, clock) = readyCoordinator()
        let id = try coordinator.setOnOff(.on, device: testDeviceIEEE, endpoint: 1)
        _ = coordinator.takeOutgoing()
        coordinator.received(zigbeeHex(ZNPReferenceVectors.dataConfirm + " " + ZNPReferenceVectors.dataRequestOk), now: clock.now)
        #expect(zigbeeEvents(coordinator) == [.requestCompleted(id)])
        #expect(coordinator.counters.unexpectedResponses == 0)
    }

    @Test func missingConfirmTimesOutByTheManualClock() throws {
        let (coordinator, stick, start) = readyCoordinator()
        var clock = start
        stick.sendsConfirms = false
        let id = try coordinator.moveToLevel(128, transitionTime: 10, device: testDeviceIEEE, endpoint: 1)
        zigbeeExchange(coordinator, stick, at: clock.now)
        clock.advance(.seconds(19))
        coordinator.tick(now: clock.now)
        #expect(zigbeeEvents(coordinator).isEmpty)
        clock.advance(.seconds(1))
        coordinator.tick(now: clock.now)
        #expect(zigbeeEvents(coordinator) == [.requestFailed(id, .confirmationTimedOut)])
    }

    @Test func deviceAnnounceUpdatesTheTableAndDiscoversEndpoints() {
        let clock = ZigbeeManualClock()
        let stick = FakeZStack()
        stick.activeEndpoints = [1, 2]
        let coordinator = ZNPCoordinator(network: testNetwork())
        coordinator.start(now: clock.now)
        zigbeeExchange(coordinator, stick, at: clock.now)
        _ = zigbeeEvents(coordinator)
        stick.requests.removeAll()

        coordinator.received(zigbeeHex(ZNPReferenceVectors.announce), now: clock.now)
        let device = ZigbeeDeviceAddress(ieee: testDeviceIEEE, nwk: 0x1234)
        #expect(coordinator.devices.device(ieee: testDeviceIEEE)?.nwk == 0x1234)
        #expect(zigbeeFrames(coordinator.outgoingBytes) == [ZNPReferenceVectors.activeEndpointsRequest])
        zigbeeExchange(coordinator, stick, at: clock.now)
        #expect(zigbeeEvents(coordinator) == [.deviceJoined(device), .endpointsDiscovered(device)])
        #expect(coordinator.devices.device(nwk: 0x1234)?.endpoints == [1, 2])

        // A rejoin with a new address updates the table and asks nothing again.
        let rejoin = ZNPFrame(.zdoEndDeviceAnnounceIndication, data: [0x78, 0x56, 0x78, 0x56, 0x04, 0x03, 0x02, 0x01, 0x00, 0x4B, 0x12, 0x00, 0x8C])
        coordinator.received(try! rejoin.encoded(), now: clock.now)
        #expect(coordinator.devices.device(ieee: testDeviceIEEE)?.nwk == 0x5678)
        #expect(coordinator.devices.device(nwk: 0x1234) == nil)
        #expect(!coordinator.hasOutgoing)
        #expect(zigbeeEvents(coordinator) == [.deviceJoined(ZigbeeDeviceAddress(ieee: testDeviceIEEE, nwk: 0x5678))])
    }

    @Test func leaveRemovesTheDevice() {
        let (coordinator, _, clock) = readyCoordinator()
        coordinator.received(zigbeeHex(ZNPReferenceVectors.leave), now: clock.now)
        #expect(coordinator.devices.device(ieee: testDeviceIEEE) == nil)
        #expect(zigbeeEvents(coordinator) == [.deviceLeft(ZigbeeDeviceAddress(ieee: testDeviceIEEE, nwk: 0x1234), rejoining: false)])
    }

    @Test func bindTargetsTheCoordinatorEndpointAndCompletesOnTheZDOResponse() throws {
        let (coordinator, _, clock) = readyCoordinator()
        let id = try coordinator.bind(testDeviceIEEE, endpoint: 1, cluster: 0x0402)
        #expect(zigbeeFrames(coordinator.takeOutgoing()) == [ZNPReferenceVectors.bindTemperature])
        coordinator.received(zigbeeHex(ZNPReferenceVectors.bindOk), now: clock.now)
        #expect(zigbeeEvents(coordinator).isEmpty)
        coordinator.received(zigbeeHex(ZNPReferenceVectors.bindResponse), now: clock.now)
        #expect(zigbeeEvents(coordinator) == [.requestCompleted(id)])
    }

    @Test func permitJoinBroadcastsAndCompletesOnItsSRSP() throws {
        let (coordinator, _, clock) = readyCoordinator()
        let id = try coordinator.permitJoin(seconds: 60)
        #expect(zigbeeFrames(coordinator.takeOutgoing()) == [ZNPReferenceVectors.permitJoin60])
        coordinator.received(zigbeeHex(ZNPReferenceVectors.permitJoinOk), now: clock.now)
        #expect(zigbeeEvents(coordinator) == [.requestCompleted(id)])
    }

    @Test func onlyOneSREQIsOnTheLineAtATime() throws {
        let (coordinator, _, clock) = readyCoordinator()
        _ = try coordinator.readAttributes([0x0000], of: testDeviceIEEE, endpoint: 1, cluster: 0x0006)
        _ = try coordinator.permitJoin(seconds: 0)
        #expect(zigbeeFrames(coordinator.takeOutgoing()).count == 1)
        coordinator.received(zigbeeHex(ZNPReferenceVectors.dataRequestOk), now: clock.now)
        #expect(zigbeeFrames(coordinator.takeOutgoing()).count == 1)  // now the permit join
    }

    @Test func queueIsBoundedAndRequestsNeedAReadyKnownDevice() throws {
        var settings = ZNPCoordinatorSettings()
        settings.queueCapacity = 2
        let (coordinator, stick, _) = readyCoordinator(settings: settings)
        stick.answersRequests = false
        _ = try coordinator.permitJoin(seconds: 10)  // in flight
        _ = try coordinator.permitJoin(seconds: 10)
        _ = try coordinator.permitJoin(seconds: 10)
        #expect(throws: ZigbeeRequestError.queueFull) { try coordinator.permitJoin(seconds: 10) }
        #expect(throws: ZigbeeRequestError.unknownDevice(testStickIEEE)) {
            try coordinator.setOnOff(.on, device: testStickIEEE, endpoint: 1)
        }
        let idle = ZNPCoordinator(network: testNetwork())
        #expect(throws: ZigbeeRequestError.notReady) { try idle.permitJoin(seconds: 10) }
    }

    @Test func unansweredRequestsFailAndThreeInARowResetTheStick() throws {
        let (coordinator, stick, start) = readyCoordinator()
        var clock = start
        stick.answersRequests = false
        var ids: [ZigbeeRequestID] = []
        for _ in 0..<3 { ids.append(try coordinator.permitJoin(seconds: 10)) }
        for _ in 0..<3 {
            zigbeeExchange(coordinator, stick, at: clock.now)
            clock.advance(.seconds(6))
            coordinator.tick(now: clock.now)
        }
        #expect(zigbeeEvents(coordinator) == [
            .requestFailed(ids[0], .noResponse), .requestFailed(ids[1], .noResponse), .requestFailed(ids[2], .noResponse),
            .stateChanged(.starting, .coordinatorUnresponsive),
        ])
        stick.answersRequests = true
        zigbeeExchange(coordinator, stick, at: clock.now)
        #expect(coordinator.state == .ready)
    }

    @Test func rpcErrorFailsTheRequestInFlight() throws {
        let (coordinator, _, clock) = readyCoordinator()
        let id = try coordinator.permitJoin(seconds: 10)
        _ = coordinator.takeOutgoing()
        let error = ZNPFrame(.rpcError, data: [0x02, 0x25, 0x36])
        coordinator.received(try error.encoded(), now: clock.now)
        #expect(zigbeeEvents(coordinator) == [.requestFailed(id, .notUnderstood(2))])
    }

    @Test func stickResettingItselfWhileReadyRestartsStartUp() throws {
        let (coordinator, stick, clock) = readyCoordinator()
        stick.answersRequests = false
        let id = try coordinator.permitJoin(seconds: 10)
        zigbeeExchange(coordinator, stick, at: clock.now)
        stick.answersRequests = true
        coordinator.received(zigbeeHex(ZNPReferenceVectors.resetIndication), now: clock.now)
        #expect(zigbeeEvents(coordinator) == [.requestFailed(id, .cancelled), .stateChanged(.starting, .coordinatorReset)])
        zigbeeExchange(coordinator, stick, at: clock.now)
        #expect(coordinator.state == .ready)
        #expect(zigbeeEvents(coordinator) == [.stateChanged(.ready, .networkResumed)])
    }

    @Test func deviceTableSurvivesARestartThroughItsRecord() throws {
        let (coordinator, stick, clock) = readyCoordinator()
        let record = coordinator.exportDevices()
        let next = ZNPCoordinator(network: testNetwork())
        try next.importDevices(record)
        next.start(now: clock.now)
        zigbeeExchange(next, stick, at: clock.now)
        #expect(next.devices.device(ieee: testDeviceIEEE)?.endpoints == [1])
        _ = try next.setOnOff(.off, device: testDeviceIEEE, endpoint: 1)
        #expect(next.hasOutgoing)
    }

    @Test func partialFrameIsAbandonedAfterItsTimeoutAndTheFrameInsideItDelivered() {
        let (coordinator, _, start) = readyCoordinator()
        var clock = start
        coordinator.received([0xFE, 0xC8, 0x44, 0x81] + zigbeeHex(ZNPReferenceVectors.incomingTemperature), now: clock.now)
        #expect(zigbeeEvents(coordinator).isEmpty)
        #expect(coordinator.nextDeadline == clock.now.advanced(by: .milliseconds(500)))
        clock.advance(.milliseconds(500))
        coordinator.tick(now: clock.now)
        #expect(zigbeeEvents(coordinator).count == 1)
        #expect(coordinator.readerCounters.abandonedPartialFrames == 1)
    }

    @Test func zclAnswersBecomeCommandStatusEvents() {
        let (coordinator, _, clock) = readyCoordinator()
        func message(_ zcl: [UInt8]) -> [UInt8] {
            let data: [UInt8] = [0x00, 0x00, 0x06, 0x00, 0x34, 0x12, 0x01, 0x01, 0x00, 0x50, 0x00, 0, 0, 0, 0, 0x00,
                                 UInt8(zcl.count)] + zcl
            return try! ZNPFrame(.afIncomingMessage, data: data).encoded()
        }
        coordinator.received(message([0x18, 0x05, 0x0B, 0x01, 0x00]), now: clock.now)  // Default Response: On ok
        coordinator.received(message([0x18, 0x06, 0x04, 0x88, 0x00, 0x40]), now: clock.now)  // write: read only
        coordinator.received(message(zigbeeHex(ZNPReferenceVectors.zclReadAttributesResponse)), now: clock.now)
        coordinator.received(message([0x19, 0x07, 0x01]), now: clock.now)  // cluster-specific: ignored
        coordinator.received(message([0x18, 0x08]), now: clock.now)  // too short: malformed
        let status = { (command: UInt8, attribute: UInt16?, raw: UInt8) in
            ZigbeeEvent.commandStatus(ZigbeeCommandStatus(ieee: testDeviceIEEE, nwk: 0x1234, endpoint: 1, cluster: 0x0006,
                                                          command: command, attribute: attribute, status: ZCLStatus(rawValue: raw)))
        }
        #expect(zigbeeEvents(coordinator) == [
            status(0x01, nil, 0x00),
            status(0x02, 0x4000, 0x88),
            .attribute(ZigbeeAttributeReport(ieee: testDeviceIEEE, nwk: 0x1234, endpoint: 1, cluster: 0x0006,
                                             attribute: 0, value: .bool(true), linkQuality: 0x50)),
            status(0x00, 0x4003, 0x86),
        ])
        #expect(coordinator.counters.ignoredMessages == 1)
        #expect(coordinator.counters.malformedZCL == 1)
    }

    @Test func configureReportingAndWriteAttributeGoOutAsZCL() throws {
        let (coordinator, _, _) = readyCoordinator()
        _ = try coordinator.configureReporting([ZCLReportingConfiguration(
            attribute: 0, type: .int16, minimumInterval: 30, maximumInterval: 3600, reportableChange: .int16(50))],
            of: testDeviceIEEE, endpoint: 1, cluster: 0x0402)
        let frame = zigbeeFrames(coordinator.takeOutgoing())[0]
        // AF header (FE LEN 24 01, dst, eps, cluster, tsn, options, radius, len) then the ZCL frame.
        #expect(frame.hasSuffix("00 01 06 00 00 00 29 1E 00 10 0E 32 00 " + frame.suffix(2)))
        #expect(throws: ZigbeeRequestError.payloadTooLong(243)) {
            try coordinator.sendZCL(.clusterSpecific(command: 1, payload: Array(repeating: 0, count: 240)),
                                    to: testDeviceIEEE, endpoint: 1, cluster: 6)
        }
    }
}
