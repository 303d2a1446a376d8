import KingletCore
import Testing
@testable import KingletZigbee

@Suite struct ZNPCoordinatorStartupTests {
    @Test func resumeStartUpWritesExactlyTheScriptedFrames() {
        let clock = ZigbeeManualClock()
        let coordinator = ZNPCoordinator(network: testNetwork())
        coordinator.start(now: clock.now)
        var written = coordinator.takeOutgoing()
        // The CC253x bootloader-skip byte goes first; MT ignores it.
        #expect(written.first == 0xEF)
        written.removeFirst()
        for (index, step) in ZNPReferenceVectors.resume.enumerated() {
            #expect(zigbeeFrames(written) == [step.request], "step \(index)")
            #expect(coordinator.state == .starting)
            for response in step.responses { coordinator.received(zigbeeHex(response), now: clock.now) }
            written = coordinator.takeOutgoing()
        }
        #expect(written.isEmpty)
        #expect(coordinator.state == .ready)
        #expect(coordinator.coordinatorIEEE == testStickIEEE)
        #expect(coordinator.firmware?.codeRevision == 20221226)
        #expect(zigbeeEvents(coordinator) == [.stateChanged(.starting, .startRequested),
                                              .stateChanged(.ready, .networkResumed)])
        #expect(coordinator.nextDeadline == nil)
    }

    @Test func freshStickIsFormedWithTheZigpyReferenceFramesThenResumedAfterARestart() {
        let clock = ZigbeeManualClock()
        let stick = FakeZStack()
        let coordinator = ZNPCoordinator(network: testNetwork())
        coordinator.start(now: clock.now)
        zigbeeExchange(coordinator, stick, at: clock.now)
        #expect(coordinator.state == .ready)
        #expect(zigbeeEvents(coordinator).last == .stateChanged(.ready, .networkFormed))
        // Reset, ping, version, device info and five NV reads, then the formation.
        let afterReads = stick.requests.dropFirst(9).map { zigbeeHexString(try! $0.encoded()) }
        #expect(afterReads == ZNPReferenceVectors.formation)
        #expect(stick.nv[ZNPNVItem.panID] == [0x62, 0x1A])
        #expect(stick.nv[ZNPNVItem.hasConfiguredZStack3] == [0x55])
        #expect(stick.primaryChannels == 1 << 15)

        // A new agent process on the same stick finds the network and does not touch NV.
        stick.requests.removeAll()
        let next = ZNPCoordinator(network: testNetwork())
        next.start(now: clock.now)
        zigbeeExchange(next, stick, at: clock.now)
        #expect(next.state == .ready)
        #expect(zigbeeEvents(next).last == .stateChanged(.ready, .networkResumed))
        #expect(!stick.requestNames().contains("SYS_OSAL_NV_WRITE"))
        #expect(stick.requestNames().contains("ZDO_STARTUP_FROM_APP"))
    }

    @Test func changedConfigurationClearsTheFlagFirstAndFormsAgain() throws {
        let clock = ZigbeeManualClock()
        let stick = FakeZStack()
        let first = ZNPCoordinator(network: testNetwork())
        first.start(now: clock.now)
        zigbeeExchange(first, stick, at: clock.now)
        stick.requests.removeAll()

        let moved = try ZigbeeNetworkConfig(panID: 0x2B2B, extendedPANID: 0x0123_4567_89AB_CDEF, channel: 20,
                                            networkKey: testNetwork().networkKey)
        let second = ZNPCoordinator(network: moved)
        second.start(now: clock.now)
        zigbeeExchange(second, stick, at: clock.now)
        #expect(zigbeeEvents(second).last == .stateChanged(.ready, .networkFormed))
        let firstWrite = stick.requests.first { $0.command == .sysNVWrite }
        #expect(firstWrite?.data == [0x60, 0x00, 0x00, 0x01, 0x00])
        #expect(stick.nv[ZNPNVItem.panID] == [0x2B, 0x2B])
        #expect(stick.primaryChannels == 1 << 20)
    }

    @Test func unreadableKeyDoesNotReformTheNetwork() {
        let clock = ZigbeeManualClock()
        let stick = FakeZStack()
        let first = ZNPCoordinator(network: testNetwork())
        first.start(now: clock.now)
        zigbeeExchange(first, stick, at: clock.now)
        stick.keyReadable = false
        let second = ZNPCoordinator(network: testNetwork())
        second.start(now: clock.now)
        zigbeeExchange(second, stick, at: clock.now)
        #expect(zigbeeEvents(second).last == .stateChanged(.ready, .networkResumed))
    }

    @Test func networkAlreadyRunningAfterResetSkipsStartupFromApp() {
        let clock = ZigbeeManualClock()
        let stick = FakeZStack()
        let first = ZNPCoordinator(network: testNetwork())
        first.start(now: clock.now)
        zigbeeExchange(first, stick, at: clock.now)
        stick.requests.removeAll()
        // Pretend this build starts its network by itself: device info reports state 9.
        let second = ZNPCoordinator(network: testNetwork())
        second.start(now: clock.now)
        let reset = second.takeOutgoing()
        second.received(stick.process(reset), now: clock.now)
        stick.networkRunning = true
        zigbeeExchange(second, stick, at: clock.now)
        #expect(second.state == .ready)
        #expect(!stick.requestNames().contains("ZDO_STARTUP_FROM_APP"))
    }

    @Test func missingResetIndicationIsRetriedThenFailsThenRetriesLater() {
        var clock = ZigbeeManualClock()
        let stick = FakeZStack()
        stick.answersResets = false
        let coordinator = ZNPCoordinator(network: testNetwork())
        coordinator.start(now: clock.now)
        #expect(zigbeeFrames(coordinator.takeOutgoing()) == [ZNPReferenceVectors.resume[0].request])
        for attempt in 2...3 {
            #expect(coordinator.nextDeadline == clock.now.advanced(by: .seconds(10)))
            clock.advance(.seconds(10))
            coordinator.tick(now: clock.now)
            #expect(zigbeeFrames(coordinator.takeOutgoing()) == [ZNPReferenceVectors.resume[0].request], "attempt \(attempt)")
        }
        clock.advance(.seconds(10))
        coordinator.tick(now: clock.now)
        #expect(coordinator.state == .failed)
        #expect(zigbeeEvents(coordinator).last == .stateChanged(.failed, .noResetIndication))
        #expect(coordinator.nextDeadline == clock.now.advanced(by: .seconds(60)))

        stick.answersResets = true
        clock.advance(.seconds(60))
        coordinator.tick(now: clock.now)
        zigbeeExchange(coordinator, stick, at: clock.now)
        #expect(coordinator.state == .ready)
        #expect(zigbeeEvents(coordinator) == [.stateChanged(.starting, .retrying), .stateChanged(.ready, .networkFormed)])
    }

    @Test func unansweredStepRestartsStartUpAndGivesUpAfterThreeAttempts() {
        var clock = ZigbeeManualClock()
        let stick = FakeZStack()
        stick.answersRequests = false
        var settings = ZNPCoordinatorSettings()
        settings.retryAfterFailure = nil
        let coordinator = ZNPCoordinator(network: testNetwork(), settings: settings)
        coordinator.start(now: clock.now)
        for _ in 1...3 {
            zigbeeExchange(coordinator, stick, at: clock.now)  // reset answered, ping not
            #expect(coordinator.nextDeadline == clock.now.advanced(by: .seconds(6)))
            clock.advance(.seconds(6))
            coordinator.tick(now: clock.now)
        }
        #expect(coordinator.state == .failed)
        #expect(zigbeeEvents(coordinator) == [
            .stateChanged(.starting, .startRequested),
            .stateChanged(.starting, .stepTimedOut(.sysPing)),
            .stateChanged(.starting, .stepTimedOut(.sysPing)),
            .stateChanged(.failed, .stepTimedOut(.sysPing)),
        ])
        #expect(coordinator.nextDeadline == nil)
        #expect(coordinator.counters.requestTimeouts == 3)
    }

    @Test func firmwareWithoutAppConfigIsRefused() {
        let clock = ZigbeeManualClock()
        let stick = FakeZStack()
        stick.capabilities = 0x0159  // Z-Stack Home 1.2: no APP_CNF
        let coordinator = ZNPCoordinator(network: testNetwork())
        coordinator.start(now: clock.now)
        zigbeeExchange(coordinator, stick, at: clock.now)
        #expect(coordinator.state == .failed)
        #expect(zigbeeEvents(coordinator).last == .stateChanged(.failed, .unsupportedFirmware))
    }

    @Test func formationThatNeverStartsTimesOutAfterSixtySeconds() {
        var clock = ZigbeeManualClock()
        let stick = FakeZStack()
        stick.formationSucceeds = false
        let coordinator = ZNPCoordinator(network: testNetwork())
        coordinator.start(now: clock.now)
        zigbeeExchange(coordinator, stick, at: clock.now)
        #expect(coordinator.state == .starting)
        #expect(coordinator.nextDeadline == clock.now.advanced(by: .seconds(60)))
        clock.advance(.seconds(60))
        coordinator.tick(now: clock.now)
        #expect(zigbeeEvents(coordinator).last == .stateChanged(.starting, .networkStartTimedOut))
        stick.formationSucceeds = true
        zigbeeExchange(coordinator, stick, at: clock.now)
        #expect(coordinator.state == .ready)
    }

    @Test func rpcErrorDuringStartUpNamesTheStep() {
        let clock = ZigbeeManualClock()
        let coordinator = ZNPCoordinator(network: testNetwork())
        coordinator.start(now: clock.now)
        _ = coordinator.takeOutgoing()
        coordinator.received(zigbeeHex(ZNPReferenceVectors.resetIndication), now: clock.now)
        #expect(zigbeeFrames(coordinator.takeOutgoing()) == [ZNPReferenceVectors.sysPing])
        coordinator.received(zigbeeHex(ZNPReferenceVectors.rpcErrorPing), now: clock.now)
        #expect(zigbeeEvents(coordinator).last == .stateChanged(.starting, .stepNotUnderstood(.sysPing)))
    }

    @Test func stopCancelsAndGoesQuiet() {
        let (coordinator, stick, clock) = readyCoordinator()
        stick.answersRequests = false
        let id = try! coordinator.setOnOff(.on, device: testDeviceIEEE, endpoint: 1)
        coordinator.stop()
        #expect(zigbeeEvents(coordinator) == [.requestFailed(id, .cancelled), .stateChanged(.stopped, .stopRequested)])
        coordinator.tick(now: clock.now.advanced(by: .seconds(3600)))
        #expect(coordinator.nextDeadline == nil)
        #expect(zigbeeEvents(coordinator).isEmpty)
    }
}
