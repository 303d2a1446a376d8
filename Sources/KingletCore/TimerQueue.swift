/// Pending timers ordered by deadline: a binary min-heap with lazy cancellation.
///
/// The agent keeps tens of timers (probe periods, device polls, back-offs, MQTT keepalive),
/// so a heap gives the exact next deadline for the timerfd at O(log n) per change; a
/// hashed wheel would only pay off with thousands. Timers with equal deadlines fire in the
/// order they were scheduled.
public struct TimerQueue {
    private struct Entry {
        let deadline: Instant
        let id: UInt64
        func firesBefore(_ other: Entry) -> Bool {
            deadline != other.deadline ? deadline < other.deadline : id < other.id
        }
    }

    private var heap: [Entry] = []
    private var callbacks: [UInt64: () -> Void] = [:]
    private var nextID: UInt64 = 1

    public init() {}

    /// How many timers are pending (cancelled ones excluded).
    public var count: Int { callbacks.count }

    /// The earliest pending deadline, if any.
    public mutating func nextDeadline() -> Instant? {
        dropCancelledHead()
        return heap.first?.deadline
    }

    @discardableResult
    public mutating func schedule(at deadline: Instant, _ callback: @escaping () -> Void) -> TimerHandle {
        let id = nextID
        nextID += 1
        callbacks[id] = callback
        heap.append(Entry(deadline: deadline, id: id))
        siftUp(heap.count - 1)
        return TimerHandle(id: id)
    }

    public mutating func cancel(_ timer: TimerHandle) {
        callbacks[timer.id] = nil
    }

    /// Moves every timer due at `now` out of the queue, into `due` in firing order (`due` is
    /// emptied first and keeps its capacity, so a loop reuses one buffer). Run them with
    /// `takeCallback`: timers those callbacks schedule wait for the next collection, even if
    /// already due, so a callback rescheduling itself at `now` cannot starve the loop.
    public mutating func collectDue(at now: Instant, into due: inout [TimerHandle]) {
        due.removeAll(keepingCapacity: true)
        while true {
            dropCancelledHead()
            guard let head = heap.first, head.deadline <= now else { return }
            removeHead()
            due.append(TimerHandle(id: head.id))
        }
    }

    /// The callback of a collected timer, or nil when it was cancelled since.
    public mutating func takeCallback(_ timer: TimerHandle) -> (() -> Void)? {
        callbacks.removeValue(forKey: timer.id)
    }

    private mutating func dropCancelledHead() {
        while let head = heap.first, callbacks[head.id] == nil { removeHead() }
    }

    private mutating func removeHead() {
        let last = heap.removeLast()
        guard !heap.isEmpty else { return }
        heap[0] = last
        siftDown(0)
    }

    private mutating func siftUp(_ start: Int) {
        var child = start
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[child].firesBefore(heap[parent]) else { return }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    private mutating func siftDown(_ start: Int) {
        var parent = start
        while true {
            let left = 2 * parent + 1
            guard left < heap.count else { return }
            var first = left
            if left + 1 < heap.count && heap[left + 1].firesBefore(heap[left]) { first = left + 1 }
            guard heap[first].firesBefore(heap[parent]) else { return }
            heap.swapAt(first, parent)
            parent = first
        }
    }
}
