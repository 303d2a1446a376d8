/// The fields of a record to write, as borrowed bytes.
struct RecordFields {
    var kind: RecordKind
    var uid: UnsafeRawBufferPointer
    var namespace: UnsafeRawBufferPointer
    var name: UnsafeRawBufferPointer
    var resourceVersion: UnsafeRawBufferPointer
    var specHash: UInt64
    var spec: UnsafeRawBufferPointer
    var status: UnsafeRawBufferPointer

    var size: Int {
        RecordEncoding.size(uid: uid.count, namespace: namespace.count, name: name.count,
                            resourceVersion: resourceVersion.count, spec: spec.count, status: status.count)
    }
}

/// Writes records into slots and reads them back, checking everything a torn or stale slot
/// could get wrong.
enum RecordEncoding {
    static func size(uid: Int, namespace: Int, name: Int, resourceVersion: Int, spec: Int, status: Int) -> Int {
        CacheLayout.Record.headerSize + uid + namespace + name + resourceVersion + spec + status
    }

    /// Writes `fields` at `slot` (which has room: the caller checked `fields.size`).
    /// Returns the record's CRC32C.
    static func write(_ fields: RecordFields, generation: UInt64, to slot: UnsafeMutableRawPointer) -> UInt32 {
        typealias R = CacheLayout.Record
        let length = fields.size
        slot.storeLittleEndian(CacheLayout.recordMagic, at: R.magic)
        slot.storeLittleEndian(generation, at: R.generation)
        slot.storeLittleEndian(UInt32(length), at: R.length)
        slot.storeByte(fields.kind.rawValue, at: R.kind)
        slot.storeByte(0, at: R.reserved)
        slot.storeLittleEndian(UInt16(fields.uid.count), at: R.uidLength)
        slot.storeLittleEndian(UInt16(fields.namespace.count), at: R.namespaceLength)
        slot.storeLittleEndian(UInt16(fields.name.count), at: R.nameLength)
        slot.storeLittleEndian(UInt16(fields.resourceVersion.count), at: R.resourceVersionLength)
        slot.storeLittleEndian(UInt16(0), at: R.reserved2)
        slot.storeLittleEndian(fields.specHash, at: R.specHash)
        slot.storeLittleEndian(UInt32(fields.spec.count), at: R.specLength)
        slot.storeLittleEndian(UInt32(fields.status.count), at: R.statusLength)
        var offset = R.headerSize
        for part in [fields.uid, fields.namespace, fields.name, fields.resourceVersion, fields.spec, fields.status] {
            if let base = part.baseAddress, part.count > 0 {
                (slot + offset).copyMemory(from: base, byteCount: part.count)
            }
            offset += part.count
        }
        let crc = CRC32C.checksum(UnsafeRawBufferPointer(start: slot + R.checkedFrom, count: length - R.checkedFrom))
        slot.storeLittleEndian(crc, at: R.crc)
        return crc
    }

    /// Reads the record a live descriptor points at. `available` is how many bytes of the
    /// slot exist in the file (less than the slot when the file was truncated).
    static func read(slot: UnsafeRawPointer, index: Int, available: Int, descriptor: SlotDescriptor,
                     descriptorUID: UnsafeRawBufferPointer) throws(BadSlotReason) -> CachedRecordView {
        typealias R = CacheLayout.Record
        let length = descriptor.recordLength
        if length > available { throw .beyondEndOfFile }
        if slot.littleEndian32(at: R.magic) != CacheLayout.recordMagic { throw .recordMagic }
        if Int(slot.littleEndian32(at: R.length)) != length { throw .recordDisagrees(field: "length") }
        let stored = slot.littleEndian32(at: R.crc)
        let computed = CRC32C.checksum(UnsafeRawBufferPointer(start: slot + R.checkedFrom, count: length - R.checkedFrom))
        if stored != computed || stored != descriptor.recordCRC { throw .recordChecksum }
        // The CRC matched, so what follows was written by a commit; a mismatch here means
        // the descriptor and record come from different commits.
        if slot.littleEndian64(at: R.generation) != descriptor.generation { throw .recordDisagrees(field: "generation") }
        guard let kind = RecordKind(rawValue: slot.byte(at: R.kind)), kind == descriptor.kind else {
            throw .recordDisagrees(field: "kind")
        }
        guard let view = parts(slot: slot, index: index, length: length, generation: descriptor.generation, kind: kind) else {
            throw .recordLayout
        }
        if !view.uid.elementsEqual(descriptorUID) { throw .recordDisagrees(field: "uid") }
        return view
    }
}

