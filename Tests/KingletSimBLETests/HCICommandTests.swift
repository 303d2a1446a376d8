import Testing
@testable import KingletSimBLE

@Suite struct HCICommandTests {
    @Test func resetAnswersCommandCompleteWithSuccessAndOneCommandCredit() throws {
        var h = try Harness()
        let out = h.command(.reset)
        #expect(out == [.event(code: 0x0E, parameters: [0x01, 0x03, 0x0C, 0x00])])
    }

    @Test func unknownOpcodeGetsUnknownHCICommandInCommandComplete() throws {
        var h = try Harness()
        #expect(h.command(0xFC77) == [.event(code: 0x0E, parameters: [0x01, 0x77, 0xFC, 0x01])])
    }

    @Test func unknownOpcodeGetsCommandStatusWhenTheDevicesFileAsks() throws {
        var h = try Harness(#"{"controller": {"unknownCommandEvent": "commandStatus"}, "devices": []}"#)
        #expect(h.command(0x2041, [0, 0, 0]) == [.event(code: 0x0F, parameters: [0x01, 0x01, 0x41, 0x20])])
    }

    @Test func commandWithWrongParameterLengthIsInvalidParameters() throws {
        var h = try Harness()
        #expect(h.command(.leSetScanEnable, [1]).first?.completeStatus == 0x12)
        #expect(h.command(.disconnect, [0x40, 0x00]).first?.commandStatus == 0x12)
    }

    @Test func readLocalVersionReportsCore50AndTheTestCompanyIdentifier() throws {
        var h = try Harness()
        let rpValue = h.command(.readLocalVersionInformation).first?.commandComplete?.parameters
        let rp = try #require(rpValue)
        #expect(rp == [0x00, 0x09, 0x01, 0x00, 0x09, 0xFF, 0xFF, 0x01, 0x00])
    }

    @Test func readBDAddrSendsTheConfiguredAddressLeastSignificantOctetFirst() throws {
        var h = try Harness(#"{"controller": {"address": "11:22:33:44:55:66"}, "devices": []}"#)
        #expect(h.command(.readBDAddr).first?.commandComplete?.parameters == [0x00, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11])
    }

    @Test func supportedCommandsMaskSetsTheSpecBitOfEachImplementedCommand() throws {
        var h = try Harness()
        let rpValue = h.command(.readLocalSupportedCommands).first?.commandComplete?.parameters
        let rp = try #require(rpValue)
        #expect(rp.count == 65)
        let mask = Array(rp.dropFirst())
        #expect(mask[0] == 0x20)          // Disconnect: octet 0 bit 5
        #expect(mask[5] == 0xC0)          // Set Event Mask bit 6, Reset bit 7
        #expect(mask[14] == 0xA8)         // Read Local Version bit 3, Features bit 5, Buffer Size bit 7
        #expect(mask[15] == 0x02)         // Read BD_ADDR bit 1
        #expect(mask[25] == 0x17)         // LE Set Event Mask, LE Read Buffer Size, LE Features, LE Set Random Address
        #expect(mask[26] == 0xFC)         // scan parameters/enable, create connection/cancel, FAL size/clear
        #expect(mask[27] == 0x83)         // FAL add/remove, LE Rand
        #expect(mask.enumerated().allSatisfy { [0, 5, 14, 15, 25, 26, 27].contains($0.offset) || $0.element == 0 })
    }

    @Test func leReadBufferSizeReportsTheConfiguredBuffers() throws {
        var h = try Harness()
        #expect(h.command(.leReadBufferSize).first?.commandComplete?.parameters == [0x00, 27, 0, 8])
    }

    @Test(arguments: [
        [UInt8]([0x02, 0x10, 0x00, 0x10, 0x00, 0x00, 0x00]),  // scan type 2
        [0x00, 0x03, 0x00, 0x03, 0x00, 0x00, 0x00],           // interval below 0x0004
        [0x00, 0x01, 0x40, 0x10, 0x00, 0x00, 0x00],           // interval above 0x4000
        [0x00, 0x10, 0x00, 0x20, 0x00, 0x00, 0x00],           // window above interval
        [0x00, 0x10, 0x00, 0x10, 0x00, 0x04, 0x00],           // own address type 4
        [0x00, 0x10, 0x00, 0x10, 0x00, 0x00, 0x04],           // filter policy 4
    ])
    func scanParametersOutsideTheSpecRangesAreInvalidParameters(_ parameters: [UInt8]) throws {
        var h = try Harness()
        #expect(h.command(.leSetScanParameters, parameters).first?.completeStatus == 0x12)
    }

    @Test func extendedScannerFilterPoliciesAreAnUnsupportedFeature() throws {
        var h = try Harness()
        #expect(h.command(.leSetScanParameters, [0x00, 0x10, 0x00, 0x10, 0x00, 0x00, 0x02]).first?.completeStatus == 0x11)
    }

    @Test func scanParametersWhileScanningAreCommandDisallowed() throws {
        var h = try Harness()
        h.startScanning()
        #expect(h.command(.leSetScanParameters, [0x01, 0x10, 0x00, 0x10, 0x00, 0x00, 0x00]).first?.completeStatus == 0x0C)
        #expect(h.command(.leSetRandomAddress, [1, 2, 3, 4, 5, 0xC6]).first?.completeStatus == 0x0C)
    }

    @Test func scanEnableWithARandomOwnAddressNeedsLESetRandomAddress() throws {
        var h = try Harness()
        _ = h.command(.leSetScanParameters, [0x00, 0x10, 0x00, 0x10, 0x00, 0x01, 0x00])
        #expect(h.command(.leSetScanEnable, [1, 0]).first?.completeStatus == 0x12)
        #expect(h.command(.leSetRandomAddress, [1, 2, 3, 4, 5, 0xC6]).first?.completeStatus == 0x00)
        #expect(h.command(.leSetScanEnable, [1, 0]).first?.completeStatus == 0x00)
    }

    @Test func scanEnableWithFilterDuplicatesOutOfRangeIsInvalidParameters() throws {
        var h = try Harness()
        #expect(h.command(.leSetScanEnable, [1, 2]).first?.completeStatus == 0x12)
        #expect(h.command(.leSetScanEnable, [2, 0]).first?.completeStatus == 0x12)
    }

    @Test func disablingScanningWhenDisabledSucceeds() throws {
        var h = try Harness()
        #expect(h.command(.leSetScanEnable, [0, 0]).first?.completeStatus == 0x00)
    }

    @Test func filterAcceptListIsBoundedAndLockedWhileAScanUsesIt() throws {
        var h = try Harness()
        #expect(h.command(.leReadFilterAcceptListSize).first?.commandComplete?.parameters == [0, 8])
        for i in 0..<8 { #expect(h.command(.leAddDeviceToFilterAcceptList, [0, UInt8(i), 0, 0, 0, 0, 0]).first?.completeStatus == 0) }
        #expect(h.command(.leAddDeviceToFilterAcceptList, [0, 9, 0, 0, 0, 0, 0]).first?.completeStatus == 0x07)
        #expect(h.command(.leAddDeviceToFilterAcceptList, [0, 3, 0, 0, 0, 0, 0]).first?.completeStatus == 0x00)
        _ = h.command(.leSetScanParameters, [0x00, 0x10, 0x00, 0x10, 0x00, 0x00, 0x01])
        _ = h.command(.leSetScanEnable, [1, 0])
        #expect(h.command(.leClearFilterAcceptList).first?.completeStatus == 0x0C)
        _ = h.command(.leSetScanEnable, [0, 0])
        #expect(h.command(.leClearFilterAcceptList).first?.completeStatus == 0x00)
    }

    @Test func leRandReturnsEightOctets() throws {
        var h = try Harness()
        #expect(h.command(.leRand).first?.commandComplete?.parameters.count == 9)
    }

    @Test func resetStopsScanningAndRestoresTheDefaultEventMask() throws {
        var h = try Harness()
        h.startScanning()
        #expect(!h.advance(milliseconds: 300).isEmpty)
        _ = h.command(.reset)
        _ = h.command(.leSetScanEnable, [1, 0])
        // Scanning again, but LE Meta is masked by the default event mask again.
        #expect(h.advance(milliseconds: 500).isEmpty)
    }
}
