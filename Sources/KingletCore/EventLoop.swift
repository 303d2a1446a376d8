/// KingletCore: the agent's event-loop abstraction and the pieces every loop shares.
///
/// The agent runs one thread with one loop. Protocol drivers look the same to it whatever
/// implements it: a file descriptor with an interest, a handler for readiness, and timers.
/// `EpollEventLoop` (KingletEpoll) implements it on Linux; `ManualEventLoop`
/// (KingletLoopTesting) implements it with a clock the test moves, so state machines run in
/// unit tests without sleeping.

/// What a watcher wants to hear about a file descriptor.
public struct IOInterest: OptionSet, Sendable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// Data can be read (EPOLLIN).
    public static let readable = IOInterest(rawValue: 1 << 0)
    /// Data can be written without blocking (EPOLLOUT).
    public static let writable = IOInterest(rawValue: 1 << 1)
}

/// What the loop saw on a file descriptor.
public struct IOReadiness: OptionSet, Sendable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// Readable (EPOLLIN).
    public static let readable = IOReadiness(rawValue: 1 << 0)
    /// Writable (EPOLLOUT).
    public static let writable = IOReadiness(rawValue: 1 << 1)
    /// The peer hung up (EPOLLHUP or EPOLLRDHUP).
    public static let hangup = IOReadiness(rawValue: 1 << 2)
    /// An error is pending on the descriptor (EPOLLERR).
    public static let error = IOReadiness(rawValue: 1 << 3)
}

/// The process signals the agent handles on its loop.
public enum ProcessSignal: Sendable, Hashable {
    /// SIGTERM: stop gracefully.
    case terminate
    /// SIGINT: Ctrl-C, stop gracefully.
    case interrupt
    /// SIGHUP: reload the configuration.
    case hangup
    /// SIGCHLD: a child process changed state.
    case childExited

    public var name: String {
        switch self {
        case .terminate: return "SIGTERM"
        case .interrupt: return "SIGINT"
        case .hangup: return "SIGHUP"
        case .childExited: return "SIGCHLD"
        }
    }
}

/// Identifies a scheduled timer, for cancelling it.
public struct TimerHandle: Hashable, Sendable {
    public let id: UInt64
    public init(id: UInt64) { self.id = id }
}

/// The single-threaded event loop every agent component runs on.
///
/// Handlers and timer callbacks run on the loop's thread, one at a time, and must not block.
public protocol EventLoop: AnyObject {
    /// The loop's monotonic clock.
    var now: Instant { get }

    /// Calls `handler` whenever `fd` is ready for `interest` (or hung up / in error).
    /// Watching a descriptor that is already watched replaces its interest and handler.
    func watch(_ fd: Int32, interest: IOInterest, handler: @escaping (IOReadiness) -> Void) throws(LoopError)

    /// Changes what a watched descriptor's handler is called for.
    func changeInterest(of fd: Int32, to interest: IOInterest) throws(LoopError)

    /// Stops watching `fd`. Call before closing it.
    func unwatch(_ fd: Int32)

    /// Calls `callback` once, at or soon after `deadline`.
    @discardableResult
    func schedule(at deadline: Instant, _ callback: @escaping () -> Void) -> TimerHandle

    /// Cancels a timer; cancelling one that already fired does nothing.
    func cancel(_ timer: TimerHandle)

    /// Delivers `signals` to `handler` on the loop instead of their default action.
    func handle(_ signals: [ProcessSignal], handler: @escaping (ProcessSignal) -> Void) throws(LoopError)

    /// Makes the loop return once the current wake-up (its ready descriptors and due
    /// timers) has been dispatched.
    func stop()
}

extension EventLoop {
    /// Calls `callback` once, `delay` from now.
    @discardableResult
    public func schedule(after delay: Duration, _ callback: @escaping () -> Void) -> TimerHandle {
        schedule(at: now.advanced(by: delay), callback)
    }
}
