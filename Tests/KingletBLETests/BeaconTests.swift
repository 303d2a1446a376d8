import Testing
@testable import KingletBLE

@Suite struct AdvertisingDataTests {
    @Test func splitsStructuresAndFindsFields() {
        let ad = BLEAdvertisingData(hex("020106 0303AAFE 0509 4B696E67 020AF4 0A16D2FC4002CA0903BF13 00 0000"))
        #expect(ad.problem == nil)
        #expect(ad.flags == 0x06)
        #expect(ad.serviceUUIDs16 == [0xFEAA])
        #expect(ad.localName == "King")
        #expect(ad.txPower == -12)
        #expect(ad.serviceData(uuid16: 0xFCD2).map(Array.init) == hex("4002CA0903BF13"))
        #expect(ad.serviceData(uuid16: 0x1234) == nil)
    }

    @Test func structureRunningPastTheEndKeepsTheEarlierOnes() {
        let ad = BLEAdvertisingData(hex("020106 0516D2FC40"))
        #expect(ad.structures.count == 1)
        #expect(ad.problem == .truncatedStructure(offset: 3))
    }
}

@Suite struct IBeaconTests {
    // beacontools 2.1.0 (PyPI) parses this advertisement as uuid e2c56db5-dffb-48d2-b060-d0f5a71096e0,
    // major 1, minor 2, tx_power -59.
    let advertisement = hex("0201061AFF4C000215E2C56DB5DFFB48D2B060D0F5A71096E000010002C5")

    @Test func decodesUUIDMajorMinorAndPower() throws {
        let ad = BLEAdvertisingData(advertisement)
        let beacon = try BLEIBeacon(manufacturerData: try #require(ad.manufacturerData(company: BLEIBeacon.company)))
        #expect(beacon.uuidString == "E2C56DB5-DFFB-48D2-B060-D0F5A71096E0")
        #expect(beacon.major == 1)
        #expect(beacon.minor == 2)
        #expect(beacon.measuredPower == -59)
    }

    @Test func decoderReportsIBeaconReadings() {
        let decoded = BLEAdvertisementDecoder().decode(data: advertisement, address: BLEAddress(rawValue: 7), rssi: nil)
        #expect(decoded?.readings == [BLEReading(name: "major", unit: "", value: 1), BLEReading(name: "minor", unit: "", value: 2),
                                      BLEReading(name: "measured_power", unit: "dBm", value: -59)])
    }

    @Test func shortIBeaconIsAnError() {
        #expect(throws: BLEBeaconError.iBeaconMalformed) { try BLEIBeacon(manufacturerData: hex("0215E2C5")[...]) }
    }
}

@Suite struct EddystoneTests {
    private func frame(_ advertisement: String) throws -> BLEEddystone {
        let ad = BLEAdvertisingData(hex(advertisement))
        return try BLEEddystone(serviceData: try #require(ad.serviceData(uuid16: BLEEddystone.serviceUUID)))
    }

    // Expected values from beacontools 2.1.0's parse_packet on the same advertisements.
    @Test func uid() throws {
        #expect(try frame("0201060303AAFE1716AAFE00E800010203040506070809AABBCCDDEEFF0000")
            == .uid(txPower: -24, namespace: hex("00010203040506070809"), instance: hex("AABBCCDDEEFF")))
    }

    @Test func urlWithSchemeAndExpansion() throws {
        #expect(try frame("0201060303AAFE0D16AAFE10EB0367697468756200") == .url(txPower: -21, url: "https://github.com/"))
        #expect(try frame("0201060303AAFE1116AAFE10F900676F6F2E676C2F61626301") == .url(txPower: -7, url: "http://www.goo.gl/abc.org/"))
    }

    @Test func urlWithReservedByteIsAnError() {
        #expect(throws: BLEBeaconError.eddystoneURLReservedByte(0x0E)) { try frame("0201060303AAFE0816AAFE10EB03610E") }
    }

    @Test func plainTLM() throws {
        // beacontools: 3000 mV, 24.5 °C, count 256, raw seconds counter 10000 (0.1 s units, so 1000 s).
        guard case .tlm(let tlm) = try frame("0201060303AAFE1116AAFE20000BB81880000001000000271000") else {
            Issue.record("expected TLM")
            return
        }
        #expect(tlm.batteryVoltage == 3.0)
        #expect(tlm.temperature == 24.5)
        #expect(tlm.advertisementCount == 256)
        #expect(tlm.uptimeSeconds == 1000)
    }

    @Test func tlmTemperatureIsSigned88FixedPoint() throws {
        // Eddystone-TLM says signed 8.8; beacontools reads FD80 as 253.5 (unsigned), the spec as -2.5.
        guard case .tlm(let tlm) = try frame("0201060303AAFE1116AAFE20000000FD800000000100000002") else {
            Issue.record("expected TLM")
            return
        }
        #expect(tlm.temperature == -2.5)
        #expect(tlm.batteryVoltage == nil)
        guard case .tlm(let unsupported) = try frame("0201060303AAFE1116AAFE2000000080000000000100000002") else {
            Issue.record("expected TLM")
            return
        }
        #expect(unsupported.temperature == nil)
    }

