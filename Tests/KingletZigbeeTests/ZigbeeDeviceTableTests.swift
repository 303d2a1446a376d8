import Testing
@testable import KingletZigbee

@Suite struct ZigbeeDeviceTableTests {
    @Test func tableRoundTripsThroughItsByteRecord() throws {
        var table = ZigbeeDeviceTable()
        table.update(ZigbeeDeviceAddress(ieee: testDeviceIEEE, nwk: 0x1234))
        table.update(ZigbeeDeviceAddress(ieee: ZigbeeIEEEAddress(0xA4C1_3800_0000_0001), nwk: 0x8F21))
        table.setEndpoints([2, 1, 242], ieee: testDeviceIEEE)
        let record = table.exportRecord()
        #expect(Array(record[0..<3]) == [0x5A, 0x42, 0x01])
        #expect(record.count == 5 + (11 + 3) + 11)
        let restored = try ZigbeeDeviceTable.importRecord(record)
        #expect(restored == table)
        #expect(restored.device(nwk: 0x1234)?.endpoints == [1, 2, 242])
        #expect(restored.device(ieee: ZigbeeIEEEAddress(0xA4C1_3800_0000_0001))?.nwk == 0x8F21)
    }

    @Test func emptyTableRoundTrips() throws {
        let record = ZigbeeDeviceTable().exportRecord()
        #expect(record == [0x5A, 0x42, 0x01, 0x00, 0x00])
        #expect(try ZigbeeDeviceTable.importRecord(record).count == 0)
    }

    @Test func badRecordsAreRefusedWithWhereItWentWrong() {
        var table = ZigbeeDeviceTable()
        table.update(ZigbeeDeviceAddress(ieee: testDeviceIEEE, nwk: 0x1234))
        let record = table.exportRecord()
        #expect(throws: ZigbeeDeviceTableError.badMagic) { try ZigbeeDeviceTable.importRecord([0x00, 0x42, 0x01]) }
        #expect(throws: ZigbeeDeviceTableError.badMagic) { try ZigbeeDeviceTable.importRecord([]) }
        #expect(throws: ZigbeeDeviceTableError.unsupportedVersion(9)) { try ZigbeeDeviceTable.importRecord([0x5A, 0x42, 0x09, 0, 0]) }
        #expect(throws: ZigbeeDeviceTableError.truncated(offset: record.count - 1)) {
            try ZigbeeDeviceTable.importRecord(Array(record.dropLast()))
        }
        #expect(throws: ZigbeeDeviceTableError.tooManyDevices(count: 1, capacity: 0)) {
            try ZigbeeDeviceTable.importRecord(record, capacity: 0)
        }
        var twice = record
        twice[3] = 2
        twice += record[5...]
        #expect(throws: ZigbeeDeviceTableError.duplicateDevice(offset: 5 + 11)) { try ZigbeeDeviceTable.importRecord(twice) }
    }

    @Test func aReassignedNWKLeavesTheOldHolderUnknown() {
        var table = ZigbeeDeviceTable()
        let other = ZigbeeIEEEAddress(0xA4C1_3800_0000_0001)
        table.update(ZigbeeDeviceAddress(ieee: testDeviceIEEE, nwk: 0x1234))
        table.update(ZigbeeDeviceAddress(ieee: other, nwk: 0x1234))
        #expect(table.device(nwk: 0x1234)?.ieee == other)
        #expect(table.device(ieee: testDeviceIEEE)?.nwk == ZigbeeDeviceTable.unknownNWK)
        #expect(table.device(nwk: ZigbeeDeviceTable.unknownNWK) == nil)
    }

    @Test func fullTableRefusesNewDevicesButUpdatesKnownOnes() {
        var table = ZigbeeDeviceTable(capacity: 1)
        let added = table.update(ZigbeeDeviceAddress(ieee: testDeviceIEEE, nwk: 1))
        let refused = !table.update(ZigbeeDeviceAddress(ieee: testStickIEEE, nwk: 2))
        let updated = table.update(ZigbeeDeviceAddress(ieee: testDeviceIEEE, nwk: 3))
        #expect(added && refused && updated)
        #expect(table.device(ieee: testDeviceIEEE)?.nwk == 3)
    }
}
