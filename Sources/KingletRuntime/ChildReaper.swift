import CKingletSystem
import KingletCore

/// A child process that has exited.
public struct ChildExit: Equatable, Sendable {
    public let pid: Int32
    public let status: ProcessExitStatus
}

/// The agent's one owner of SIGCHLD. A loop keeps one handler per signal, so every
/// component that starts processes (the runtime, exec probes) registers its pids here
/// instead of handling SIGCHLD itself.
///
/// On SIGCHLD it looks for exited children with waitid(WNOWAIT), calls the pid's owner
/// while the child is still a zombie, then reaps it. Until it is reaped the pid, and the
/// process group id it led, cannot be reused, so an owner may still signal the group
/// (e.g. SIGKILL for processes the container left behind) without hitting a stranger.
public final class ChildReaper {
    /// Which children this reaper collects.
    public enum Scope: Sendable {
        /// Every child of the process (waitid on any child), the agent's mode: nothing
        /// else in the agent waits for children, and none is left a zombie.
        case allChildren
        /// Only registered pids, for a process where other code owns other children
        /// (the test runner).
        case registeredOnly
    }

    private let loop: any EventLoop
    private let scope: Scope
    private let pollInterval: Duration?
    private var owners: [Int32: (ChildExit) -> Void] = [:]
    private var unclaimed: [Int32: UnclaimedExit] = [:]
    private var pollTimer: TimerHandle? = nil

    /// A child reaped before anyone registered it, kept a short while for its owner.
    private struct UnclaimedExit {
        let status: ProcessExitStatus
        let reapedAt: Instant
    }

    /// How long an exit waits for its owner to register the pid. The window it covers is
    /// from posix_spawn returning to `watch`; keeping it short stops a later process that
    /// reuses the pid from being handed a stale exit.
    static let unclaimedLifetime = Duration.seconds(10)
    /// At most this many unclaimed exits are kept (orphans re-parented to a subreaper
    /// agent are never claimed).
    static let unclaimedLimit = 64

    /// Takes over SIGCHLD on `loop`. `pollInterval` also checks for exits on a timer while
    /// children are registered, for processes where SIGCHLD may reach a thread that does
    /// not block it and be lost (a multi-threaded test runner); the agent, one thread with
    /// the signal blocked, does not need it.
    public init(loop: any EventLoop, scope: Scope = .allChildren, pollInterval: Duration? = nil) throws(LoopError) {
        self.loop = loop
        self.scope = scope
        self.pollInterval = pollInterval
        try loop.handle([.childExited]) { _ in self.reapExited() }
    }

    /// Registered pids not yet exited.
    public var watchedCount: Int { owners.count }

    /// Calls `onExit` once, on the loop, when `pid` exits. If the child was already reaped
    /// (it exited before this call, in `allChildren` mode), the call comes on a later turn
    /// of the loop, never from inside `watch`.
    public func watch(pid: Int32, onExit: @escaping (ChildExit) -> Void) {
        if let early = unclaimed.removeValue(forKey: pid) {
            if loop.now.since(early.reapedAt) <= ChildReaper.unclaimedLifetime {
                let exit = ChildExit(pid: pid, status: early.status)
                loop.schedule(after: .zero) { onExit(exit) }
                return
            }
        }
        owners[pid] = onExit
        armPoll()
        // In registeredOnly mode nothing is reaped without an owner, so a child that exited
        // before this call is still a zombie: look now rather than wait for a SIGCHLD
        // that was already consumed.
        if scope == .registeredOnly { loop.schedule(after: .zero) { self.reapExited() } }
    }

    /// Stops caring about `pid`; it is still reaped when it exits.
    public func forget(pid: Int32) {
        owners[pid] = nil
    }

    /// Collects every exited child now. SIGCHLD calls this; a component that has reason to
    /// think a child exited (its output pipes closed) may call it too.
    public func reapExited() {
        switch scope {
        case .allChildren:
            // Bounded: a reap that keeps failing must not spin the loop.
            for _ in 0..<4096 {
                var found = kinglet_child_exit()
                guard kinglet_child_peek(-1, &found) == 1 else { break }
                guard finish(found) else { break }
            }
        case .registeredOnly:
            for pid in Array(owners.keys) {
                var found = kinglet_child_exit()
                if kinglet_child_peek(pid, &found) == 1 { _ = finish(found) }
            }
        }
        if owners.isEmpty, let timer = pollTimer {
            loop.cancel(timer)
            pollTimer = nil
        }
    }

    /// Tells the owner, then reaps. Returns false when the reap failed.
    private func finish(_ found: kinglet_child_exit) -> Bool {
        let status: ProcessExitStatus = found.exited != 0
            ? .exited(code: found.code)
            : .killed(signal: found.code, coreDumped: found.core_dumped != 0)
        let exit = ChildExit(pid: found.pid, status: status)
        if let owner = owners.removeValue(forKey: found.pid) {
            owner(exit)
        } else {
            keepUnclaimed(exit)
        }
        return kinglet_child_reap(found.pid) == found.pid
    }

    func keepUnclaimed(_ exit: ChildExit) {
        let now = loop.now
        for (pid, early) in unclaimed where now.since(early.reapedAt) > ChildReaper.unclaimedLifetime {
            unclaimed[pid] = nil
        }
        if unclaimed.count >= ChildReaper.unclaimedLimit, let oldest = unclaimed.min(by: { $0.value.reapedAt < $1.value.reapedAt }) {
            unclaimed[oldest.key] = nil
        }
        unclaimed[exit.pid] = UnclaimedExit(status: exit.status, reapedAt: now)
    }

    private func armPoll() {
        guard let interval = pollInterval, pollTimer == nil else { return }
        pollTimer = loop.schedule(after: interval) {
            self.pollTimer = nil
            self.reapExited()
            if !self.owners.isEmpty { self.armPoll() }
        }
    }
}
