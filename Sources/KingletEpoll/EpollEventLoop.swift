/// KingletEpoll: the agent's event loop on Linux epoll.
///
/// One epoll set holds the watched descriptors and a signalfd for the handled signals. The
/// earliest timer deadline is the wait's own timeout (epoll_pwait2, to the nanosecond): a
/// timerfd would cost a settime per new deadline and a read per expiry.
import CKingletSystem
import KingletCore

public final class EpollEventLoop: EventLoop {
    private let epollFD: Int32
    private var signalFD: Int32 = -1
    private var watches: [Int32: FileWatch] = [:]
    private var timers = TimerQueue()
    private var dueTimers: [TimerHandle] = []
    private var signalHandlers: [Int32: (ProcessSignal) -> Void] = [:]
    private var stopped = false
    // Allocated once: the loop allocates nothing per wake-up.
    private let events = UnsafeMutablePointer<kinglet_event>.allocate(capacity: EpollEventLoop.batch)
    private static let batch = 64

    /// The longest time one handler or timer callback held the loop, for the benchmarks.
    public private(set) var longestDispatch = Duration.zero
    /// How long each handler or timer callback held the loop (its stalls), for the benchmarks.
    public private(set) var dispatchTimes = DurationHistogram()
    /// Wake-ups so far.
    public private(set) var iterations: UInt64 = 0

    public init() throws(LoopError) {
        epollFD = kinglet_epoll_create()
        if epollFD < 0 { throw EpollEventLoop.failure("epoll_create1") }
    }

    deinit {
        if signalFD >= 0 {
            var numbers: [Int32] = []
            for number in signalHandlers.keys { numbers.append(number) }
            _ = numbers.withUnsafeBufferPointer { kinglet_signals_unblock($0.baseAddress, Int32($0.count)) }
            close(signalFD)
        }
        close(epollFD)
        events.deallocate()
    }

    public var now: Instant { Instant(nanoseconds: kinglet_monotonic_ns()) }

    public func watch(_ fd: Int32, interest: IOInterest, handler: @escaping (IOReadiness) -> Void) throws(LoopError) {
        let mask = EpollEventLoop.mask(for: interest)
        if watches[fd] == nil {
            if kinglet_epoll_add(epollFD, fd, mask) != 0 { throw EpollEventLoop.failure("epoll_ctl(ADD)") }
        } else if kinglet_epoll_modify(epollFD, fd, mask) != 0 {
            throw EpollEventLoop.failure("epoll_ctl(MOD)")
        }
        watches[fd] = FileWatch(interest: interest, handler: handler)
    }

    public func changeInterest(of fd: Int32, to interest: IOInterest) throws(LoopError) {
        guard var watch = watches[fd] else {
            throw LoopError(call: "changeInterest", errno: ENOENT, reason: "descriptor \(fd) is not watched")
        }
        if watch.interest == interest { return }
        if kinglet_epoll_modify(epollFD, fd, EpollEventLoop.mask(for: interest)) != 0 {
            throw EpollEventLoop.failure("epoll_ctl(MOD)")
        }
        watch.interest = interest
        watches[fd] = watch
    }

    public func unwatch(_ fd: Int32) {
        guard watches.removeValue(forKey: fd) != nil else { return }
        _ = kinglet_epoll_remove(epollFD, fd)
    }

    @discardableResult
    public func schedule(at deadline: Instant, _ callback: @escaping () -> Void) -> TimerHandle {
        timers.schedule(at: deadline, callback)
    }

    public func cancel(_ timer: TimerHandle) {
        timers.cancel(timer)
    }

    public func handle(_ signals: [ProcessSignal], handler: @escaping (ProcessSignal) -> Void) throws(LoopError) {
        for signal in signals { signalHandlers[EpollEventLoop.number(of: signal)] = handler }
        var numbers: [Int32] = []
        for number in signalHandlers.keys { numbers.append(number) }
        // One signalfd for every handled signal: reopen it with the whole set.
        let fd = numbers.withUnsafeBufferPointer { kinglet_signalfd_open($0.baseAddress, Int32($0.count)) }
        if fd < 0 { throw EpollEventLoop.failure("signalfd") }
        if signalFD >= 0 {
            _ = kinglet_epoll_remove(epollFD, signalFD)
            close(signalFD)
        }
        signalFD = fd
        if kinglet_epoll_add(epollFD, fd, KINGLET_EPOLLIN) != 0 { throw EpollEventLoop.failure("epoll_ctl(ADD signalfd)") }
    }

