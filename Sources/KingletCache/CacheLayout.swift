/// Byte layout of the cache file (docs/cache-format.md). Every integer is little-endian.
enum CacheLayout {
    static let formatVersion: UInt32 = 1
    /// "KINGLETC".
    static let magic: [UInt8] = [0x4B, 0x49, 0x4E, 0x47, 0x4C, 0x45, 0x54, 0x43]
    /// The header sits alone in the first 4 KiB, which is never written after creation.
    static let headerAreaSize = 4096

    enum Header {
        static let size = 64
        static let magic = 0
        static let version = 8
        static let headerSize = 12
        static let baseGeneration = 16
        static let slotCount = 24
        static let slotSize = 28
        static let descriptorSize = 32
        static let descriptorTableOffset = 36
        static let recordAreaOffset = 40
        static let fileLength = 48
        static let reserved = 56
        static let crc = 60
    }

    static let descriptorSize = 64
    /// Uid bytes a descriptor holds. Kubernetes uids are 36-byte UUIDs.
    static let uidCapacity = 40

    enum Descriptor {
        static let generation = 0
        static let recordLength = 8
        static let recordCRC = 12
        static let state = 16
        static let kind = 17
        static let uidLength = 18
        static let reserved = 19
        static let uid = 20
        static let crc = 60
    }

    /// "KREC".
    static let recordMagic: UInt32 = 0x4345_524B

    enum Record {
        static let headerSize = 48
        static let magic = 0
        static let crc = 4
        /// The record CRC covers every byte from here to the record's end.
        static let checkedFrom = 8
        static let generation = 8
        static let length = 16
        static let kind = 20
        static let reserved = 21
        static let uidLength = 22
        static let namespaceLength = 24
        static let nameLength = 26
        static let resourceVersionLength = 28
        static let reserved2 = 30
        static let specHash = 32
        static let specLength = 40
        static let statusLength = 44
    }

    /// Longest namespace, name or resourceVersion (a 16-bit length).
    static let shortFieldLimit = 65_535
}

/// Little-endian loads and stores at byte offsets of a mapped region.
extension UnsafeRawPointer {
    func littleEndian64(at offset: Int) -> UInt64 { UInt64(littleEndian: loadUnaligned(fromByteOffset: offset, as: UInt64.self)) }
    func littleEndian32(at offset: Int) -> UInt32 { UInt32(littleEndian: loadUnaligned(fromByteOffset: offset, as: UInt32.self)) }
    func littleEndian16(at offset: Int) -> UInt16 { UInt16(littleEndian: loadUnaligned(fromByteOffset: offset, as: UInt16.self)) }
    func byte(at offset: Int) -> UInt8 { load(fromByteOffset: offset, as: UInt8.self) }
}

extension UnsafeMutableRawPointer {
    func storeLittleEndian(_ value: UInt64, at offset: Int) { storeBytes(of: value.littleEndian, toByteOffset: offset, as: UInt64.self) }
    func storeLittleEndian(_ value: UInt32, at offset: Int) { storeBytes(of: value.littleEndian, toByteOffset: offset, as: UInt32.self) }
    func storeLittleEndian(_ value: UInt16, at offset: Int) { storeBytes(of: value.littleEndian, toByteOffset: offset, as: UInt16.self) }
    func storeByte(_ value: UInt8, at offset: Int) { storeBytes(of: value, toByteOffset: offset, as: UInt8.self) }
}
