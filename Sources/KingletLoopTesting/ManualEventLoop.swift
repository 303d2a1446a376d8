/// KingletLoopTesting: a deterministic event loop for unit tests.
///
/// Time moves only when the test calls `advance(by:)`, descriptors become ready only when
/// the test says so, and signals arrive only through `deliver(_:)`. Protocol state machines
/// (Modbus transactions, ZNP requests, cache commits) are tested on it with no sleeps.
import KingletCore

public final class ManualEventLoop: EventLoop {
    public private(set) var now: Instant
    private var watches: [Int32: FileWatch] = [:]
    private var timers = TimerQueue()
    private var dueTimers: [TimerHandle] = []
    private var signalHandlers: [ProcessSignal: (ProcessSignal) -> Void] = [:]
    /// Set by `stop()`; the test reads it to see whether the code under test stopped the loop.
    public private(set) var isStopped = false

    public init(now: Instant = Instant(nanoseconds: 0)) {
        self.now = now
    }

    public func watch(_ fd: Int32, interest: IOInterest, handler: @escaping (IOReadiness) -> Void) throws(LoopError) {
        watches[fd] = FileWatch(interest: interest, handler: handler)
    }

    public func changeInterest(of fd: Int32, to interest: IOInterest) throws(LoopError) {
        guard watches[fd] != nil else {
            throw LoopError(call: "changeInterest", errno: 2, reason: "descriptor \(fd) is not watched")
        }
        watches[fd]?.interest = interest
    }

    public func unwatch(_ fd: Int32) {
        watches[fd] = nil
    }

    @discardableResult
    public func schedule(at deadline: Instant, _ callback: @escaping () -> Void) -> TimerHandle {
        timers.schedule(at: deadline, callback)
    }

    public func cancel(_ timer: TimerHandle) {
        timers.cancel(timer)
    }

    public func handle(_ signals: [ProcessSignal], handler: @escaping (ProcessSignal) -> Void) throws(LoopError) {
        for signal in signals { signalHandlers[signal] = handler }
    }

    public func stop() {
        isStopped = true
    }

    // MARK: driving the loop from a test

    /// The descriptors being watched and what for.
    public func interest(of fd: Int32) -> IOInterest? { watches[fd]?.interest }

    /// Pending timers.
    public var pendingTimers: Int { timers.count }

    /// Moves the clock forward, firing every timer that falls due on the way, in deadline
    /// order, each with `now` set to its own deadline.
    public func advance(by duration: Duration) {
        let target = now.advanced(by: duration)
        while let next = timers.nextDeadline(), next <= target {
            now = next
            timers.collectDue(at: next, into: &dueTimers)
            for timer in dueTimers {
                if let callback = timers.takeCallback(timer) { callback.run() }
            }
        }
        now = target
    }

    /// Tells `fd`'s handler it is ready, as epoll would. Returns false when nobody watches
    /// `fd` or the readiness is outside its interest (then no handler runs).
    @discardableResult
    public func signalReady(_ fd: Int32, _ readiness: IOReadiness) -> Bool {
        guard let watch = watches[fd] else { return false }
        let relevant = watch.relevant(readiness)
        if relevant.isEmpty { return false }
        watch.handler(relevant)
        return true
    }

    /// Delivers a process signal to its handler. Returns false when none is installed.
    @discardableResult
    public func deliver(_ signal: ProcessSignal) -> Bool {
        guard let handler = signalHandlers[signal] else { return false }
        handler(signal)
        return true
    }
}
