import Testing
@testable import KingletSimZigbee

@Suite("The stick: SYS, NV, SAPI, UTIL, startup, faults")
struct StickTests {
    @Test func pingAnswersTheCapabilitiesOfAZStack3Build() {
        var stick = Harness()
        #expect(stick.request(.sys, 0x01)?.encoded == MTFrame(cmd0: 0x61, cmd1: 0x01, payload: [0x79, 0x06]).encoded)
        var configuration = ZNPConfiguration()
        configuration.sapiEnabled = false
        var recorded = Harness(configuration: configuration)
        // 0x0659: SYS, AF, ZDO, UTIL, GP, APP_CNF, as zigpy-znp recorded from Z-Stack 3 sticks.
        #expect(recorded.request(.sys, 0x01)?.payload == [0x59, 0x06])
    }

    @Test func versionNamesTheFirmwareProfile() {
        var cc2652 = Harness()
        #expect(cc2652.request(.sys, 0x02)?.payload == [2, 1, 2, 7, 1] + le32(20_230_507) + [0] + le32(0xFFFF_FFFF))
        var configuration = ZNPConfiguration()
        configuration.firmware = .cc2531
        var cc2531 = Harness(configuration: configuration)
        #expect(cc2531.request(.sys, 0x02)?.payload == [2, 2, 2, 7, 2] + le32(20_190_425) + [1] + le32(0))
    }

    @Test func unknownCommandGetsTheRPCErrorWithTheOffendingHeader() {
        var stick = Harness()
        let reply = stick.request(.sys, 0x55)
        #expect(reply == MTFrame(cmd0: 0x60, cmd1: 0x00, payload: [0x02, 0x21, 0x55]))
    }

    @Test func absentSubsystemGetsInvalidSubsystem() {
        var configuration = ZNPConfiguration()
        configuration.sapiEnabled = false
        var stick = Harness(configuration: configuration)
        #expect(stick.request(.mac, 0x01) == MTFrame(cmd0: 0x60, cmd1: 0x00, payload: [0x01, 0x22, 0x01]))
        #expect(stick.request(.sapi, 0x04, [0x83]) == MTFrame(cmd0: 0x60, cmd1: 0x00, payload: [0x01, 0x26, 0x04]))
    }

    @Test func unknownAREQIsIgnored() {
        var stick = Harness()
        stick.send(.areq, .sys, 0x55)
        stick.advance(milliseconds: 100)
        #expect(stick.inbox.isEmpty)
    }

    @Test func truncatedRequestGetsInvalidLength() {
        var stick = Harness()
        #expect(stick.request(.sys, 0x08, [0x83]) == MTFrame(cmd0: 0x60, cmd1: 0x00, payload: [0x04, 0x21, 0x08]))
    }

    @Test func resetIndicationFollowsTheRebootDelayAndNVSurvives() {
        var stick = Harness()
        #expect(stick.request(.sys, 0x09, [0x83, 0x00, 0x00, 2, 0x62, 0x1A])?.payload == [0x00])
        stick.send(.areq, .sys, 0x00, [0x01])
        stick.advance(milliseconds: 200)
        #expect(stick.expect(0x41, 0x80) == nil)
        stick.advance(milliseconds: 100)
        // Reason PowerUp, TransportRev 2, ProductId 1, 2.7.1.
        #expect(stick.expect(0x41, 0x80)?.payload == [0x00, 2, 1, 2, 7, 1])
        #expect(stick.request(.sys, 0x08, [0x83, 0x00, 0x00])?.payload == [0x00, 2, 0x62, 0x1A])
    }

    @Test func framesSentWhileRebootingAreLost() {
        var stick = Harness()
        stick.send(.areq, .sys, 0x00, [0x01])
        #expect(stick.request(.sys, 0x01) == nil)
        stick.advance(milliseconds: 300)
        #expect(stick.request(.sys, 0x01) != nil)
    }

    @Test func startupOptionClearStateForgetsTheNetworkAtReset() {
        var stick = Harness()
        stick.startNetwork()
        #expect(stick.request(.sys, 0x13, [0x21, 0x00])?.payload != [0, 0])
        _ = stick.request(.sys, 0x09, [0x03, 0x00, 0x00, 1, 0x02])
        stick.send(.areq, .sys, 0x00, [0x01])
        stick.advance(milliseconds: 300)
        #expect(stick.request(.sys, 0x13, [0x21, 0x00])?.payload == [0, 0])
        #expect(stick.request(.sys, 0x08, [0x55, 0x00, 0x00])?.payload == [0x00, 1, 0x00])
        #expect(stick.request(.sys, 0x08, [0x03, 0x00, 0x00])?.payload == [0x00, 1, 0x00])
    }

