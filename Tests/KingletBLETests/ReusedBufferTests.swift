import Testing
@testable import KingletBLE

/// The advertisement path allocates nothing in steady state: its buffers are reused and its
/// values are inline. These pin what that relies on, and that sharing never changes a value.
@Suite struct ReusedBufferTests {
    let address = BLEAddress("54:48:E6:8F:80:A5")!

    private func report(_ data: String, rssi: Int8? = -60) -> HCIAdvertisingReport {
        HCIAdvertisingReport(eventType: 0, addressType: 0, address: address, data: BLEInlineBytes(hex(data))!, rssi: rssi)
    }

    private func readingsAddress(_ decoded: BLEDecodedAdvertisement?) -> UnsafePointer<BLEReading>? {
        decoded?.readings.withUnsafeBufferPointer { $0.baseAddress }
    }

    @Test func decodingAgainRefillsTheSameReadingsBuffer() {
        let decoder = BLEAdvertisementDecoder()
        let first = readingsAddress(decoder.decode(report("020106 0A16D2FC 4002CA0903BF13")))
        let decoded = decoder.decode(report("020106 0A16D2FC 4002CB0903C013"))
        #expect(first != nil)
        #expect(readingsAddress(decoded) == first)
        #expect(decoded?.readings == [BLEReading(name: "temperature", unit: "°C", value: 25.07),
                                      BLEReading(name: "humidity", unit: "%", value: 50.56),
                                      BLEReading(name: "rssi", unit: "dBm", value: -60)])
    }

    @Test func aDecodedAdvertisementKeptAcrossTheNextDecodeIsUnchanged() {
        let decoder = BLEAdvertisementDecoder()
        let kept = decoder.decode(report("020106 0A16D2FC 4002CA0903BF13 0609 477265656E"))
        _ = decoder.decode(report("0201060303AAFE0D16AAFE10EB0367697468756200", rssi: nil))
        #expect(kept?.readings.map(\.name) == ["temperature", "humidity", "rssi"])
        #expect(kept?.readings.first?.value == 25.06)
        #expect(kept?.localName == "Green")
        #expect(kept?.formats == .bthome)
    }

    @Test func eddystoneURLThroughTheDecoderGivesTxPowerAndCountsReservedBytes() {
        let decoder = BLEAdvertisementDecoder()
        let decoded = decoder.decode(data: hex("0201060303AAFE0D16AAFE10EB0367697468756200"), address: address, rssi: nil)
        #expect(decoded?.formats == .eddystone)
        #expect(decoded?.readings == [BLEReading(name: "tx_power", unit: "dBm", value: -21)])
        #expect(decoder.decode(data: hex("0201060303AAFE0816AAFE10EB03610E"), address: address, rssi: nil) == nil)
        #expect(decoder.counters.eddystoneErrors == 1)
        #expect(decoder.lastProblem == "Eddystone URL holds reserved byte 0x0E")
    }

    @Test func repeatedBTHomeNamesAreNumberedWithoutSpellingThemOut() throws {
        let decoder = BLEAdvertisementDecoder()
        let decoded = try #require(decoder.decode(report("020106 0A16D2FC 40451301 02CA09", rssi: nil)))
        let second = decoded.readings[1]
        #expect(second.baseName == "temperature")
        #expect(second.occurrence == 2)
        #expect(second.name == "temperature_2")
        #expect(second == BLEReading(name: "temperature_2", unit: "°C", value: 25.06))
        #expect(second.hasName("temperature_2"))
        #expect(!second.hasName("temperature"))
        #expect(!second.hasName("temperature_02"))
        #expect(!second.hasName("temperature_3"))
        #expect(!second.hasName("temperature_2x"))
        #expect(!second.hasName("temperature_"))
        #expect(!second.hasName("humidity_2"))
        #expect(decoded.readings[0].hasName("temperature"))
        #expect(!decoded.readings[0].hasName("temperature_1"))
        #expect(BLEReading(name: "temperature_2", unit: "°C", value: 1).hasName("temperature_2"))
    }

    @Test func oneDecryptorOpensPacketAfterPacketEvenAfterAFailure() {
        let decryptor = BLEAESCCMDecryptor()
        let key = BTHomeTests.bindKey
        let nonce = BTHome.nonce(address: address, deviceInfo: 0x41, counter: hex("33221100"))
        let ciphertext = hex("e445f3c9962b")[...]
        let tag = hex("6c7c4519")[...]
        #expect(decryptor.open(key: key, nonce: nonce, ciphertext: ciphertext, tag: tag).map(Array.init) == hex("02CA0903BF13"))
        #expect(decryptor.open(key: [UInt8](repeating: 0, count: 16), nonce: nonce, ciphertext: ciphertext, tag: tag) == nil)
        #expect(decryptor.open(key: key, nonce: nonce, ciphertext: ciphertext, tag: hex("6c7c4518")[...]) == nil)
        #expect(decryptor.open(key: key, nonce: nonce, ciphertext: ciphertext, tag: tag).map(Array.init) == hex("02CA0903BF13"))
        // No ciphertext at all: the tag is still checked.
        let emptyNonce = BTHome.nonce(address: address, deviceInfo: 0x41, counter: hex("05000000"))
        #expect(decryptor.open(key: key, nonce: emptyNonce, ciphertext: [], tag: hex("baaf2c05")[...]) == [])
        #expect(decryptor.open(key: key, nonce: emptyNonce, ciphertext: [], tag: hex("baaf2c06")[...]) == nil)
        #expect(decryptor.open(key: key, nonce: nonce, ciphertext: ciphertext, tag: tag.prefix(3)) == nil)
    }

    @Test func aKeptEventPacketIsUnchangedByTheNextOne() {
        var reader = HCIH4Reader()
        reader.append(hex("040e0401030c00" + "0413050140000200"))
        let first = reader.nextPacket()
        let second = reader.nextPacket()
        #expect(first == .event(HCIEventPacket(code: 0x0E, parameters: hex("01030c00"))))
        #expect(second == .event(HCIEventPacket(code: 0x13, parameters: hex("0140000200"))))
    }

    @Test func severalReportsInOneEventComeOutInOrder() throws {
        // Two reports, one after the other: ADV_IND with flags, then a SCAN_RSP with no data.
        let packet = HCIEventPacket(code: 0x3E, parameters: hex("02 02" + "00 00 221100 38C1A4 03 020106 C4" + "04 01 665544 332211 00 7F"))
        guard case .leAdvertisingReports(let reports) = try HCIEvent(packet) else {
            Issue.record("not a report")
            return
        }
        #expect(reports.count == 2)
        let all = Array(reports)
        #expect(all.map(\.address) == [BLEAddress("A4:C1:38:00:11:22")!, BLEAddress("11:22:33:44:55:66")!])
        #expect(all[0].data == BLEInlineBytes(hex("020106")))
        #expect(all[0].rssi == -60)
        #expect(all[1].isScanResponse)
        #expect(all[1].data.isEmpty)
        #expect(all[1].rssi == nil)
        // Trailing bytes after the last report spoil the whole event.
        #expect(throws: HCIEventError.badLength(code: 0x3E)) {
            try HCIEvent(HCIEventPacket(code: 0x3E, parameters: packet.parameters + [0x00]))
        }
    }

    @Test func inlineBytesHoldAtMost31() {
        #expect(BLEInlineBytes([UInt8](repeating: 7, count: 31))?.count == 31)
        #expect(BLEInlineBytes([UInt8](repeating: 7, count: 32)) == nil)
        var bytes = BLEInlineBytes()
        bytes.append(0xAB)
        bytes.append(contentsOf: [0x01, 0x02])
        #expect(Array(bytes) == [0xAB, 0x01, 0x02])
        #expect(bytes == BLEInlineBytes(hex("AB0102")))
        #expect(bytes != BLEInlineBytes(hex("AB01")))
        #expect(bytes.description == "AB0102")
        #expect(bytes.withUnsafeBufferPointer { Array($0) } == [0xAB, 0x01, 0x02])
    }
}
