/// A slot that was skipped on open, and why.
public struct BadSlot: Equatable, Sendable {
    public var slot: Int
    /// The descriptor's generation, when its CRC held.
    public var generation: UInt64?
    public var reason: BadSlotReason

    public init(slot: Int, generation: UInt64?, reason: BadSlotReason) {
        self.slot = slot
        self.generation = generation
        self.reason = reason
    }

    public var description: String {
        var text = "slot " + String(slot)
        if let generation { text += " (generation " + String(generation) + ")" }
        return text + ": " + reason.description
    }
}

/// The recovery pass run on every open: reads the descriptor table and decides, for each uid,
/// which entry wins. Touches the header, the table and the records of winning entries only.
///
/// Rules (docs/cache-format.md, "Recovery on open"):
/// 1. An all-zero descriptor is an empty slot; one failing its CRC is skipped and counted.
/// 2. Per uid, valid entries are taken newest generation first.
/// 3. A tombstone ends the walk: the uid is deleted.
/// 4. A live entry whose record checks out wins. One whose record fails is skipped and
///    counted, and the walk goes on to the next older entry.
struct SlotScan {
    /// Per slot, the generation its descriptor carries (0: empty or unreadable).
    var slotGenerations: [UInt64]
    /// uid -> slot of each winning live record.
    var liveSlots: [String: Int32] = [:]
    var badSlots: [BadSlot] = []
    var livePods = 0
    var liveDeviceTwins = 0
    /// Uids whose newest entry is a tombstone.
    var deletedUIDs = 0
    var highestGeneration: UInt64 = 0

    init(file: MappedCacheFile) {
        let geometry = file.geometry
        slotGenerations = [UInt64](repeating: 0, count: geometry.slotCount)
        struct Candidate {
            var generation: UInt64
            var slot: Int
            var uid: String
            var descriptor: SlotDescriptor
        }
        var candidates: [Candidate] = []
        for slot in 0..<geometry.slotCount {
            let offset = geometry.descriptorOffset(slot: slot)
            if offset + CacheLayout.descriptorSize > file.availableLength {
                badSlots.append(BadSlot(slot: slot, generation: nil, reason: .beyondEndOfFile))
                continue
            }
            let entry = UnsafeRawPointer(file.base + offset)
            switch SlotDescriptor.decode(entry, slotSize: geometry.slotSize) {
            case .empty:
                break
            case .bad(let reason):
                badSlots.append(BadSlot(slot: slot, generation: nil, reason: reason))
            case .entry(let descriptor):
                slotGenerations[slot] = descriptor.generation
                if descriptor.generation > highestGeneration { highestGeneration = descriptor.generation }
                let uid = String(decoding: SlotDescriptor.uid(entry, length: descriptor.uidLength), as: UTF8.self)
                candidates.append(Candidate(generation: descriptor.generation, slot: slot, uid: uid, descriptor: descriptor))
            }
        }
        candidates.sort { $0.generation != $1.generation ? $0.generation > $1.generation : $0.slot < $1.slot }
        var decided = Set<String>()
        for candidate in candidates where !decided.contains(candidate.uid) {
            if candidate.descriptor.state == .tombstone {
                decided.insert(candidate.uid)
                deletedUIDs += 1
                continue
            }
            let offset = geometry.recordOffset(slot: candidate.slot)
            let available = max(0, min(geometry.slotSize, file.availableLength - offset))
            let entry = UnsafeRawPointer(file.base + geometry.descriptorOffset(slot: candidate.slot))
            do throws(BadSlotReason) {
                let view = try RecordEncoding.read(slot: UnsafeRawPointer(file.base + offset), index: candidate.slot,
                                                   available: available, descriptor: candidate.descriptor,
                                                   descriptorUID: SlotDescriptor.uid(entry, length: candidate.descriptor.uidLength))
                decided.insert(candidate.uid)
                liveSlots[candidate.uid] = Int32(candidate.slot)
                switch view.kind {
                case .pod: livePods += 1
                case .deviceTwin: liveDeviceTwins += 1
                }
            } catch {
                badSlots.append(BadSlot(slot: candidate.slot, generation: candidate.generation, reason: error))
            }
        }
        badSlots.sort { $0.slot < $1.slot }
    }
}