    @Test func osalItemInitCreatesOnceWithErasedBytesPastTheInitialData() {
        var stick = Harness()
        #expect(stick.request(.sys, 0x07, [0x60, 0x00, 0x03, 0x00, 1, 0x55])?.payload == [0x09])
        #expect(stick.request(.sys, 0x07, [0x60, 0x00, 0x03, 0x00, 1, 0x66])?.payload == [0x00])
        #expect(stick.request(.sys, 0x1C, [0x60, 0x00, 0x00, 0x00])?.payload == [0x00, 3, 0x55, 0xFF, 0xFF])
        #expect(stick.request(.sys, 0x13, [0x60, 0x00])?.payload == [3, 0])
    }

    @Test func osalReadOfAMissingItemIsInvalidParameter() {
        var stick = Harness()
        #expect(stick.request(.sys, 0x08, [0x00, 0x0F, 0x00])?.payload == [0x02, 0])
        #expect(stick.request(.sys, 0x13, [0x00, 0x0F])?.payload == [0, 0])
    }

    @Test func osalWritePastTheItemFailsAndDeleteChecksTheLength() {
        var stick = Harness()
        #expect(stick.request(.sys, 0x09, [0x83, 0x00, 1, 2, 0x01, 0x02])?.payload == [0x0A])
        #expect(stick.request(.sys, 0x12, [0x83, 0x00, 0x03, 0x00])?.payload == [0x0C])
        #expect(stick.request(.sys, 0x12, [0x83, 0x00, 0x02, 0x00])?.payload == [0x00])
        #expect(stick.request(.sys, 0x12, [0x83, 0x00, 0x02, 0x00])?.payload == [0x09])
    }

    @Test func writeConfigurationIsReadBackByReadConfigurationAndOSAL() {
        var stick = Harness()
        #expect(stick.request(.sapi, 0x05, [0x84, 4, 0x00, 0x80, 0x00, 0x00])?.payload == [0x00])
        #expect(stick.request(.sapi, 0x04, [0x84])?.payload == [0x00, 0x84, 4, 0x00, 0x80, 0x00, 0x00])
        #expect(stick.request(.sys, 0x08, [0x84, 0x00, 0x00])?.payload == [0x00, 4, 0x00, 0x80, 0x00, 0x00])
        #expect(stick.request(.sapi, 0x04, [0xEE])?.payload == [0x02, 0xEE, 0])
    }

    @Test func startupFromAppFormsANetworkThroughStates8Then9() {
        var stick = Harness()
        #expect(stick.request(.zdo, 0x40, [0x64, 0x00])?.payload == [0x00])
        stick.advance(milliseconds: 600)
        let states = stick.all(0x45, 0xC0).map { $0.payload }
        #expect(states == [[0x08], [0x08], [0x09]])
        #expect(stick.simulator.deviceState == .startedAsCoordinator)
        #expect(stick.simulator.network?.channel == 11)
    }

    @Test func bdbFormationUsesThePrimaryChannelsAndTheConfiguredPAN() {
        var stick = Harness()
        _ = stick.request(.sys, 0x09, [0x83, 0x00, 0x00, 2, 0x62, 0x1A])
        #expect(stick.request(.appConfig, 0x08, [0x01] + le32(1 << 20))?.payload == [0x00])
        #expect(stick.request(.appConfig, 0x05, [0x04])?.payload == [0x00])
        stick.advance(milliseconds: 600)
        #expect(stick.all(0x45, 0xC0).last?.payload == [0x09])
        let notifications = stick.all(0x4F, 0x80).map(\.payload)
        #expect(notifications.first == [0x01, 0x04, 0x04])
        #expect(notifications.last == [0x00, 0x04, 0x00])
        #expect(stick.simulator.network?.channel == 20)
        #expect(stick.simulator.network?.panID == 0x1A62)
        let nib = stick.request(.sys, 0x1C, [0x21, 0x00, 0x00, 0x00])?.payload ?? []
        // Status, length 116 (the CC2652's aligned NIB), then the NIB itself.
        #expect(nib.prefix(2) == [0x00, 116])
    }

