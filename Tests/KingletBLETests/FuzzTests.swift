import KingletCore
import Testing
@testable import KingletBLE

/// Seeded mutation fuzzing: valid inputs from the other tests, mutated 10,000 times, go
/// through the H4 reader, the event decoder, the scanner, the GATT client and every
/// advertisement decoder. Nothing may trap, and the reader's buffer stays bounded.
@Suite struct FuzzTests {
    static let h4Corpus: [[UInt8]] = [
        hex("040e0401030c00" + "0240200c00080004000b4b696e676c6574" + "0413050140000200"),
        hex("043e1a0201000022110038c1a40e0201060a16d2fc4002ca0903bf13c4"),
        hex("043e13010040000001563412eeffc028000000f40100" + "04050400400013"),
        hex("040f0400010d20" + "0240200900050004001b0e00ca09" + "0240200800040004001d0e0001"),
        hex("024020090005000400090312005a" + "024020090005000400010a030002" + "02402007000300040003b900"),
        hex("02402010000c0005001207080006000c000000f401" + "0240200b0007000400100100ffff0028"),
        hex("03010003AABBCC" + "040e0b01091000665544332211"),
    ]

    static let advertisementCorpus: [[UInt8]] = [
        hex("020106 0A16D2FC4002CA0903BF13"),
        hex("020106 1216D2FC") + hex("41e445f3c9962b332211006c7c4519"),
        hex("020106 1416D2FC 40 0064 015D 0C0C0B 3A01 3C0103 0F01 5D0EFE"),
        hex("0201061AFF4C000215E2C56DB5DFFB48D2B060D0F5A71096E000010002C5"),
        hex("0201060303AAFE1716AAFE00E800010203040506070809AABBCCDDEEFF0000"),
        hex("0201060303AAFE0D16AAFE10EB0367697468756200"),
        hex("0201060303AAFE1116AAFE20000BB81880000001000000271000"),
        hex("020106 1BFF9904 0512FC5394C37C0004FFFC040CAC364200CDCBB8334C884F"),
        hex("020106 0509 4B696E67 020AF4 0303AAFE"),
    ]

    static func mutate(_ input: [UInt8], _ random: inout BLETestRandom) -> [UInt8] {
        var bytes = input
        for _ in 0..<(1 + random.below(4)) {
            switch random.below(7) {
            case 0 where !bytes.isEmpty:
                bytes[random.below(bytes.count)] ^= UInt8(1) << UInt8(random.below(8))
            case 1 where !bytes.isEmpty:
                bytes[random.below(bytes.count)] = random.byte()
            case 2:
                let extra = (0..<(1 + random.below(8))).map { _ in random.byte() }
                bytes.insert(contentsOf: extra, at: random.below(bytes.count + 1))
            case 3 where !bytes.isEmpty:
                let start = random.below(bytes.count)
                bytes.removeSubrange(start..<min(bytes.count, start + 1 + random.below(6)))
            case 4 where !bytes.isEmpty:
                bytes.removeLast(random.below(bytes.count))
            case 5 where !bytes.isEmpty:
                // Interesting values for length fields.
                let values: [UInt8] = [0x00, 0x01, 0x1F, 0x20, 0x7F, 0x80, 0xFE, 0xFF]
                bytes[random.below(bytes.count)] = values[random.below(values.count)]
            default:
                let start = random.below(bytes.count + 1)
                bytes.insert(contentsOf: bytes[start...].prefix(random.below(12)), at: random.below(bytes.count + 1))
            }
        }
        return bytes
    }

    @Test func tenThousandMutatedInputsNeverTrap() throws {
        var random = BLETestRandom(state: 0x4B49_4E47_4C45_5421)
        var reader = HCIH4Reader()
        let scanner = try scanningScanner()
        let credits = HCIACLCredits(packetLength: 27, totalPackets: 4)
        var gatt = GATTClient(connectionHandle: 0x40, credits: credits)
        let decoder = BLEAdvertisementDecoder()
        let address = BLEAddress("54:48:E6:8F:80:A5")!
        try decoder.setBindKey(hex("231d39c1d7cc1ab1aee224cd096db932"), for: address)
        var eventErrors = 0
        var decodedAdvertisements = 0
        var now: Int64 = 0

        for round in 0..<10_000 {
            now += 7
            if round % 2 == 0 {
                let input = Self.mutate(Self.h4Corpus[random.below(Self.h4Corpus.count)], &random)
                var offset = 0
                while offset < input.count {
                    let end = min(input.count, offset + 1 + random.below(16))
                    reader.append(input[offset..<end])
                    scanner.receive(input[offset..<end], now: at(now))
                    offset = end
                    while let packet = reader.nextPacket() {
                        switch packet {
                        case .event(let event):
                            do throws(HCIEventError) { _ = try HCIEvent(event) } catch { eventErrors += 1 }
                        case .acl(let acl):
                            gatt.receive(acl, now: at(now))
                        }
                    }
                    #expect(reader.pendingByteCount <= 5 + 1021 + 16)
                }
                if random.below(50) == 0 {
                    _ = try? gatt.read(handle: UInt16(1 + random.below(100)), now: at(now))
                }
                _ = outgoing(gatt)
                _ = outgoing(scanner)
                _ = drain(gatt)
                _ = drain(scanner)
                gatt.tick(now: at(now))
                scanner.tick(now: at(now))
                if gatt.isClosed { gatt = GATTClient(connectionHandle: 0x40, credits: credits) }
                #expect(credits.available <= credits.totalPackets)
            } else {
                let input = Self.mutate(Self.advertisementCorpus[random.below(Self.advertisementCorpus.count)], &random)
                if decoder.decode(data: input, address: address, rssi: -50) != nil { decodedAdvertisements += 1 }
                let slice = input[min(input.count, random.below(8))...]
                _ = try? BTHome.decode(serviceData: slice, address: address, bindKey: random.below(2) == 0 ? nil : hex("231d39c1d7cc1ab1aee224cd096db932"))
                _ = try? BLEIBeacon(manufacturerData: slice)
                _ = try? BLEEddystone(serviceData: slice)
                _ = try? BLERuuviRAWv2(manufacturerData: slice)
                _ = BTHome.decodeObjects(slice)
            }
        }
        // The run exercised both the good paths and the error paths.
        #expect(reader.counters.events > 1000)
        #expect(reader.counters.garbageBytes > 0)
        #expect(eventErrors > 0)
        #expect(decoder.counters.reports == 5000)
        #expect(decodedAdvertisements > 500)
        #expect(decoder.counters.unrecognized + decoder.counters.bthomeDecryptionFailures + decoder.counters.bthomeUnknownObjects > 0)
        #expect(scanner.counters.malformedEvents + scanner.reader.counters.garbageBytes > 0)
    }
}
