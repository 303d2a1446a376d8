/// The file header: written once at creation, never again, so no commit can tear it.
struct CacheHeader: Equatable {
    var geometry: CacheGeometry
    /// Every entry's generation is above this. A new file starts at 0; a file rebuilt from
    /// another (a future compaction or resize) starts at the old file's highest generation,
    /// so a uid's generations never go backwards.
    var baseGeneration: UInt64

    /// The 64 header bytes.
    func encoded() -> [UInt8] {
        typealias H = CacheLayout.Header
        var bytes = [UInt8](repeating: 0, count: H.size)
        bytes.withUnsafeMutableBytes { buffer in
            let base = buffer.baseAddress!
            for (offset, byte) in CacheLayout.magic.enumerated() { base.storeByte(byte, at: H.magic + offset) }
            base.storeLittleEndian(CacheLayout.formatVersion, at: H.version)
            base.storeLittleEndian(UInt32(H.size), at: H.headerSize)
            base.storeLittleEndian(baseGeneration, at: H.baseGeneration)
            base.storeLittleEndian(UInt32(geometry.slotCount), at: H.slotCount)
            base.storeLittleEndian(UInt32(geometry.slotSize), at: H.slotSize)
            base.storeLittleEndian(UInt32(CacheLayout.descriptorSize), at: H.descriptorSize)
            base.storeLittleEndian(UInt32(geometry.descriptorTableOffset), at: H.descriptorTableOffset)
            base.storeLittleEndian(UInt64(geometry.recordAreaOffset), at: H.recordAreaOffset)
            base.storeLittleEndian(UInt64(geometry.fileLength), at: H.fileLength)
            let crc = CRC32C.checksum(UnsafeRawBufferPointer(start: base, count: H.crc))
            base.storeLittleEndian(crc, at: H.crc)
        }
        return bytes
    }

    /// Reads a header from the first bytes of a file (`bytes` may be shorter than a header
    /// when the file is).
    static func decode(_ bytes: UnsafeRawBufferPointer, path: String) throws(CacheError) -> CacheHeader {
        typealias H = CacheLayout.Header
        guard bytes.count >= CacheLayout.magic.count,
              bytes.prefix(CacheLayout.magic.count).elementsEqual(CacheLayout.magic) else {
            throw .notACacheFile(path: path)
        }
        guard bytes.count >= H.size, let base = bytes.baseAddress else {
            throw .corruptHeader(path: path, reason: "the file is " + String(bytes.count) + " bytes, shorter than the header")
        }
        let version = base.littleEndian32(at: H.version)
        if version != CacheLayout.formatVersion { throw .unsupportedVersion(path: path, version: version) }
        if CRC32C.checksum(UnsafeRawBufferPointer(start: base, count: H.crc)) != base.littleEndian32(at: H.crc) {
            throw .corruptHeader(path: path, reason: "header CRC mismatch")
        }
        func field(_ condition: Bool, _ name: String) throws(CacheError) {
            if !condition { throw .corruptHeader(path: path, reason: "unexpected " + name) }
        }
        try field(base.littleEndian32(at: H.headerSize) == UInt32(H.size), "header size")
        try field(base.littleEndian32(at: H.descriptorSize) == UInt32(CacheLayout.descriptorSize), "descriptor size")
        try field(base.littleEndian32(at: H.descriptorTableOffset) == UInt32(CacheLayout.headerAreaSize), "descriptor table offset")
        let slotCount = base.littleEndian32(at: H.slotCount)
        let slotSize = base.littleEndian32(at: H.slotSize)
        // Bounded before conversion so Int(...) cannot trap on a 32-bit Int.
        try field(slotCount <= UInt32(CacheGeometry.maximumSlotCount) && slotSize <= UInt32(CacheGeometry.maximumSlotSize), "geometry")
        let geometry = CacheGeometry(slotCount: Int(slotCount), slotSize: Int(slotSize))
        if let problem = geometry.problem { throw .corruptHeader(path: path, reason: problem) }
        try field(base.littleEndian64(at: H.recordAreaOffset) == UInt64(geometry.recordAreaOffset), "record area offset")
        try field(base.littleEndian64(at: H.fileLength) == UInt64(geometry.fileLength), "file length")
        return CacheHeader(geometry: geometry, baseGeneration: base.littleEndian64(at: H.baseGeneration))
    }
}