extension RecordEncoding {
    /// A view of a record already verified (at open, or written by this process), with its
    /// bounds checked again but not its CRC: a lookup costs no pass over the bytes.
    static func view(slot: UnsafeRawPointer, index: Int, available: Int) -> CachedRecordView? {
        typealias R = CacheLayout.Record
        guard available >= R.headerSize, slot.littleEndian32(at: R.magic) == CacheLayout.recordMagic,
              let kind = RecordKind(rawValue: slot.byte(at: R.kind)) else { return nil }
        let length = Int(slot.littleEndian32(at: R.length))
        guard length >= R.headerSize && length <= available else { return nil }
        return parts(slot: slot, index: index, length: length, generation: slot.littleEndian64(at: R.generation), kind: kind)
    }

    /// Splits a record of `length` bytes into its fields; nil when the lengths do not add up.
    fileprivate static func parts(slot: UnsafeRawPointer, index: Int, length: Int, generation: UInt64,
                                  kind: RecordKind) -> CachedRecordView? {
        typealias R = CacheLayout.Record
        let uidLength = Int(slot.littleEndian16(at: R.uidLength))
        let namespaceLength = Int(slot.littleEndian16(at: R.namespaceLength))
        let nameLength = Int(slot.littleEndian16(at: R.nameLength))
        let versionLength = Int(slot.littleEndian16(at: R.resourceVersionLength))
        let specLength = Int(slot.littleEndian32(at: R.specLength))
        let statusLength = Int(slot.littleEndian32(at: R.statusLength))
        // Checked one by one first so the sum cannot overflow a 32-bit Int.
        guard specLength <= length && statusLength <= length,
              size(uid: uidLength, namespace: namespaceLength, name: nameLength, resourceVersion: versionLength,
                   spec: specLength, status: statusLength) == length else { return nil }
        var offset = R.headerSize
        func part(_ count: Int) -> UnsafeRawBufferPointer {
            defer { offset += count }
            return UnsafeRawBufferPointer(start: slot + offset, count: count)
        }
        let uid = part(uidLength)
        let namespace = part(namespaceLength)
        let name = part(nameLength)
        let version = part(versionLength)
        let spec = part(specLength)
        let status = part(statusLength)
        return CachedRecordView(kind: kind, generation: generation, specHash: slot.littleEndian64(at: R.specHash),
                                uid: uid, namespace: namespace, name: name, resourceVersion: version,
                                spec: spec, status: status, encodedSize: length, slot: index)
    }
}

/// Why a slot was skipped.
public enum BadSlotReason: Error, Equatable, Sendable {
    /// The descriptor fails its CRC: a write torn by a crash, or corruption.
    case descriptorChecksum
    /// The descriptor's CRC matches but a field is impossible.
    case descriptorField(field: String)
    /// The descriptor or record lies past the end of a truncated file.
    case beyondEndOfFile
    /// The slot does not start with a record's magic.
    case recordMagic
    /// The record's bytes fail their CRC, or it is not the record its descriptor committed.
    case recordChecksum
    /// The record's header names another commit than its descriptor.
    case recordDisagrees(field: String)
    /// The record's field lengths do not add up to its length.
    case recordLayout

    public var description: String {
        switch self {
        case .descriptorChecksum: return "descriptor CRC mismatch (torn write or corruption)"
        case .descriptorField(let field): return "descriptor has an impossible " + field
        case .beyondEndOfFile: return "slot lies past the end of the (truncated) file"
        case .recordMagic: return "slot holds no record (bad record magic)"
        case .recordChecksum: return "record CRC mismatch (torn write or corruption)"
        case .recordDisagrees(let field): return "record " + field + " differs from its descriptor"
        case .recordLayout: return "record field lengths do not add up"
        }
    }
}
