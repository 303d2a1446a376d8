import KingletCache
import Testing

@Suite struct CRC32CTests {
    @Test func standardCheckValue() {
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
    }

    // RFC 3720 (iSCSI), appendix B.4.
    @Test func iscsiTestVectors() {
        #expect(CRC32C.checksum([UInt8](repeating: 0, count: 32)) == 0x8A91_36AA)
        #expect(CRC32C.checksum([UInt8](repeating: 0xFF, count: 32)) == 0x62A8_AB43)
        #expect(CRC32C.checksum((0..<32).map { UInt8($0) }) == 0x46DD_794E)
    }

    @Test func incrementalEqualsOneShot() {
        let bytes = Array("The quick brown fox jumps over the lazy dog".utf8)
        let running = bytes[0..<10].withUnsafeBytes { CRC32C.update(CRC32C.start, $0) }
        let whole = bytes[10...].withUnsafeBytes { CRC32C.finish(CRC32C.update(running, $0)) }
        #expect(whole == CRC32C.checksum(bytes))
        #expect(CRC32C.checksum([]) == 0)
    }
}
