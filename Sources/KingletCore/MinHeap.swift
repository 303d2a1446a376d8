/// A binary min-heap: `popFirst` returns the least element by `<`. Elements that compare
/// equal come out in no particular order, so callers that need an order among equals put
/// a tie-breaker into their `<` (the timer queue's sequence number, the cache's slot).
public struct MinHeap<Element: Comparable> {
    @usableFromInline var storage: [Element] = []

    public init() {}

    public init(capacity: Int) { storage.reserveCapacity(capacity) }

    public var count: Int { storage.count }
    public var isEmpty: Bool { storage.isEmpty }

    /// The least element, without removing it.
    public var first: Element? { storage.first }

    @inlinable
    public mutating func insert(_ element: Element) {
        storage.append(element)
        var child = storage.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard storage[child] < storage[parent] else { return }
            storage.swapAt(child, parent)
            child = parent
        }
    }

    /// Removes and returns the least element.
    @inlinable
    public mutating func popFirst() -> Element? {
        guard let first = storage.first else { return nil }
        let last = storage.removeLast()
        guard !storage.isEmpty else { return first }
        storage[0] = last
        var parent = 0
        while true {
            let left = 2 * parent + 1
            guard left < storage.count else { break }
            var least = left
            if left + 1 < storage.count && storage[left + 1] < storage[left] { least = left + 1 }
            guard storage[least] < storage[parent] else { break }
            storage.swapAt(least, parent)
            parent = least
        }
        return first
    }
}
