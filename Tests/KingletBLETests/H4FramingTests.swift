import Testing
@testable import KingletBLE

// Command bytes checked against Bumble 0.0.236 (PyPI `bumble`): `bytes(HCI_..._Command(...))`
// gives the H4 packet, indicator first; see the report for the script.
@Suite struct HCICommandEncodingTests {
    @Test func leSetScanEnableOnWithoutDuplicateFilterIsTheSpecFrame() {
        #expect(HCICommand.leSetScanEnable(enable: true, filterDuplicates: false).h4Bytes == hex("01 0C 20 02 01 00"))
    }

    @Test func opcodesSplitIntoOGFAndOCF() {
        #expect(HCIOpcode.leSetScanEnable.rawValue == 0x200C)
        #expect(HCIOpcode.leSetScanEnable.ogf == 0x08)
        #expect(HCIOpcode.leSetScanEnable.ocf == 0x000C)
        #expect(HCIOpcode.reset.rawValue == 0x0C03)
        #expect(HCIOpcode.disconnect.rawValue == 0x0406)
        #expect(HCIOpcode.readBDAddr.rawValue == 0x1009)
    }

    @Test func bringUpCommandsMatchBumbleBytes() {
        #expect(HCICommand.reset.h4Bytes == hex("01030c00"))
        #expect(HCICommand.setEventMask(HCICommand.hostEventMask).h4Bytes == hex("01010c081080000000000020"))
        #expect(HCICommand.leSetEventMask(HCICommand.hostLEEventMask).h4Bytes == hex("010120080300000000000000"))
        #expect(HCICommand.readBDAddr.h4Bytes == hex("01091000"))
        #expect(HCICommand.readLocalVersion.h4Bytes == hex("01011000"))
        #expect(HCICommand.leReadBufferSize.h4Bytes == hex("01022000"))
        #expect(HCICommand.leSetScanParameters(HCIScanParameters()).h4Bytes == hex("010b200700100010000000"))
    }

    @Test func connectionCommandsMatchBumbleBytes() {
        let peer = BLEAddress("C0:FF:EE:12:34:56")!
        let create = HCICommand.leCreateConnection(HCIConnectionParameters(peer: peer, peerAddressType: .randomDevice))
        #expect(create.h4Bytes == hex("010d2019600030000001563412eeffc000180028000000f40100000000"))
        #expect(HCICommand.leCreateConnectionCancel.h4Bytes == hex("010e2000"))
        #expect(HCICommand.disconnect(handle: 0x0040, reason: 0x13).h4Bytes == hex("01060403400013"))
    }

    @Test func aclPacketCarriesHandleFlagsAndLength() {
        // ATT Read Request for handle 3 on connection 0x40 (Bumble: HCI_AclDataPacket + L2CAP_PDU).
        let bytes = HCIH4.acl(handle: 0x0040, boundary: .firstNonFlushable, data: hex("0300 0400 0a0300"))
        #expect(bytes == hex("0240000700030004000a0300"))
    }
}

@Suite struct HCIH4ReaderTests {
    @Test func readsAnEventSplitAcrossChunks() {
        var reader = HCIH4Reader()
        let bytes = hex("040e0401030c00")
        for byte in bytes.dropLast() {
            reader.append([byte])
            #expect(reader.nextPacket() == nil)
        }
        reader.append([bytes.last!])
        #expect(reader.nextPacket() == .event(HCIEventPacket(code: 0x0E, parameters: hex("01030c00"))))
        #expect(reader.nextPacket() == nil)
        #expect(reader.counters.events == 1)
    }

    @Test func readsSeveralPacketsFromOneChunk() {
        var reader = HCIH4Reader()
        reader.append(hex("040e0401030c00" + "0240200c00080004000b4b696e676c6574" + "0413050140000200"))
        #expect(reader.nextPacket() == .event(HCIEventPacket(code: 0x0E, parameters: hex("01030c00"))))
        #expect(reader.nextPacket() == .acl(HCIACLPacket(handle: 0x40, boundary: .firstFlushable, data: hex("080004000b4b696e676c6574"))))
        #expect(reader.nextPacket() == .event(HCIEventPacket(code: 0x13, parameters: hex("0140000200"))))
        #expect(reader.nextPacket() == nil)
        #expect(reader.counters.aclPackets == 1)
        #expect(reader.counters.events == 2)
    }

    @Test func skipsGarbageBeforeAPacketAndCountsIt() {
        var reader = HCIH4Reader()
        reader.append(hex("00 FF 7E 01") + hex("040e0401030c00"))
        #expect(reader.nextPacket() == .event(HCIEventPacket(code: 0x0E, parameters: hex("01030c00"))))
        #expect(reader.counters.garbageBytes == 4)
    }

    @Test func resynchronisesAfterAnImpossibleHeader() {
        var reader = HCIH4Reader()
        // An "event" 0x0F (Command Status) whose length is not 4 cannot be real, and an ACL
        // header announcing 0xFFFF bytes is beyond any buffer: both are dropped byte by byte.
        reader.append(hex("04 0F 09") + hex("02 40 20 FF FF") + hex("04050400400013"))
        #expect(reader.nextPacket() == .event(HCIEventPacket(code: 0x05, parameters: hex("00400013"))))
        #expect(reader.counters.resyncs >= 2)
        #expect(reader.counters.garbageBytes == 8)
        #expect(reader.pendingByteCount == 0)
    }

    @Test func skipsSCOPacketsWhole() {
        var reader = HCIH4Reader()
        reader.append(hex("03 0100 03 AABBCC") + hex("040e0401030c00"))
        #expect(reader.nextPacket() == .event(HCIEventPacket(code: 0x0E, parameters: hex("01030c00"))))
        #expect(reader.counters.skippedPackets == 1)
        #expect(reader.counters.garbageBytes == 0)
    }

    @Test func waitsForTheRestOfAPartialACLPacket() {
        var reader = HCIH4Reader()
        reader.append(hex("0240200c0008000400"))
        #expect(reader.nextPacket() == nil)
        #expect(reader.pendingByteCount == 9)
        reader.append(hex("0b4b696e676c6574"))
        guard case .acl(let acl)? = reader.nextPacket() else {
            Issue.record("expected an ACL packet")
            return
        }
        #expect(acl.handle == 0x40)
        #expect(acl.data == hex("080004000b4b696e676c6574"))
    }
}
