import KingletCore
import Testing
@testable import KingletBLE

@Suite struct BLEScannerTests {
    @Test func bringUpSendsOneCommandAtATimeInOrder() throws {
        let scanner = try BLEScanner()
        scanner.start(now: at(0))
        let script: [([UInt8], [UInt8])] = [
            (hex("01030c00"), commandComplete(.reset)),
            (hex("01010c08 1080000000000020"), commandComplete(.setEventMask)),
            (hex("01012008 0300000000000000"), commandComplete(.leSetEventMask)),
            (hex("01091000"), commandComplete(.readBDAddr, hex("00 665544332211"))),
            (hex("01011000"), commandComplete(.readLocalVersion, hex("00 0C 0000 0C 0F00 0000"))),
            (hex("01022000"), commandComplete(.leReadBufferSize, hex("00 FB00 08"))),
            (hex("010b2007 00 1000 1000 00 00"), commandComplete(.leSetScanParameters)),
            (hex("010c2002 01 00"), hex("040e04010c2000")),
        ]
        for (step, (command, reply)) in script.enumerated() {
            #expect(scanner.takeOutgoing() == command, "step \(step)")
            #expect(scanner.takeOutgoing() == nil, "only one command outstanding at step \(step)")
            #expect(scanner.state == .initializing)
            scanner.receive(reply, now: at(Int64(step)))
        }
        #expect(scanner.state == .scanning)
        var expected = BLEControllerInfo()
        expected.address = BLEAddress("11:22:33:44:55:66")
        expected.hciVersion = 0x0C
        expected.manufacturer = 0x000F
        expected.aclPacketLength = 251
        expected.aclPackets = 8
        #expect(drain(scanner) == [.ready(expected)])
        #expect(scanner.aclCredits.packetLength == 251)
        #expect(scanner.aclCredits.totalPackets == 8)
        #expect(scanner.nextDeadline == nil)
    }

    @Test func waitsForCommandCreditsBeforeSending() throws {
        let scanner = try BLEScanner()
        scanner.start(now: at(0))
        _ = outgoing(scanner)
        // Reset completes but the controller takes no command yet (Num_HCI_Command_Packets 0).
        scanner.receive(commandComplete(.reset, credits: 0), now: at(1))
        #expect(scanner.takeOutgoing() == nil)
        // A NOP Command Complete hands out a credit.
        scanner.receive(hex("040e03010000"), now: at(2))
        #expect(scanner.takeOutgoing() == HCICommand.setEventMask(HCICommand.hostEventMask).h4Bytes)
    }

    @Test func commandTimeoutRetriesBringUpAfterTheDelay() throws {
        var configuration = BLEScannerConfiguration()
        configuration.commandTimeout = .seconds(3)
        configuration.retryDelay = .seconds(5)
        let scanner = try BLEScanner(configuration: configuration)
        scanner.start(now: at(0))
        #expect(outgoing(scanner) == [hex("01030c00")])
        #expect(scanner.nextDeadline == at(3000))
        scanner.tick(now: at(2999))
        #expect(drain(scanner).isEmpty)
        scanner.tick(now: at(3000))
        #expect(drain(scanner) == [.failed(.commandTimedOut(.reset))])
        #expect(scanner.state == .waitingToRetry)
        #expect(scanner.counters.commandTimeouts == 1)
        #expect(scanner.nextDeadline == at(8000))
        #expect(scanner.takeOutgoing() == nil)
        scanner.tick(now: at(8000))
        #expect(scanner.state == .initializing)
        #expect(outgoing(scanner) == [hex("01030c00")])
        #expect(scanner.counters.initAttempts == 2)
    }

    @Test func failedCommandStatusStopsBringUpAndRetries() throws {
        let scanner = try BLEScanner()
        scanner.start(now: at(0))
        _ = outgoing(scanner)
        scanner.receive(commandComplete(.reset), now: at(1))
        _ = outgoing(scanner)
        scanner.receive(commandComplete(.setEventMask, [0x12]), now: at(2))
        #expect(drain(scanner) == [.failed(.commandFailed(.setEventMask, HCIStatus(code: 0x12)))])
        #expect(scanner.state == .waitingToRetry)
        #expect(scanner.takeOutgoing() == nil)
    }

    @Test func unexpectedCompletionIsCountedAndIgnored() throws {
        let scanner = try BLEScanner()
        scanner.start(now: at(0))
        _ = outgoing(scanner)
        scanner.receive(commandComplete(.leSetScanEnable), now: at(1))
        #expect(scanner.counters.unexpectedCompletions == 1)
        #expect(scanner.commandOutstanding == .reset)
    }

    @Test func rateLimitDropsReportsFasterThanTheMinimumInterval() throws {
        var configuration = BLEScannerConfiguration()
        configuration.minimumReportInterval = .seconds(1)
        let scanner = try scanningScanner(configuration)
        // ADV_IND from A4:C1:38:00:11:22 with BTHome data, as Bumble encodes it.
        let report = hex("043e1a0201000022110038c1a40e0201060a16d2fc4002ca0903bf13c4")
        let scanResponse = hex("043e0c02 01 04 00 221100 38c1a4 00 c4")
        scanner.receive(report, now: at(10_000))
        scanner.receive(scanResponse, now: at(10_005))
        scanner.receive(report, now: at(10_100))
        scanner.receive(report, now: at(10_999))
        scanner.receive(report, now: at(11_000))
        let events = drain(scanner)
        #expect(events.count == 3)
        #expect(scanner.rateLimiter.accepted == 3)
        #expect(scanner.rateLimiter.limited == 2)
        guard case .advertisement(let first)? = events.first else {
            Issue.record("expected an advertisement")
            return
        }
        #expect(first.address == BLEAddress("A4:C1:38:00:11:22"))
        #expect(first.rssi == -60)
    }

