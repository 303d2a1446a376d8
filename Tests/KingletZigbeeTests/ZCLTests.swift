import Testing
@testable import KingletZigbee

@Suite struct ZCLTests {
    private func encoded(_ command: ZCLCommand, sequence: UInt8, manufacturer: UInt16? = nil) -> String {
        zigbeeHexString(command.encoded(sequence: sequence, manufacturerCode: manufacturer))
    }

    @Test func onOffCommandsMatchZigpy() {
        #expect(encoded(.onOff(.on), sequence: 6) == ZNPReferenceVectors.zclOn)
        #expect(encoded(.onOff(.off), sequence: 7) == ZNPReferenceVectors.zclOff)
        #expect(encoded(.onOff(.toggle), sequence: 8) == ZNPReferenceVectors.zclToggle)
    }

    @Test func moveToLevelMatchesZigpy() {
        #expect(encoded(.level(.moveToLevel(level: 128, transitionTime: 10, withOnOff: true)), sequence: 9)
                == ZNPReferenceVectors.zclMoveToLevelWithOnOff)
        #expect(encoded(.level(.moveToLevel(level: 254, transitionTime: 0, withOnOff: false)), sequence: 10)
                == ZNPReferenceVectors.zclMoveToLevel)
    }

    @Test func globalCommandsMatchZigpy() {
        #expect(encoded(.readAttributes([0x0000, 0x0021]), sequence: 1) == ZNPReferenceVectors.zclReadAttributes)
        #expect(encoded(.readAttributes([0xFF01]), sequence: 2, manufacturer: 0x115F)
                == ZNPReferenceVectors.zclReadAttributesManufacturer)
        #expect(encoded(.writeAttributes([ZCLAttributeWrite(attribute: 0x0010, value: .uint16(300))]), sequence: 3)
                == ZNPReferenceVectors.zclWriteAttributes)
        #expect(encoded(.configureReporting([ZCLReportingConfiguration(
            attribute: 0x0000, type: .int16, minimumInterval: 30, maximumInterval: 3600, reportableChange: .int16(50))]),
                        sequence: 4) == ZNPReferenceVectors.zclConfigureReportingTemperature)
        // A discrete type carries no reportable change.
        #expect(encoded(.configureReporting([ZCLReportingConfiguration(
            attribute: 0x0000, type: .bool, minimumInterval: 0, maximumInterval: 600)]), sequence: 5)
                == ZNPReferenceVectors.zclConfigureReportingOnOff)
    }

    @Test func headerRoundTripsItsFrameControlBits() {
        let bytes = zigbeeHex(ZNPReferenceVectors.zclReadAttributesManufacturer)
        guard let (header, payload) = ZCLHeader.decode(bytes[...]) else {
            Issue.record("header not decoded")
            return
        }
        #expect(header == ZCLHeader(frameType: .global, manufacturerCode: 0x115F, sequence: 2, command: 0x00))
        #expect(Array(payload) == [0x01, 0xFF])
        #expect(header.encoded() == Array(bytes[0..<5]))
        #expect(ZCLHeader.decode([0x03, 0x01, 0x00][...]) == nil)  // frame type 3 is reserved
        #expect(ZCLHeader.decode([0x04, 0x5F][...]) == nil)
    }

    private func attributes(_ hex: String) throws -> [(UInt16, ZCLStatus, ZCLValue?)] {
        let bytes = zigbeeHex(hex)
        let (header, payload) = ZCLHeader.decode(bytes[...])!
        var records: [(UInt16, ZCLStatus, ZCLValue?)] = []
        try ZCLGlobalRecords.forEachAttribute(command: header.command, payload: payload) { records.append(($0, $1, $2)) }
        return records
    }

    @Test func readAttributesResponseGivesValuesAndFailures() throws {
        let records = try attributes(ZNPReferenceVectors.zclReadAttributesResponse)
        #expect(records.count == 2)
        #expect(records[0].0 == 0x0000 && records[0].1 == .success && records[0].2 == .bool(true))
        #expect(records[1].0 == 0x4003 && records[1].1 == .unsupportedAttribute && records[1].2 == nil)
    }

    @Test func reportOfBatteryReadsVoltsAndPercent() throws {
        let records = try attributes(ZNPReferenceVectors.zclReportBattery)
        let voltage = ZigbeeReading.interpret(cluster: 0x0001, attribute: records[0].0, value: records[0].2!)
        let percent = ZigbeeReading.interpret(cluster: 0x0001, attribute: records[1].0, value: records[1].2!)
        #expect(voltage?.quantity == .batteryVoltage && voltage?.value == 3.0)
        #expect(percent?.quantity == .batteryPercentage && percent?.value == 100.0)
    }

    @Test func reportWithStringAndSingleFloat() throws {
        let records = try attributes(ZNPReferenceVectors.zclReportStringAndFloat)
        #expect(records[0].2 == .characterString(Array("lumi.weather".utf8)))
        #expect(records[1].2 == .float(21.5))
    }

    @Test func signedAndOddSizedTypesDecode() throws {
        let values = try attributes(ZNPReferenceVectors.zclReportSigned).map { $0.2 }
        #expect(values == [.int16(-120), .int24(-2), .int32(-70000), .uint24(0x123456), .bitmap8(1), .enum8(2)])
        let power = ZigbeeReading.interpret(cluster: 0x0B04, attribute: 0x050B, value: .int16(-120))
        #expect(power?.quantity == .activePower && power?.value == -120)
    }

    @Test func valuesRoundTripThroughWriteAndRead() throws {
        let values: [ZCLValue] = [
            .bool(false), .uint8(200), .uint16(0xBEEF), .uint24(0xABCDEF), .uint32(0xDEADBEEF), .int8(-5),
            .int16(-3000), .int24(-8_000_000), .int32(Int32.min), .enum8(3), .enum16(0x0102), .bitmap8(0x81),
            .bitmap16(0x8001), .float(-0.25), .characterString([0x68, 0x69]), .octetString([0x00, 0xFF]),
            .other(ZCLDataType(rawValue: 0xE2), 0x2A2A_2A2A),
        ]
        let frame = ZCLGlobalRecords.encodeReport(sequence: 1, values.enumerated().map {
            ZCLAttributeWrite(attribute: UInt16($0.offset), value: $0.element)
        })
        let decoded = try attributes(zigbeeHexString(frame)).map { $0.2! }
        #expect(decoded == values)
    }

    @Test func unknownSizedTypeStopsTheFrame() {
        // An array (0x48) has no fixed size: the record before it is delivered, then it throws.
        let payload: [UInt8] = [0x00, 0x00, 0x20, 0x07, 0x01, 0x00, 0x48, 0x20, 0x01, 0x00, 0x05]
        var seen: [UInt16] = []
        #expect(throws: ZCLError.unsupportedType(ZCLDataType(rawValue: 0x48))) {
            try ZCLGlobalRecords.forEachAttribute(command: 0x0A, payload: payload[...]) { attribute, _, _ in seen.append(attribute) }
        }
        #expect(seen == [0x0000])
        #expect(throws: ZCLError.truncated(command: 0x0A, length: 4)) {
            try ZCLGlobalRecords.forEachAttribute(command: 0x0A, payload: [0x00, 0x00, 0x21, 0x07][...]) { _, _, _ in }
        }
    }

    @Test func writeAndConfigureResponsesGiveStatuses() throws {
        #expect(try ZCLGlobalRecords.statuses(command: 0x04, payload: [0x00][...])
                == [ZCLAttributeStatus(attribute: nil, status: .success)])
        #expect(try ZCLGlobalRecords.statuses(command: 0x04, payload: [0x88, 0x10, 0x00][...])
                == [ZCLAttributeStatus(attribute: 0x0010, status: ZCLStatus(rawValue: 0x88))])
        #expect(try ZCLGlobalRecords.statuses(command: 0x07, payload: [0x8C, 0x00, 0x00, 0x00][...])
                == [ZCLAttributeStatus(attribute: 0x0000, status: ZCLStatus(rawValue: 0x8C))])
        let bytes = zigbeeHex(ZNPReferenceVectors.zclDefaultResponse)
        let response = try ZCLGlobalRecords.defaultResponse(payload: ZCLHeader.decode(bytes[...])!.payload)
        #expect(response.command == 0x01 && response.status == .success)
    }

    @Test func readingsInTheirClustersUnits() {
        #expect(ZigbeeReading.interpret(cluster: 0x0402, attribute: 0, value: .int16(2506))?.value == 25.06)
        #expect(ZigbeeReading.interpret(cluster: 0x0402, attribute: 0, value: .int16(-0x8000)) == nil)  // invalid
        #expect(ZigbeeReading.interpret(cluster: 0x0405, attribute: 0, value: .uint16(4520))?.value == 45.2)
        #expect(ZigbeeReading.interpret(cluster: 0x0406, attribute: 0, value: .bitmap8(1))?.value == 1)
        #expect(ZigbeeReading.interpret(cluster: 0x0006, attribute: 0, value: .bool(true))?.quantity == .onOff)
        #expect(ZigbeeReading.interpret(cluster: 0x0008, attribute: 0, value: .uint8(77))?.value == 77)
        #expect(ZigbeeReading.interpret(cluster: 0x0B04, attribute: 0x0505, value: .uint16(2301))?.raw == 2301)
        #expect(ZigbeeReading.interpret(cluster: 0x0B04, attribute: 0x0508, value: .uint16(150))?.quantity == .rmsCurrent)
        #expect(ZigbeeReading.interpret(cluster: 0x0001, attribute: 0x0021, value: .uint8(0xFF)) == nil)
        #expect(ZigbeeReading.interpret(cluster: 0x0000, attribute: 0x0005, value: .uint8(1)) == nil)
    }
}
