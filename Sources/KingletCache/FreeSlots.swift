import KingletCore

/// The slots a commit may write, lowest descriptor generation first.
///
/// Reusing the oldest slot first is what makes tombstones safe without bookkeeping: a
/// tombstone has a higher generation than every older entry of its uid, and those entries
/// sit in free slots, so all of them are overwritten before the tombstone's own slot comes
/// up for reuse. Ties go to the lower slot, so a young file fills from its start.
struct FreeSlots {
    private struct Entry: Comparable {
        var generation: UInt64
        var slot: Int32

        static func < (lhs: Entry, rhs: Entry) -> Bool {
            lhs.generation != rhs.generation ? lhs.generation < rhs.generation : lhs.slot < rhs.slot
        }
    }

    private var heap: MinHeap<Entry>

    init(capacity: Int) { heap = MinHeap(capacity: capacity) }

    var count: Int { heap.count }

    /// Adds `slot`, whose descriptor currently carries `generation` (0 when empty or unreadable).
    mutating func insert(slot: Int, generation: UInt64) {
        heap.insert(Entry(generation: generation, slot: Int32(slot)))
    }

    /// Removes and returns the slot with the lowest generation.
    mutating func takeOldest() -> (slot: Int, generation: UInt64)? {
        guard let first = heap.popFirst() else { return nil }
        return (Int(first.slot), first.generation)
    }
}
