import Testing
@testable import KingletBLE

/// Expected values below come from feeding the same bytes to bthome-ble 3.25.0's own parser
/// (`BTHomeBluetoothDeviceData().update(...)`, PyPI `bthome-ble`), unless a comment says otherwise.
@Suite struct BTHomeTests {
    let address = BLEAddress("54:48:E6:8F:80:A5")!

    private func readings(_ serviceData: String, key: [UInt8]? = nil) throws -> [BLEReading] {
        try BTHome.decode(serviceData: hex(serviceData)[...], address: address, bindKey: key).readings
    }

    @Test func plainTemperatureAndHumidity() throws {
        // The bthome.io example: 40 02 CA 09 03 BF 13.
        let packet = try BTHome.decode(serviceData: hex("40 02CA09 03BF13")[...], address: address, bindKey: nil)
        #expect(packet.deviceInfo.version == 2)
        #expect(!packet.deviceInfo.encrypted)
        #expect(packet.readings == [BLEReading(name: "temperature", unit: "°C", value: 25.06),
                                    BLEReading(name: "humidity", unit: "%", value: 50.55)])
        #expect(packet.problem == nil)
    }

    @Test func packetIDAndBattery() throws {
        let packet = try BTHome.decode(serviceData: hex("40 0064 015D")[...], address: address, bindKey: nil)
        #expect(packet.packetID == 100)
        #expect(packet.readings[1] == BLEReading(name: "battery", unit: "%", value: 93))
    }

    @Test func pressureIlluminanceVoltage() throws {
        // bthome-ble: pressure 998.59, illuminance 427.71, voltage 2.828.
        #expect(try readings("40 04138601 0513A700 0C0C0B") == [
            BLEReading(name: "pressure", unit: "hPa", value: 998.59),
            BLEReading(name: "illuminance", unit: "lx", value: 427.71),
            BLEReading(name: "voltage", unit: "V", value: 2.828),
        ])
    }

    @Test func powerEnergyCO2Moisture() throws {
        // bthome-ble: power 655.36, energy 1346.067, CO2 1042, moisture 30.74 / 30, humidity 64.
        #expect(try readings("40 0B000001 0A138A14") == [
            BLEReading(name: "power", unit: "W", value: 655.36),
            BLEReading(name: "energy", unit: "kWh", value: 1346.067),
        ])
        #expect(try readings("40 121204") == [BLEReading(name: "co2", unit: "ppm", value: 1042)])
        #expect(try readings("40 14020C") == [BLEReading(name: "moisture", unit: "%", value: 30.74)])
        #expect(try readings("40 2F1E") == [BLEReading(name: "moisture", unit: "%", value: 30)])
        #expect(try readings("40 2E40") == [BLEReading(name: "humidity", unit: "%", value: 64)])
    }

    @Test func tenthDegreeTemperatureAndSignedCurrent() throws {
        // bthome-ble: 0x45 FF00 -> 25.5 °C; 0x5D 0EFE -> -0.498 A; 0x02 F0F8 -> -18.08 °C.
        #expect(try readings("40 45FF00") == [BLEReading(name: "temperature", unit: "°C", value: 25.5)])
        #expect(try readings("40 5D0EFE") == [BLEReading(name: "current", unit: "A", value: -0.498)])
        #expect(try readings("40 02F0F8") == [BLEReading(name: "temperature", unit: "°C", value: -18.08)])
    }

    @Test func repeatedObjectsGetNumberedNames() throws {
        // bthome-ble names these temperature_1 (27.5) and temperature_2 (25.06).
        #expect(try readings("40 451301 02CA09") == [BLEReading(name: "temperature", unit: "°C", value: 27.5),
                                                     BLEReading(name: "temperature_2", unit: "°C", value: 25.06)])
    }

    @Test func binarySensorsAndEvents() throws {
        // bthome-ble: generic True, opening True, door True, motion True, occupancy True, window False.
        #expect(try readings("40 0F01 1101 1A01 2101 2301 2D00") == [
            BLEReading(name: "generic_boolean", unit: "", value: 1),
            BLEReading(name: "opening", unit: "", value: 1),
            BLEReading(name: "door", unit: "", value: 1),
            BLEReading(name: "motion", unit: "", value: 1),
            BLEReading(name: "occupancy", unit: "", value: 1),
            BLEReading(name: "window", unit: "", value: 0),
        ])
        // bthome-ble: button "press"; dimmer "rotate_left" by 3 steps.
        #expect(try readings("40 3A01") == [BLEReading(name: "button", unit: "", value: 1)])
        #expect(try readings("40 3C0103") == [BLEReading(name: "dimmer", unit: "", value: -3)])
    }

    @Test func unknownObjectStopsDecodingAndKeepsEarlierReadings() throws {
        // bthome-ble also stops at 0xFF and keeps 25.06 °C.
        let packet = try BTHome.decode(serviceData: hex("40 02CA09 FF01 03BF13")[...], address: address, bindKey: nil)
        #expect(packet.readings == [BLEReading(name: "temperature", unit: "°C", value: 25.06)])
        #expect(packet.problem == .unknownObject(id: 0xFF))

        let decoder = BLEAdvertisementDecoder()
        let decoded = decoder.decode(data: hex("020106 0A16D2FC 4002CA09FF0103"), address: address, rssi: nil)
        #expect(decoded?.readings == [BLEReading(name: "temperature", unit: "°C", value: 25.06)])
        #expect(decoder.counters.bthomeUnknownObjects == 1)
        #expect(decoder.lastProblem == "BTHome object id 0xFF is unknown; decoding stopped")
    }

    @Test func truncatedObjectIsReported() throws {
        let packet = try BTHome.decode(serviceData: hex("40 02CA09 03BF")[...], address: address, bindKey: nil)
        #expect(packet.readings.count == 1)
        #expect(packet.problem == .truncatedObject(id: 0x03))
    }

    @Test func otherVersionsAreRejected() {
        #expect(throws: BTHomeError.unsupportedVersion(1)) {
            try BTHome.decode(serviceData: hex("20 02CA09")[...], address: BLEAddress(rawValue: 1), bindKey: nil)
        }
        #expect(throws: BTHomeError.empty) { try BTHome.decode(serviceData: ArraySlice<UInt8>(), address: BLEAddress(rawValue: 1), bindKey: nil) }
    }

    // bthome-ble's own example (bthome_ble/bthome_v2_encryption.py): bind key
    // 231d39c1d7cc1ab1aee224cd096db932, MAC 54:48:E6:8F:80:A5, counter 1122867, plain
    // 02CA0903BF13; its encrypt_payload gave service data d2fc 41 e445f3c9962b 33221100 6c7c4519,
    // and its parser decrypts that to 25.06 °C / 50.55 %.
    static let bindKey = hex("231d39c1d7cc1ab1aee224cd096db932")
    static let encrypted = "41 e445f3c9962b 33221100 6c7c4519"

    @Test func encryptedVectorFromBTHomeBLEDecrypts() throws {
        let packet = try BTHome.decode(serviceData: hex(Self.encrypted)[...], address: address, bindKey: Self.bindKey)
        #expect(packet.deviceInfo.encrypted)
        #expect(packet.counter == 1_122_867)
        #expect(packet.readings == [BLEReading(name: "temperature", unit: "°C", value: 25.06),
                                    BLEReading(name: "humidity", unit: "%", value: 50.55)])
    }

    @Test func ourEncryptionMatchesBTHomeBLE() {
        let sealed = BTHome.encrypt(objects: hex("02CA0903BF13"), address: address, counter: 1_122_867, bindKey: Self.bindKey)
        #expect(sealed == hex(Self.encrypted))
    }

    @Test func includedMACIsUsedForTheNonce() throws {
        // Made with `cryptography`'s AESCCM (nonce = MAC + D2FC + 43 + counter) and accepted by
        // bthome-ble's parser from a different advertiser address: packet id 100, battery 85 %, 25.06 °C.
        let advertiser = BLEAddress("C0:FF:EE:00:00:01")!
        let packet = try BTHome.decode(serviceData: hex("43a5808fe6485453723e9cf2f5d10700000006a16a9f")[...],
                                       address: advertiser, bindKey: Self.bindKey)
        #expect(packet.includedAddress == address)
        #expect(packet.packetID == 100)
        #expect(packet.readings.map(\.value) == [100, 85, 25.06])
    }

    @Test func wrongKeyOrTamperedDataFailsAndIsCounted() throws {
        #expect(throws: BTHomeError.decryptionFailed) {
            try BTHome.decode(serviceData: hex(Self.encrypted)[...], address: address, bindKey: [UInt8](repeating: 0, count: 16))
        }
        var tampered = hex(Self.encrypted)
        tampered[2] ^= 0x01
        #expect(throws: BTHomeError.decryptionFailed) {
            try BTHome.decode(serviceData: tampered[...], address: address, bindKey: Self.bindKey)
        }
        #expect(throws: BTHomeError.missingBindKey) {
            try BTHome.decode(serviceData: hex(Self.encrypted)[...], address: address, bindKey: nil)
        }

        let decoder = BLEAdvertisementDecoder()
        try decoder.setBindKey(hex: "00112233445566778899aabbccddeeff", for: address)
        let data = hex("02 0106 12 16 D2FC") + hex(Self.encrypted)
        #expect(decoder.decode(data: data, address: address, rssi: -70) == nil)
        #expect(decoder.counters.bthomeDecryptionFailures == 1)
        try decoder.setBindKey(Self.bindKey, for: address)
        let decoded = decoder.decode(data: data, address: address, rssi: -70)
        #expect(decoded?.readings.map(\.name) == ["temperature", "humidity", "rssi"])
    }

    @Test func encryptedEmptyPayloadDecryptsToNoReadings() throws {
        // `cryptography`'s AESCCM over an empty plaintext, counter 5: only counter and MIC remain.
        let packet = try BTHome.decode(serviceData: hex("41 05000000 baaf2c05")[...], address: address, bindKey: Self.bindKey)
        #expect(packet.counter == 5)
        #expect(packet.readings.isEmpty)
        #expect(BTHome.encrypt(objects: [], address: address, counter: 5, bindKey: Self.bindKey) == hex("4105000000baaf2c05"))
    }

    @Test func bindKeyMustBeSixteenBytes() {
        let decoder = BLEAdvertisementDecoder()
        #expect(throws: BTHomeError.invalidBindKey) { try decoder.setBindKey(hex: "0011", for: BLEAddress(rawValue: 1)) }
        #expect(throws: BTHomeError.invalidBindKey) { try decoder.setBindKey(hex: "zz", for: BLEAddress(rawValue: 1)) }
    }
}
