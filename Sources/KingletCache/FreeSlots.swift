/// The slots a commit may write, lowest descriptor generation first.
///
/// Reusing the oldest slot first is what makes tombstones safe without bookkeeping: a
/// tombstone has a higher generation than every older entry of its uid, and those entries
/// sit in free slots, so all of them are overwritten before the tombstone's own slot comes
/// up for reuse. Ties go to the lower slot, so a young file fills from its start.
struct FreeSlots {
    private struct Entry {
        var generation: UInt64
        var slot: Int32

        func precedes(_ other: Entry) -> Bool {
            generation != other.generation ? generation < other.generation : slot < other.slot
        }
    }

    private var heap: [Entry] = []

    init(capacity: Int) { heap.reserveCapacity(capacity) }

    var count: Int { heap.count }

    /// Adds `slot`, whose descriptor currently carries `generation` (0 when empty or unreadable).
    mutating func insert(slot: Int, generation: UInt64) {
        heap.append(Entry(generation: generation, slot: Int32(slot)))
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            if !heap[child].precedes(heap[parent]) { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    /// Removes and returns the slot with the lowest generation.
    mutating func takeOldest() -> (slot: Int, generation: UInt64)? {
        guard let first = heap.first else { return nil }
        let last = heap.removeLast()
        if !heap.isEmpty {
            heap[0] = last
            var parent = 0
            while true {
                let left = 2 * parent + 1
                if left >= heap.count { break }
                var best = left
                if left + 1 < heap.count && heap[left + 1].precedes(heap[left]) { best = left + 1 }
                if !heap[best].precedes(heap[parent]) { break }
                heap.swapAt(best, parent)
                parent = best
            }
        }
        return (Int(first.slot), first.generation)
    }
}
