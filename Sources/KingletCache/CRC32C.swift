/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78, initial value and final XOR
/// 0xFFFFFFFF), the checksum iSCSI, ext4 and Btrfs use. Check value:
/// CRC32C("123456789") = 0xE3069283.
public enum CRC32C {
    /// The checksum of `bytes`.
    public static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        finish(update(start, bytes))
    }

    /// The checksum of an array of bytes.
    public static func checksum(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBytes { checksum($0) }
    }

    /// The running value before any byte; feed it to `update` and close with `finish`.
    public static let start: UInt32 = 0xFFFF_FFFF

    /// Folds `bytes` into a running value.
    public static func update(_ running: UInt32, _ bytes: UnsafeRawBufferPointer) -> UInt32 {
        var crc = running
        table.withUnsafeBufferPointer { entries in
            for byte in bytes {
                crc = entries[Int(UInt8(truncatingIfNeeded: crc) ^ byte)] ^ (crc >> 8)
            }
        }
        return crc
    }

    /// The checksum of everything fed to `update`.
    public static func finish(_ running: UInt32) -> UInt32 { running ^ 0xFFFF_FFFF }

    /// One entry per byte value: the byte's contribution after eight reflected shifts.
    private static let table: [UInt32] = {
        var entries = [UInt32](repeating: 0, count: 256)
        for value in 0..<256 {
            var crc = UInt32(value)
            for _ in 0..<8 {
                crc = (crc & 1) != 0 ? (crc >> 1) ^ 0x82F6_3B78 : crc >> 1
            }
            entries[value] = crc
        }
        return entries
    }()
}
