import KingletCore

/// One loop timer that follows a protocol state machine's `nextDeadline`: re-armed only when
/// the deadline moves, so a pump after every byte costs a compare, not a timer.
public final class DeadlineTimer {
    private let loop: any EventLoop
    private var timer: TimerHandle?
    private var armed: Instant?
    /// Made once: arming again allocates nothing.
    private var expired: () -> Void = {}
    /// Runs on the loop when the armed deadline comes.
    public var fire: () -> Void = {}

    public init(loop: any EventLoop) {
        self.loop = loop
        expired = { [self] in
            self.timer = nil
            self.armed = nil
            self.fire()
        }
    }

    /// Arms the timer at `deadline` (nil: none), unless it is already armed there.
    public func arm(at deadline: Instant?) {
        guard deadline != armed else { return }
        if let timer { loop.cancel(timer) }
        timer = nil
        armed = deadline
        if let deadline { timer = loop.schedule(at: deadline, expired) }
    }

    /// Cancels for good and drops the callbacks, which hold this timer and its owner (no
    /// weak references in Embedded Swift).
    public func stop() {
        arm(at: nil)
        fire = {}
        expired = {}
    }
}