    @Test func encryptedTLMIsRejected() {
        #expect(throws: BLEBeaconError.eddystoneTLMVersion(1)) { try frame("0201060303AAFE0516AAFE2001") }
    }
}

@Suite struct RuuviTests {
    // Official Ruuvi RAWv2 vectors (docs.ruuvi.com, data format 5). ruuvitag-ble 0.4.0's
    // DataFormat5Decoder gives for the valid one: 24.3 °C, 53.49 %, 1000.44 hPa, acc (4, -4, 1036) mg,
    // 2977 mV, 4 dBm, movement 66, sequence 205, MAC CB:B8:33:4C:88:4F.
    @Test func validVector() throws {
        let ruuvi = try BLERuuviRAWv2(manufacturerData: hex("0512FC5394C37C0004FFFC040CAC364200CDCBB8334C884F")[...])
        #expect(ruuvi.temperature == 24.3)
        #expect(ruuvi.humidity == 53.49)
        #expect(ruuvi.pressure == 100044)
        #expect(ruuvi.accelerationX == 4)
        #expect(ruuvi.accelerationY == -4)
        #expect(ruuvi.accelerationZ == 1036)
        #expect(ruuvi.batteryVoltage == 2977)
        #expect(ruuvi.txPower == 4)
        #expect(ruuvi.movementCounter == 66)
        #expect(ruuvi.sequence == 205)
        #expect(ruuvi.address == BLEAddress("CB:B8:33:4C:88:4F"))
    }

    @Test func maximumAndMinimumVectors() throws {
        // ruuvitag-ble: max 163.835 °C... it rounds to 163.84; 163.835 %, 115534 Pa, 32767 mg, 3646 mV, 20 dBm.
        let high = try BLERuuviRAWv2(manufacturerData: hex("057FFFFFFEFFFE7FFF7FFF7FFFFFDEFEFFFECBB8334C884F")[...])
        #expect(high.temperature == 163.835)
        #expect(high.humidity == 163.835)
        #expect(high.pressure == 115534)
        #expect(high.accelerationZ == 32767)
        #expect(high.batteryVoltage == 3646)
        #expect(high.txPower == 20)
        #expect(high.movementCounter == 254)
        #expect(high.sequence == 65534)
        let low = try BLERuuviRAWv2(manufacturerData: hex("058001000000008001800180010000000000CBB8334C884F")[...])
        #expect(low.temperature == -163.835)
        #expect(low.humidity == 0)
        #expect(low.pressure == 50000)
        #expect(low.accelerationX == -32767)
        #expect(low.batteryVoltage == 1600)
        #expect(low.txPower == -40)
    }

    @Test func notAvailableSentinelsLeaveReadingsOut() throws {
        // Ruuvi's "invalid values" vector. ruuvitag-ble keeps movement 255 / sequence 65535 /
        // MAC FF..FF as numbers; the Ruuvi spec calls them "not available", and so do we.
        let ruuvi = try BLERuuviRAWv2(manufacturerData: hex("058000FFFFFFFF800080008000FFFFFFFFFFFFFFFFFFFFFF")[...])
        #expect(ruuvi.temperature == nil)
        #expect(ruuvi.humidity == nil)
        #expect(ruuvi.pressure == nil)
        #expect(ruuvi.accelerationX == nil)
        #expect(ruuvi.batteryVoltage == nil)
        #expect(ruuvi.txPower == nil)
        #expect(ruuvi.movementCounter == nil)
        #expect(ruuvi.sequence == nil)
        #expect(ruuvi.address == nil)
        #expect(ruuvi.readings.isEmpty)
    }

    @Test func decoderFindsRuuviInManufacturerData() {
        let data = hex("020106 1BFF9904") + hex("0512FC5394C37C0004FFFC040CAC364200CDCBB8334C884F")
        let decoded = BLEAdvertisementDecoder().decode(data: data, address: BLEAddress("CB:B8:33:4C:88:4F")!, rssi: -80)
        #expect(decoded?.formats == .ruuvi)
        #expect(decoded?.readings.first == BLEReading(name: "temperature", unit: "°C", value: 24.3))
    }

    @Test func wrongLengthAndOtherFormatsAreCountedErrors() {
        #expect(throws: BLEBeaconError.ruuviMalformed) { try BLERuuviRAWv2(manufacturerData: hex("0512FC53")[...]) }
        let decoder = BLEAdvertisementDecoder()
        #expect(decoder.decode(data: hex("020106 05FF9904 0301"), address: BLEAddress(rawValue: 1), rssi: nil) == nil)
        #expect(decoder.counters.ruuviErrors == 1)
    }
}
