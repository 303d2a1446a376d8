import Testing
@testable import KingletSimBLE

/// The relay's table: 1 GAP service, 2/3 Device Name, 4/5 Appearance, 6 service,
/// 7/8 switch + 9 user description, 10/11 temperature + 12 CCCD, 13/14 text, 15/16 write-only.
@Suite struct ATTTests {
    func connected() throws -> (Harness, UInt16) {
        var h = try Harness(Harness.relay)
        let handleValue = h.connectRelay()
        let handle = try #require(handleValue)
        return (h, handle)
    }

    @Test func exchangeMTUAnswersTheServerMTU() throws {
        var (h, c) = try connected()
        #expect(h.att(c, [0x02, 0x00, 0x02]) == [0x03, 0xF7, 0x00])
    }

    @Test func readByTypeFindsCharacteristicDeclarationsOfOneLength() throws {
        var (h, c) = try connected()
        _ = h.att(c, [0x02, 0xF7, 0x00])
        let rspValue = h.att(c, [0x08, 0x06, 0x00, 0xFF, 0xFF, 0x03, 0x28])
        let rsp = try #require(rspValue)
        // Switch declaration (19 octets with a 128-bit UUID) comes first; the 16-bit ones differ in length.
        #expect(rsp[0] == 0x09 && rsp[1] == 21 && rsp.count == 2 + 21)
        #expect(Array(rsp[2...6]) == [0x07, 0x00, 0x0E, 0x08, 0x00])
    }

    @Test func readAndWriteTheSwitch() throws {
        var (h, c) = try connected()
        #expect(h.att(c, [0x0A, 0x08, 0x00]) == [0x0B, 0x00])
        #expect(h.att(c, [0x12, 0x08, 0x00, 0x01]) == [0x13])
        #expect(h.att(c, [0x0A, 0x08, 0x00]) == [0x0B, 0x01])
        #expect(h.att(c, [0x52, 0x08, 0x00, 0x00]) == nil)
        #expect(h.att(c, [0x0A, 0x08, 0x00]) == [0x0B, 0x00])
    }

    @Test func errorResponsesCarryTheSpecCodes() throws {
        var (h, c) = try connected()
        #expect(h.att(c, [0x0A, 0x00, 0x01]) == [0x01, 0x0A, 0x00, 0x01, 0x01])        // Invalid Handle
        #expect(h.att(c, [0x0A, 0x10, 0x00]) == [0x01, 0x0A, 0x10, 0x00, 0x02])        // Read Not Permitted
        #expect(h.att(c, [0x12, 0x0B, 0x00, 0x00, 0x00]) == [0x01, 0x12, 0x0B, 0x00, 0x03])  // Write Not Permitted
        #expect(h.att(c, [0x16, 0x08, 0x00, 0x00, 0x00, 0x01]) == [0x01, 0x16, 0x00, 0x00, 0x06])  // Request Not Supported
        #expect(h.att(c, [0x30]) == [0x01, 0x30, 0x00, 0x00, 0x06])
        #expect(h.att(c, [0x08, 0x01, 0x00, 0xFF, 0xFF, 0x37, 0x2A]) == [0x01, 0x08, 0x01, 0x00, 0x0A])  // Attribute Not Found
        #expect(h.att(c, [0x08, 0x05, 0x00, 0x04, 0x00, 0x03, 0x28]) == [0x01, 0x08, 0x05, 0x00, 0x01])
        #expect(h.att(c, [0x12, 0x08, 0x00, 0x01, 0x00]) == [0x01, 0x12, 0x08, 0x00, 0x0D])  // Invalid Attribute Value Length
        #expect(h.att(c, [0x12, 0x08, 0x00, 0x02]) == [0x01, 0x12, 0x08, 0x00, 0x13])        // Value Not Allowed
        #expect(h.att(c, [0x10, 0x01, 0x00, 0xFF, 0xFF, 0x03, 0x28]) == [0x01, 0x10, 0x01, 0x00, 0x10])  // Unsupported Group Type
        #expect(h.att(c, [0x0A, 0x08]) == [0x01, 0x0A, 0x00, 0x00, 0x04])                    // Invalid PDU
    }

    @Test func unsupportedCommandsAreSilentlyDiscarded() throws {
        var (h, c) = try connected()
        #expect(h.att(c, [0xD2, 0x08, 0x00, 0x01] + [UInt8](repeating: 0, count: 12)) == nil)
        #expect(h.att(c, [0x7F]) == nil)
    }

