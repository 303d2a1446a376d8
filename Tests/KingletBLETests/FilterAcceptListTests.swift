import KingletCore
import Testing
@testable import KingletBLE

/// The scanner keeps the controller's Filter Accept List to the addresses listened for.
@Suite struct FilterAcceptListTests {
    let first = BLEAddress("A4:C1:38:00:00:01")!
    let second = BLEAddress("A4:C1:38:00:00:02")!

    /// Answers each command the scanner sends with `reply(command)` until it sends nothing.
    func run(_ scanner: BLEScanner, now: Instant, reply: (HCIOpcode) -> [UInt8] = { commandComplete($0) }) -> [HCICommand] {
        var sent: [HCICommand] = []
        for _ in 0..<64 {
            guard let command = scanner.commandOutstandingCommand, let bytes = scanner.takeOutgoing() else { break }
            #expect(bytes == command.h4Bytes)
            sent.append(command)
            scanner.receive(reply(command.opcode), now: now)
        }
        return sent
    }

    func bringUpReplies(listSize: UInt8) -> (HCIOpcode) -> [UInt8] {
        { opcode in
            switch opcode {
            case .readBDAddr: return commandComplete(opcode, hex("00 665544332211"))
            case .readLocalVersion: return commandComplete(opcode, hex("00 0C 0000 0C 0F00 0000"))
            case .leReadBufferSize: return commandComplete(opcode, hex("00 FB00 08"))
            case .leReadFilterAcceptListSize: return commandComplete(opcode, [0x00, listSize])
            default: return commandComplete(opcode)
            }
        }
    }

    func scan(policy: UInt8) -> HCICommand {
        var scan = HCIScanParameters()
        scan.filterPolicy = policy
        return .leSetScanParameters(scan)
    }

