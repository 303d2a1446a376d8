import KingletCore

/// The kubelet's restart back-off for one container (CrashLoopBackOff): the first restart
/// waits 10 s, each further one twice as long up to 5 min, and a container that ran for
/// 10 min before exiting starts over at 10 s. A value: the pod manager keeps one per
/// container and schedules the restart on its loop.
public struct CrashLoopBackOff: Equatable, Sendable {
    public static let initialDelay = Duration.seconds(10)
    public static let maximumDelay = Duration.seconds(300)
    /// A run at least this long counts as healthy and resets the back-off.
    public static let resetAfterRunning = Duration.seconds(600)

    /// The delay given for the previous restart, nil before the first.
    public private(set) var lastDelay: Duration? = nil

    public init() {}

    /// The wait before restarting a container that exited after running for `ranFor`.
    public mutating func delay(afterRunningFor ranFor: Duration) -> Duration {
        if ranFor >= CrashLoopBackOff.resetAfterRunning { lastDelay = nil }
        let delay: Duration
        if let last = lastDelay {
            delay = last * 2 < CrashLoopBackOff.maximumDelay ? last * 2 : CrashLoopBackOff.maximumDelay
        } else {
            delay = CrashLoopBackOff.initialDelay
        }
        lastDelay = delay
        return delay
    }

    /// Forgets past restarts (the pod was deleted or its spec changed).
    public mutating func reset() {
        lastDelay = nil
    }
}