    public func stop() {
        stopped = true
    }

    /// Runs until `stop()` is called; the loop returns once the wake-up in which it was
    /// called has been dispatched. Throws only when epoll itself fails.
    public func run() throws(LoopError) {
        stopped = false
        while !stopped {
            try runOnce(timeoutMilliseconds: -1)
        }
    }

    /// Waits for one batch of events (at most `timeoutMilliseconds`, -1 for no limit) and
    /// dispatches it, then fires the timers that are due.
    public func runOnce(timeoutMilliseconds: Int32) throws(LoopError) {
        var deadline = timers.nextDeadline()
        if timeoutMilliseconds >= 0 {
            let limit = now.advanced(by: .milliseconds(Int64(timeoutMilliseconds)))
            if deadline.map({ limit < $0 }) ?? true { deadline = limit }
        }
        let count = kinglet_epoll_wait_until(epollFD, events, Int32(EpollEventLoop.batch), deadline?.nanoseconds ?? -1)
        if count < 0 {
            if kinglet_errno() == EINTR { return }
            throw EpollEventLoop.failure("epoll_wait")
        }
        iterations &+= 1
        for index in 0..<Int(count) {
            let event = events[index]
            if event.fd == signalFD {
                drainSignals()
            } else if let watch = watches[event.fd] {
                // Looked up per event: an earlier handler in this batch may have unwatched it.
                let readiness = watch.relevant(EpollEventLoop.readiness(from: event.events))
                if !readiness.isEmpty { timed { watch.handler(readiness) } }
            }
        }
        // Checked on every wake-up, the timeout's or a descriptor's: a heap peek costs nothing.
        fireDueTimers()
    }

    private func fireDueTimers() {
        timers.collectDue(at: now, into: &dueTimers)
        for timer in dueTimers {
            if let callback = timers.takeCallback(timer) { timed(callback.run) }
        }
    }

    private func drainSignals() {
        while true {
            let number = kinglet_signalfd_read(signalFD)
            guard number > 0 else { return }
            if let handler = signalHandlers[number], let signal = EpollEventLoop.signal(for: number) {
                timed { handler(signal) }
            }
        }
    }

    private func timed(_ body: () -> Void) {
        let start = kinglet_monotonic_ns()
        body()
        let spent = Duration(nanoseconds: kinglet_monotonic_ns() - start)
        if spent > longestDispatch { longestDispatch = spent }
        dispatchTimes.record(spent)
    }

    private static func mask(for interest: IOInterest) -> UInt32 {
        var mask = KINGLET_EPOLLRDHUP
        if interest.contains(.readable) { mask |= KINGLET_EPOLLIN }
        if interest.contains(.writable) { mask |= KINGLET_EPOLLOUT }
        return mask
    }

    private static func readiness(from events: UInt32) -> IOReadiness {
        var readiness: IOReadiness = []
        if events & KINGLET_EPOLLIN != 0 { readiness.insert(.readable) }
        if events & KINGLET_EPOLLOUT != 0 { readiness.insert(.writable) }
        if events & (KINGLET_EPOLLHUP | KINGLET_EPOLLRDHUP) != 0 { readiness.insert(.hangup) }
        if events & KINGLET_EPOLLERR != 0 { readiness.insert(.error) }
        return readiness
    }

    static func number(of signal: ProcessSignal) -> Int32 {
        switch signal {
        case .terminate: return SIGTERM
        case .interrupt: return SIGINT
        case .hangup: return SIGHUP
        case .childExited: return SIGCHLD
        }
    }

    static func signal(for number: Int32) -> ProcessSignal? {
        switch number {
        case SIGTERM: return .terminate
        case SIGINT: return .interrupt
        case SIGHUP: return .hangup
        case SIGCHLD: return .childExited
        default: return nil
        }
    }

    static func failure(_ call: String) -> LoopError {
        let code = kinglet_errno()
        return LoopError(call: call, errno: code, reason: String(cString: kinglet_strerror(code)))
    }
}
