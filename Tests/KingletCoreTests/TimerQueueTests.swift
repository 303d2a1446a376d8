import KingletCore
import KingletLoopTesting
import Testing

@Suite struct TimerQueueTests {
    private func at(_ ms: Int64) -> Instant { Instant(nanoseconds: ms * 1_000_000) }

    /// Pops every timer due at `now` and returns the labels it recorded, in firing order.
    private func drain(_ queue: inout TimerQueue, at now: Instant, _ fired: Box) -> [String] {
        var due: [TimerHandle] = []
        queue.collectDue(at: now, into: &due)
        for timer in due { queue.takeCallback(timer)?.run() }
        return fired.labels
    }

    final class Box { var labels: [String] = [] }

    @Test func timersFireInDeadlineOrderNotSchedulingOrder() {
        var queue = TimerQueue()
        let fired = Box()
        for (label, ms) in [("c", 30), ("a", 10), ("d", 40), ("b", 20)] {
            queue.schedule(at: at(Int64(ms))) { fired.labels.append(label) }
        }
        #expect(drain(&queue, at: at(100), fired) == ["a", "b", "c", "d"])
    }

    @Test func equalDeadlinesFireInSchedulingOrder() {
        var queue = TimerQueue()
        let fired = Box()
        for label in ["first", "second", "third"] {
            queue.schedule(at: at(5)) { fired.labels.append(label) }
        }
        #expect(drain(&queue, at: at(5), fired) == ["first", "second", "third"])
    }

    @Test func onlyDueTimersPop() {
        var queue = TimerQueue()
        let fired = Box()
        queue.schedule(at: at(10)) { fired.labels.append("early") }
        queue.schedule(at: at(50)) { fired.labels.append("late") }
        #expect(drain(&queue, at: at(20), fired) == ["early"])
        #expect(queue.nextDeadline() == at(50))
        #expect(queue.count == 1)
    }

    @Test func cancelledTimersNeverFireAndLeaveTheDeadline() {
        var queue = TimerQueue()
        let fired = Box()
        let head = queue.schedule(at: at(1)) { fired.labels.append("cancelled") }
        queue.schedule(at: at(2)) { fired.labels.append("kept") }
        queue.cancel(head)
        #expect(queue.nextDeadline() == at(2))
        #expect(drain(&queue, at: at(10), fired) == ["kept"])
        #expect(queue.nextDeadline() == nil)
    }

    @Test func timersScheduledWhileRunningCollectedOnesWaitForTheNextCollection() {
        var queue = TimerQueue()
        let fired = Box()
        var due: [TimerHandle] = []
        queue.schedule(at: at(1)) { fired.labels.append("old") }
        queue.schedule(at: at(2)) { fired.labels.append("older") }
        queue.collectDue(at: at(5), into: &due)
        queue.schedule(at: at(0)) { fired.labels.append("new") }
        for timer in due { queue.takeCallback(timer)?.run() }
        #expect(fired.labels == ["old", "older"])
        #expect(queue.count == 1)
    }

    @Test func timerCancelledAfterCollectionDoesNotRun() {
        var queue = TimerQueue()
        var due: [TimerHandle] = []
        let handle = queue.schedule(at: at(1)) {}
        queue.collectDue(at: at(1), into: &due)
        queue.cancel(handle)
        #expect(due == [handle])
        #expect(queue.takeCallback(handle) == nil)
    }

    @Test func heapStaysOrderedUnderManyRandomTimers() {
        var queue = TimerQueue()
        var generator = SplitMix64(seed: 42)
        var deadlines: [Int64] = []
        let fired = Box()
        for _ in 0..<2000 {
            let ms = Int64(generator.next() % 10_000)
            deadlines.append(ms)
            queue.schedule(at: at(ms)) { fired.labels.append(String(ms)) }
        }
        _ = drain(&queue, at: at(10_000), fired)
        #expect(fired.labels.map { Int64($0)! } == deadlines.sorted())
    }
}
