/// What a slot descriptor says its slot holds.
enum SlotState: UInt8 {
    /// A record, committed with this descriptor's generation.
    case live = 1
    /// The uid was deleted at this generation; older entries for it no longer count.
    case tombstone = 2
}

/// One entry of the descriptor table, decoded. The table is separate from the record area so
/// opening touches 64 bytes per slot, not the slots themselves.
struct SlotDescriptor {
    var generation: UInt64
    var recordLength: Int
    var recordCRC: UInt32
    var state: SlotState
    var kind: RecordKind
    var uidLength: Int

    /// What the descriptor at `entry` holds: nothing, something unreadable, or an entry.
    static func decode(_ entry: UnsafeRawPointer, slotSize: Int) -> DescriptorReading {
        typealias D = CacheLayout.Descriptor
        let bytes = UnsafeRawBufferPointer(start: entry, count: CacheLayout.descriptorSize)
        if !bytes.contains(where: { $0 != 0 }) { return .empty }
        let computed = CRC32C.checksum(UnsafeRawBufferPointer(start: entry, count: D.crc))
        if computed != entry.littleEndian32(at: D.crc) { return .bad(.descriptorChecksum) }
        let generation = entry.littleEndian64(at: D.generation)
        if generation == 0 { return .bad(.descriptorField(field: "generation")) }
        guard let state = SlotState(rawValue: entry.byte(at: D.state)) else { return .bad(.descriptorField(field: "state")) }
        guard let kind = RecordKind(rawValue: entry.byte(at: D.kind)) else { return .bad(.descriptorField(field: "kind")) }
        let uidLength = Int(entry.byte(at: D.uidLength))
        if uidLength == 0 || uidLength > CacheLayout.uidCapacity { return .bad(.descriptorField(field: "uid length")) }
        let recordLength = Int(entry.littleEndian32(at: D.recordLength))
        switch state {
        case .live:
            if recordLength < CacheLayout.Record.headerSize || recordLength > slotSize {
                return .bad(.descriptorField(field: "record length"))
            }
        case .tombstone:
            if recordLength != 0 { return .bad(.descriptorField(field: "record length")) }
        }
        return .entry(SlotDescriptor(generation: generation, recordLength: recordLength,
                                     recordCRC: entry.littleEndian32(at: D.recordCRC), state: state, kind: kind,
                                     uidLength: uidLength))
    }

    /// The uid bytes of the descriptor at `entry` (valid once `decode` returned an entry).
    static func uid(_ entry: UnsafeRawPointer, length: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: entry + CacheLayout.Descriptor.uid, count: length)
    }

    /// Writes the descriptor, uid and CRC at `entry`. The CRC goes last in memory order, but
    /// nothing relies on that: a crash or a torn sector leaves a descriptor whose CRC fails.
    func encode(uid: UnsafeRawBufferPointer, to entry: UnsafeMutableRawPointer) {
        typealias D = CacheLayout.Descriptor
        entry.storeLittleEndian(generation, at: D.generation)
        entry.storeLittleEndian(UInt32(recordLength), at: D.recordLength)
        entry.storeLittleEndian(recordCRC, at: D.recordCRC)
        entry.storeByte(state.rawValue, at: D.state)
        entry.storeByte(kind.rawValue, at: D.kind)
        entry.storeByte(UInt8(uid.count), at: D.uidLength)
        entry.storeByte(0, at: D.reserved)
        (entry + D.uid).initializeMemory(as: UInt8.self, repeating: 0, count: CacheLayout.uidCapacity)
        if let base = uid.baseAddress { (entry + D.uid).copyMemory(from: base, byteCount: uid.count) }
        let crc = CRC32C.checksum(UnsafeRawBufferPointer(start: UnsafeRawPointer(entry), count: D.crc))
        entry.storeLittleEndian(crc, at: D.crc)
    }
}

enum DescriptorReading {
    /// All zero: never written.
    case empty
    /// Unreadable; the slot is skipped and counted.
    case bad(BadSlotReason)
    case entry(SlotDescriptor)
}
