import Testing
@testable import KingletSimBLE

@Suite struct AdvertisingTests {
    @Test func bthomeObjectsEncodeAsTheFormatsExample() {
        // bthome.io: 40 02 CA 09 03 BF 13 is 25.06 °C and 50.55 %.
        let objects = BTHome.objects([(.humidity, 50.55), (.temperature, 25.06)])
        #expect(objects == [0x02, 0xCA, 0x09, 0x03, 0xBF, 0x13])
        #expect(BTHomeObject.pressure.encode(1013.25) == [0x04, 0xCD, 0x8B, 0x01])
        #expect(BTHomeObject.temperature.encode(-12.34) == [0x02, 0x2E, 0xFB])
        #expect(BTHomeObject.battery.encode(101) != nil && BTHomeObject.battery.encode(256) == nil)
        #expect(BTHomeObject.powerOn.encode(2) == nil)
    }

    @Test func bthomeEncryptionMatchesAnIndependentAESCCM() throws {
        // Key, MAC and counter of bthome.io's encryption example; the expected octets are
        // pyca/cryptography's AESCCM(tag_length=4) over the same nonce and plaintext.
        let key = parseHex("231d39c1d7cc1ab1aee224cd096db932")!
        let data = try BTHome.serviceData(objects: [0x02, 0xCA, 0x09, 0x03, 0xBF, 0x13], address: BDAddress("54:48:E6:8F:80:A5")!,
                                          bindKey: key, counter: 0x3322_1100, trigger: false)
        #expect(data == parseHex("d2fc41 a47266c95f73 00112233 78237214")!)
        let plain = try AESCCM.open(key: key, nonce: parseHex("5448e68f80a5d2fc4100112233")!,
                                    ciphertext: parseHex("a47266c95f73")!, tag: parseHex("78237214")!)
        #expect(plain == [0x02, 0xCA, 0x09, 0x03, 0xBF, 0x13])
        let forged = try AESCCM.open(key: key, nonce: parseHex("5448e68f80a5d2fc4100112233")!,
                                     ciphertext: parseHex("a47266c95f74")!, tag: parseHex("78237214")!)
        #expect(forged == nil)
    }

    @Test func ruuviRAWv2MatchesThePublishedValidVector() {
        // docs.ruuvi.com, data format 5, "valid data" test vector.
        let s = RuuviRAWv2.Sample(temperature: 24.3, humidity: 53.49, pressure: 100_044, acceleration: [0.004, -0.004, 1.036],
                                  batteryVolts: 2.977, txPower: 4, movementCounter: 66, sequence: 205)
        let data = RuuviRAWv2.manufacturerData(s, address: BDAddress("CB:B8:33:4C:88:4F")!)
        #expect(data == [0x99, 0x04] + parseHex("0512FC5394C37C0004FFFC040CAC364200CDCBB8334C884F")!)
    }

    @Test func iBeaconLayoutIsAppleTypeLengthUUIDMajorMinorPower() {
        let d = IBeacon.manufacturerData(uuid: BLEUUID("e2c56db5-dffb-48d2-b060-d0f5a71096e0")!, major: 1, minor: 42,
                                         measuredPower: -59)
        #expect(d == parseHex("4c00 0215 e2c56db5dffb48d2b060d0f5a71096e0 0001 002a c5")!)
    }

    @Test func eddystoneURLUsesSchemePrefixesAndExpansionCodes() {
        #expect(Eddystone.encodeURL("https://www.example.com/") == [0x01] + Array("example".utf8) + [0x00])
        #expect(Eddystone.encodeURL("http://goo.gl/S6zT6P") == [0x02] + Array("goo.gl/S6zT6P".utf8))
        #expect(Eddystone.encodeURL("https://a.org") == [0x03, 0x61, 0x08])
        #expect(Eddystone.encodeURL("ftp://x") == nil)
        #expect(Eddystone.encodeURL("https://this-url-is-far-too-long.example") == nil)
    }

    @Test func eddystoneTLMIsBigEndianWithEightDotEightTemperature() {
        let f = Eddystone.tlmFrame(batteryMillivolts: 3012, temperature: 20.5, advertisingCount: 258, tenthsOfSecondsSincePowerUp: 70)
        #expect(f == parseHex("20 00 0bc4 1480 00000102 00000046")!)
        #expect(Eddystone.tlmFrame(batteryMillivolts: 0, temperature: nil, advertisingCount: 0, tenthsOfSecondsSincePowerUp: 0)[4...5]
            == [0x80, 0x00])
    }

    @Test func aNameThatDoesNotFitTheAdvertisementMovesToTheScanResponse() throws {
        let config = try SimulationConfig.parse("""
            {"devices": [{"address": "A4:C1:38:00:00:02", "localName": "A rather long name",
              "bthome": {"bindKey": "231d39c1d7cc1ab1aee224cd096db932", "measurements": [{"type": "temperature", "value": 1}]}}]}
            """)
        let p = config.devices[0]
        let ad = try AdvertisingBuilder.build(p, sample: PeripheralSample(p), advertisingCount: 0, tenths: 0, eddystoneFrame: 0)
        #expect(ad.type == .advScanInd)
        #expect(ad.scanResponse == [19, 0x09] + Array("A rather long name".utf8))
        #expect(ad.data.count <= 31)
    }

    @Test func driftStaysWithinItsBoundsAndStartsAtTheConfiguredValue() {
        var rng = SimRandom(seed: 3)
        var d = Drifter(DriftSpec(value: 20, drift: 0.5))
        #expect(d.current == 20)
        var values: Set<Double> = []
        for _ in 0..<1000 {
            d.step(&rng)
            #expect(d.current >= 19.5 && d.current <= 20.5)
            values.insert(d.current)
        }
        #expect(values.count > 100)
    }
}