    @Test func rateLimiterDropsAFloodOfNewAddresses() {
        var limiter = BLERateLimiter(minimumInterval: .seconds(1), maximumTrackedDevices: 4)
        for n in 0..<6 {
            _ = limiter.admit(address: BLEAddress(rawValue: UInt64(n)), scanResponse: false, now: at(0))
        }
        #expect(limiter.accepted == 4)
        #expect(limiter.droppedTableFull == 2)
        // Once the interval has passed, old entries are forgotten and new devices get in.
        let admitted = limiter.admit(address: BLEAddress(rawValue: 99), scanResponse: false, now: at(1000))
        #expect(admitted)
        #expect(limiter.trackedDevices == 1)
    }

    @Test func connectDisconnectAndACLCredits() throws {
        let scanner = try scanningScanner()
        let peer = BLEAddress("C0:FF:EE:12:34:56")!
        try scanner.connect(HCIConnectionParameters(peer: peer, peerAddressType: .randomDevice), now: at(100))
        #expect(outgoing(scanner) == [hex("010d2019600030000001563412eeffc000180028000000f40100000000")])
        scanner.receive(hex("040f0400010d20"), now: at(101))
        scanner.receive(hex("043e13010040000001563412eeffc028000000f40100"), now: at(150))
        guard case .connected(let complete)? = drain(scanner).first else {
            Issue.record("expected .connected")
            return
        }
        #expect(complete.handle == 0x40)
        #expect(scanner.aclCredits.totalPackets == 4)
        #expect(scanner.aclCredits.take(handle: 0x40))
        #expect(scanner.aclCredits.take(handle: 0x40))
        #expect(scanner.aclCredits.available == 2)
        scanner.receive(hex("0413050140000100"), now: at(160))
        #expect(scanner.aclCredits.available == 3)
        // ACL data is handed to the owner for the connection's GATT client.
        scanner.receive(hex("0240200900050004001b0e00ca09"), now: at(170))
        #expect(drain(scanner) == [.aclData(HCIACLPacket(handle: 0x40, boundary: .firstFlushable, data: hex("050004001b0e00ca09")))])
        try scanner.disconnect(handle: 0x40, now: at(200))
        #expect(outgoing(scanner) == [hex("01060403400013")])
        scanner.receive(hex("040f0400010604"), now: at(201))
        scanner.receive(hex("04050400400016"), now: at(250))
        #expect(drain(scanner) == [.disconnected(handle: 0x40, reason: HCIStatus(code: 0x16))])
        #expect(scanner.aclCredits.available == 4)
    }

    @Test func rejectedCreateConnectionReportsConnectionFailed() throws {
        let scanner = try scanningScanner()
        let peer = BLEAddress("C0:FF:EE:12:34:56")!
        try scanner.connect(HCIConnectionParameters(peer: peer, peerAddressType: .randomDevice), now: at(100))
        _ = outgoing(scanner)
        scanner.receive(hex("040f040c010d20"), now: at(101))
        #expect(drain(scanner) == [.failed(.commandFailed(.leCreateConnection, HCIStatus(code: 0x0C))),
                                   .connectionFailed(peer: peer, status: HCIStatus(code: 0x0C))])
    }

    @Test func stopAndResumeScanning() throws {
        let scanner = try scanningScanner()
        try scanner.stopScanning(now: at(1))
        #expect(outgoing(scanner) == [hex("010c20020000")])
        scanner.receive(commandComplete(.leSetScanEnable), now: at(2))
        #expect(scanner.state == .stopped)
        #expect(drain(scanner) == [.scanningStopped])
        #expect(throws: BLEScannerError.self) { try scanner.stopScanning(now: at(3)) }
        try scanner.resumeScanning(now: at(4))
        #expect(outgoing(scanner) == [hex("010c20020100")])
    }

    @Test func hardwareErrorRestartsFromReset() throws {
        let scanner = try scanningScanner()
        scanner.receive(hex("04100101"), now: at(100))
        #expect(drain(scanner) == [.failed(.hardwareError(code: 1))])
        #expect(scanner.state == .waitingToRetry)
        scanner.tick(now: at(5100))
        #expect(outgoing(scanner) == [hex("01030c00")])
    }

    @Test func sharedBuffersFallBackToReadBufferSize() throws {
        let scanner = try BLEScanner()
        scanner.start(now: at(0))
        let replies: [[UInt8]] = [
            commandComplete(.reset), commandComplete(.setEventMask), commandComplete(.leSetEventMask),
            commandComplete(.readBDAddr, hex("00 665544332211")),
            commandComplete(.readLocalVersion, hex("00 0C 0000 0C 0F00 0000")),
            commandComplete(.leReadBufferSize, hex("00 0000 00")),
        ]
        for reply in replies {
            _ = outgoing(scanner)
            scanner.receive(reply, now: at(1))
        }
        #expect(outgoing(scanner) == [hex("01051000")])
        scanner.receive(commandComplete(.readBufferSize, hex("00 FD03 40 0A00 0800")), now: at(2))
        #expect(scanner.aclCredits.packetLength == 1021)
        #expect(scanner.aclCredits.totalPackets == 10)
        #expect(outgoing(scanner) == [HCICommand.leSetScanParameters(HCIScanParameters()).h4Bytes])
    }

    @Test func invalidScanParametersAreRejectedAtInit() {
        var configuration = BLEScannerConfiguration()
        configuration.scan.window = 0x20
        configuration.scan.interval = 0x10
        #expect(throws: BLEScannerError.self) { try BLEScanner(configuration: configuration) }
    }
}