    @Test func bringUpFillsTheListWithBothAddressTypesOfEachListenedAddress() throws {
        let scanner = try BLEScanner()
        scanner.listen(only: [first, second], now: at(0))
        scanner.start(now: at(0))
        let sent = run(scanner, now: at(1), reply: bringUpReplies(listSize: 8))
        #expect(Array(sent.suffix(8)) == [
            .leReadFilterAcceptListSize, .leClearFilterAcceptList,
            .leAddDeviceToFilterAcceptList(.publicDevice, first), .leAddDeviceToFilterAcceptList(.randomDevice, first),
            .leAddDeviceToFilterAcceptList(.publicDevice, second), .leAddDeviceToFilterAcceptList(.randomDevice, second),
            scan(policy: 1), .leSetScanEnable(enable: true, filterDuplicates: false),
        ])
        #expect(HCICommand.leAddDeviceToFilterAcceptList(.randomDevice, first).h4Bytes == hex("01112007 01 010000 38C1A4"))
        #expect(scanner.state == .scanning)
        #expect(scanner.scanFilterPolicy == 1)
        #expect(scanner.controller.filterAcceptListSize == 8)
    }

    @Test func aNewListenerPausesScanningToRewriteTheListWithoutTheOwnerSeeingAStop() throws {
        let scanner = try scanningScanner()
        scanner.listen(only: [first], now: at(1))
        let sent = run(scanner, now: at(2), reply: bringUpReplies(listSize: 8))
        #expect(sent == [
            .leReadFilterAcceptListSize,
            .leSetScanEnable(enable: false, filterDuplicates: false), .leClearFilterAcceptList,
            .leAddDeviceToFilterAcceptList(.publicDevice, first), .leAddDeviceToFilterAcceptList(.randomDevice, first),
            scan(policy: 1), .leSetScanEnable(enable: true, filterDuplicates: false),
        ])
        #expect(scanner.state == .scanning)
        #expect(drain(scanner).isEmpty)
        #expect(scanner.scanFilterPolicy == 1)

        // Listening for nobody at all keeps the list in use, empty.
        scanner.listen(only: [], now: at(3))
        #expect(run(scanner, now: at(4)) == [
            .leSetScanEnable(enable: false, filterDuplicates: false), .leClearFilterAcceptList,
            scan(policy: 1), .leSetScanEnable(enable: true, filterDuplicates: false),
        ])
    }

    @Test func moreAddressesThanTheListHoldsScanEveryAdvertisement() throws {
        let scanner = try BLEScanner()
        scanner.listen(only: [first, second], now: at(0))
        scanner.start(now: at(0))
        let sent = run(scanner, now: at(1), reply: bringUpReplies(listSize: 3))
        #expect(Array(sent.suffix(3)) == [.leReadFilterAcceptListSize, scan(policy: 0),
                                          .leSetScanEnable(enable: true, filterDuplicates: false)])
        #expect(scanner.scanFilterPolicy == 0)

        // Down to one listened address: now it fits.
        scanner.listen(only: [second], now: at(2))
        #expect(run(scanner, now: at(3)) == [
            .leSetScanEnable(enable: false, filterDuplicates: false), .leClearFilterAcceptList,
            .leAddDeviceToFilterAcceptList(.publicDevice, second), .leAddDeviceToFilterAcceptList(.randomDevice, second),
            scan(policy: 1), .leSetScanEnable(enable: true, filterDuplicates: false),
        ])
        // Back to two: the filter goes off again; the list is left as it is.
        scanner.listen(only: [first, second], now: at(4))
        #expect(run(scanner, now: at(5)) == [
            .leSetScanEnable(enable: false, filterDuplicates: false), scan(policy: 0),
            .leSetScanEnable(enable: true, filterDuplicates: false),
        ])
        #expect(scanner.scanFilterPolicy == 0)
    }

    @Test func aRefusedListCommandStartsTheControllerOverWithoutTheList() throws {
        let scanner = try scanningScanner()
        scanner.listen(only: [first], now: at(1))
        let refused: (HCIOpcode) -> [UInt8] = { opcode in
            switch opcode {
            case .leReadFilterAcceptListSize: return commandComplete(opcode, [0x00, 8])
            case .leAddDeviceToFilterAcceptList: return commandComplete(opcode, [0x07]) // Memory Capacity Exceeded
            default: return commandComplete(opcode)
            }
        }
        let sent = run(scanner, now: at(2), reply: refused)
        #expect(sent.last == .leAddDeviceToFilterAcceptList(.publicDevice, first))
        #expect(drain(scanner) == [.failed(.commandFailed(.leAddDeviceToFilterAcceptList, HCIStatus(code: 0x07)))])
        #expect(scanner.state == .waitingToRetry)

        scanner.tick(now: at(5002))
        let again = run(scanner, now: at(5003), reply: bringUpReplies(listSize: 8))
        #expect(again.first == .reset)
        #expect(!again.contains(.leReadFilterAcceptListSize))
        #expect(Array(again.suffix(2)) == [scan(policy: 0), .leSetScanEnable(enable: true, filterDuplicates: false)])
        #expect(scanner.state == .scanning)
        #expect(scanner.scanFilterPolicy == 0)
    }

    @Test func theOwnersStopIsKeptAcrossAnUpdate() throws {
        let scanner = try scanningScanner()
        scanner.listen(only: [first], now: at(1))
        try scanner.stopScanning(now: at(1))
        let sent = run(scanner, now: at(2), reply: bringUpReplies(listSize: 8))
        // Stopped: the list is rewritten with no pause around it, and scanning stays off.
        #expect(sent == [
            .leReadFilterAcceptListSize, .leSetScanEnable(enable: false, filterDuplicates: false),
            .leClearFilterAcceptList,
            .leAddDeviceToFilterAcceptList(.publicDevice, first), .leAddDeviceToFilterAcceptList(.randomDevice, first),
            scan(policy: 1),
        ])
        #expect(scanner.state == .stopped)
        #expect(drain(scanner) == [.scanningStopped])
    }
}
