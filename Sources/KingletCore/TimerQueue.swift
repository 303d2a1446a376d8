/// Pending timers ordered by deadline: a binary min-heap with lazy cancellation.
///
/// The agent keeps tens of timers (probe periods, device polls, back-offs, MQTT keepalive),
/// so a heap gives the exact next deadline for the loop's wait at O(log n) per change; a
/// hashed wheel would only pay off with thousands. Timers with equal deadlines fire in the
/// order they were scheduled.
/// A timer's callback, kept in a struct: a bare closure stored in a generic container (the
/// queue's dictionary, an Optional) is wrapped in a reabstraction thunk, a heap allocation on
/// the way in and another on the way out.
public struct TimerCallback {
    public let run: () -> Void
}

public struct TimerQueue {
    private struct Entry: Comparable {
        let deadline: Instant
        let id: UInt64

        /// Fires before: earlier deadline, then earlier scheduling.
        static func < (lhs: Entry, rhs: Entry) -> Bool {
            lhs.deadline != rhs.deadline ? lhs.deadline < rhs.deadline : lhs.id < rhs.id
        }
    }

    private var heap = MinHeap<Entry>()
    /// Kept capacity and open addressing: scheduling and firing in steady state allocate
    /// nothing (the heap's array keeps its capacity too).
    private var callbacks: [UInt64: TimerCallback] = [:]
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
        callbacks[id] = TimerCallback(run: callback)
        heap.insert(Entry(deadline: deadline, id: id))
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
            _ = heap.popFirst()
            due.append(TimerHandle(id: head.id))
        }
    }

    /// The callback of a collected timer, or nil when it was cancelled since.
    public mutating func takeCallback(_ timer: TimerHandle) -> TimerCallback? {
        callbacks.removeValue(forKey: timer.id)
    }

    private mutating func dropCancelledHead() {
        while let head = heap.first, callbacks[head.id] == nil { _ = heap.popFirst() }
    }
}