    @Test func findInformationListsHandlesAndTypesInOrder() throws {
        var (h, c) = try connected()
        #expect(h.att(c, [0x04, 0x09, 0x00, 0x0C, 0x00]) == [0x05, 0x01, 0x09, 0x00, 0x01, 0x29, 0x0A, 0x00, 0x03, 0x28,
                                                             0x0B, 0x00, 0x6E, 0x2A, 0x0C, 0x00, 0x02, 0x29])
        #expect(h.att(c, [0x04, 0x20, 0x00, 0xFF, 0xFF]) == [0x01, 0x04, 0x20, 0x00, 0x0A])
        #expect(h.att(c, [0x04, 0x00, 0x00, 0xFF, 0xFF]) == [0x01, 0x04, 0x00, 0x00, 0x01])
    }

    /// One format per response, and no attribute left out: the list ends where the type's
    /// length changes (Core Vol 3 Part F §3.4.3.2), and the next request starts there.
    @Test func findInformationEndsWhereTheUUIDLengthChanges() throws {
        var (h, c) = try connected()
        // 6 service, 7 declaration (16-bit types), then 8 the switch's 128-bit value.
        #expect(h.att(c, [0x04, 0x06, 0x00, 0xFF, 0xFF]) == [0x05, 0x01, 0x06, 0x00, 0x00, 0x28, 0x07, 0x00, 0x03, 0x28])
        let uuid = BLEUUID("a1b2c3d4-0002-4b4c-8e1f-6b696e676c65")!.wire
        #expect(h.att(c, [0x04, 0x08, 0x00, 0xFF, 0xFF]) == [0x05, 0x02, 0x08, 0x00] + uuid)
        #expect(h.att(c, [0x04, 0x09, 0x00, 0x09, 0x00]) == [0x05, 0x01, 0x09, 0x00, 0x01, 0x29])
    }

    @Test func findByTypeValueFindsAServiceByItsUUID() throws {
        var (h, c) = try connected()
        let uuid = BLEUUID("a1b2c3d4-0001-4b4c-8e1f-6b696e676c65")!.wire
        #expect(h.att(c, [0x06, 0x01, 0x00, 0xFF, 0xFF, 0x00, 0x28] + uuid) == [0x07, 0x06, 0x00, 0x10, 0x00])
        #expect(h.att(c, [0x06, 0x01, 0x00, 0xFF, 0xFF, 0x00, 0x28, 0x0F, 0x18]) == [0x01, 0x06, 0x01, 0x00, 0x0A])
    }

    @Test func readBlobReadsFromAnOffset() throws {
        var (h, c) = try connected()
        #expect(h.att(c, [0x0C, 0x0E, 0x00, 0x03, 0x00]) == [0x0D] + Array("glet".utf8))
        #expect(h.att(c, [0x0C, 0x0E, 0x00, 0x09, 0x00]) == [0x01, 0x0C, 0x0E, 0x00, 0x07])
    }

    @Test func notificationsFlowOnlyWhileTheCCCDIsOne() throws {
        var (h, c) = try connected()
        #expect(h.advance(milliseconds: 500).isEmpty)
        #expect(h.att(c, [0x12, 0x0C, 0x00, 0x01, 0x00]) == [0x13])
        #expect(h.att(c, [0x0A, 0x0C, 0x00]) == [0x0B, 0x01, 0x00])
        let notes = l2capPayloads(h.advance(milliseconds: 1000), handle: c)
        #expect(notes.count == 5 && notes.allSatisfy { $0 == [0x1B, 0x0B, 0x00, 0xFC, 0x08] })  // 23.00 °C = 2300
        #expect(h.att(c, [0x12, 0x0C, 0x00, 0x00, 0x00]) == [0x13])
        #expect(h.advance(milliseconds: 1000).isEmpty)
    }

    @Test func indicationsOnANotifyOnlyCharacteristicAreImproperlyConfigured() throws {
        var (h, c) = try connected()
        #expect(h.att(c, [0x12, 0x0C, 0x00, 0x02, 0x00]) == [0x01, 0x12, 0x0C, 0x00, 0xFD])
    }

    @Test func theCCCDIsPerConnection() throws {
        var (h, c) = try connected()
        _ = h.att(c, [0x12, 0x0C, 0x00, 0x01, 0x00])
        _ = h.command(.disconnect, [UInt8(c & 0xFF), UInt8(c >> 8), 0x13])
        _ = h.advance(milliseconds: 300)
        _ = h.command(.leCreateConnection, createConnectionParameters(peer: "24:0A:C4:00:00:06"))
        let againValue = h.advance(milliseconds: 200).compactMap(\.leConnectionComplete).first
        let again = try #require(againValue)
        #expect(h.att(again.handle, [0x0A, 0x0C, 0x00]) == [0x0B, 0x00, 0x00])
    }
}