    @Test func bdbFormationAfterResetRestoresTheStoredNetwork() {
        var stick = Harness()
        _ = stick.request(.appConfig, 0x05, [0x04])
        stick.advance(milliseconds: 600)
        let formed = stick.simulator.network
        stick.send(.areq, .sys, 0x00, [0x01])
        stick.advance(milliseconds: 300)
        stick.inbox.removeAll()
        #expect(stick.simulator.network == nil)
        _ = stick.request(.appConfig, 0x05, [0x04])
        stick.advance(milliseconds: 200)
        #expect(stick.all(0x45, 0xC0).map(\.payload) == [[0x09]])
        #expect(stick.all(0x4F, 0x80).map(\.payload) == [[0x0D, 0x00, 0x04], [0x00, 0x04, 0x00]])
        #expect(stick.simulator.network == formed)
    }

    @Test func deviceInfoReportsStateShortAddressAndChildren() {
        var stick = Harness()
        let before = stick.request(.util, 0x00)?.payload ?? []
        #expect(Array(before.suffix(5)) == [0xFE, 0xFF, 0x07, 0x00, 0x00])
        stick.startNetwork()
        let after = stick.request(.util, 0x00)?.payload ?? []
        // NWK 0x0000, type 7, state 9, one end-device child (the sensor, 0x2B3C).
        #expect(Array(after.dropFirst(9)) == [0x00, 0x00, 0x07, 0x09, 1, 0x3C, 0x2B])
    }

    @Test func extendedNVIsAbsentOnTheCC2531() {
        var configuration = ZNPConfiguration()
        configuration.firmware = .cc2531
        var cc2531 = Harness(configuration: configuration)
        #expect(cc2531.request(.sys, 0x32, [1, 0x04, 0x00, 0x00, 0x00]) == MTFrame(cmd0: 0x60, cmd1: 0, payload: [0x02, 0x21, 0x32]))
        #expect(cc2531.request(.util, 0x49, [0])?.payload.count == 28)
        var cc2652 = Harness()
        #expect(cc2652.request(.sys, 0x32, [1, 0x04, 0x00, 0x00, 0x00])?.payload == [0, 0, 0, 0])
        #expect(cc2652.request(.util, 0x49, [0])?.payload.count == 36)
    }

    @Test func badChecksumFaultCorruptsEveryNthFrame() {
        var configuration = ZNPConfiguration()
        configuration.faults.badChecksumEvery = 2
        var stick = Harness(configuration: configuration)
        for _ in 0..<4 { stick.send(.sreq, .sys, 0x01) }
        #expect(stick.inbox.count == 2)
        #expect(stick.badChecksums == 2)
        #expect(stick.simulator.counters.faultBadChecksums == 2)
    }

    @Test func garbageFaultPrecedesEveryNthFrameWithoutAStartOfFrame() {
        var configuration = ZNPConfiguration()
        configuration.faults.garbageEvery = 3
        var stick = Harness(configuration: configuration)
        for _ in 0..<6 { stick.send(.sreq, .sys, 0x01) }
        #expect(stick.inbox.count == 6)
        #expect(stick.garbageSkipped > 0)
        #expect(stick.simulator.counters.faultGarbageBursts == 2)
        #expect(stick.simulator.takeLog().contains { $0.text.hasPrefix("fault: ") && !$0.verbose })
    }

    @Test func silenceFaultAnswersTheNthFrameThenNothing() {
        var configuration = ZNPConfiguration()
        configuration.faults.silenceAfter = 2
        var stick = Harness(configuration: configuration)
        #expect(stick.request(.sys, 0x01) != nil)
        #expect(stick.request(.zdo, 0x40, [0x64, 0x00]) != nil)
        stick.advance(milliseconds: 600)
        #expect(stick.all(0x45, 0xC0).isEmpty)
        #expect(stick.request(.sys, 0x01) == nil)
        #expect(stick.simulator.counters.framesIgnoredWhileSilent == 1)
    }

    @Test func powerCycleStopsTheNetworkButKeepsNV() {
        var stick = Harness()
        stick.startNetwork()
        stick.simulator.powerCycle(now: stick.now)
        #expect(stick.simulator.network == nil)
        #expect(stick.simulator.deviceState == .initializedNotStarted)
        #expect(stick.request(.sys, 0x08, [0x55, 0x00, 0x00])?.payload == [0x00, 1, 0x01])
    }
}
