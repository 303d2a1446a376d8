/// A point on a loop's monotonic clock, in nanoseconds from an arbitrary origin.
public struct Instant: Comparable, Hashable, Sendable {
    public let nanoseconds: Int64
    public init(nanoseconds: Int64) { self.nanoseconds = nanoseconds }

    public static func < (a: Instant, b: Instant) -> Bool { a.nanoseconds < b.nanoseconds }

    public func advanced(by duration: Duration) -> Instant {
        Instant(nanoseconds: nanoseconds &+ duration.nanoseconds)
    }

    /// The time from `earlier` to this instant.
    public func since(_ earlier: Instant) -> Duration {
        Duration(nanoseconds: nanoseconds &- earlier.nanoseconds)
    }
}

/// A span of time in nanoseconds. (Our own type: the standard library's `Duration` is
/// not in the Embedded subset on every target.)
public struct Duration: Comparable, Hashable, Sendable {
    public let nanoseconds: Int64
    public init(nanoseconds: Int64) { self.nanoseconds = nanoseconds }

    public static func < (a: Duration, b: Duration) -> Bool { a.nanoseconds < b.nanoseconds }
    public static func + (a: Duration, b: Duration) -> Duration { Duration(nanoseconds: a.nanoseconds + b.nanoseconds) }
    public static func * (a: Duration, factor: Int64) -> Duration { Duration(nanoseconds: a.nanoseconds * factor) }

    public static let zero = Duration(nanoseconds: 0)
    public static func nanoseconds(_ n: Int64) -> Duration { Duration(nanoseconds: n) }
    public static func microseconds(_ n: Int64) -> Duration { Duration(nanoseconds: n * 1_000) }
    public static func milliseconds(_ n: Int64) -> Duration { Duration(nanoseconds: n * 1_000_000) }
    public static func seconds(_ n: Int64) -> Duration { Duration(nanoseconds: n * 1_000_000_000) }

    public var milliseconds: Int64 { nanoseconds / 1_000_000 }
}
