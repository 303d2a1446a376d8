/// A point on a loop's monotonic clock, in nanoseconds from an arbitrary origin.
public struct Instant: Comparable, Hashable, Sendable {
    public let nanoseconds: Int64
    public init(nanoseconds: Int64) { self.nanoseconds = nanoseconds }

    public static func < (a: Instant, b: Instant) -> Bool { a.nanoseconds < b.nanoseconds }

    /// Saturates instead of wrapping: a deadline past the end of time is "never", not
    /// "long ago" (a huge probe delay or grace period from a manifest must not fire at once).
    public func advanced(by duration: Duration) -> Instant {
        let (sum, overflow) = nanoseconds.addingReportingOverflow(duration.nanoseconds)
        if !overflow { return Instant(nanoseconds: sum) }
        return Instant(nanoseconds: duration.nanoseconds > 0 ? Int64.max : Int64.min)
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
    // Arithmetic saturates at about ±292 years: durations come from manifests (grace
    // periods, probe delays), and a huge number there must not trap the agent.
    public static func + (a: Duration, b: Duration) -> Duration { Duration(saturating: a.nanoseconds.addingReportingOverflow(b.nanoseconds), sign: b.nanoseconds) }
    public static func * (a: Duration, factor: Int64) -> Duration { scaled(a.nanoseconds, by: factor) }

    public static let zero = Duration(nanoseconds: 0)
    public static func nanoseconds(_ n: Int64) -> Duration { Duration(nanoseconds: n) }
    public static func microseconds(_ n: Int64) -> Duration { scaled(n, by: 1_000) }
    public static func milliseconds(_ n: Int64) -> Duration { scaled(n, by: 1_000_000) }
    public static func seconds(_ n: Int64) -> Duration { scaled(n, by: 1_000_000_000) }

    private static func scaled(_ value: Int64, by factor: Int64) -> Duration {
        let (product, overflow) = value.multipliedReportingOverflow(by: factor)
        if !overflow { return Duration(nanoseconds: product) }
        return Duration(nanoseconds: (value < 0) == (factor < 0) ? Int64.max : Int64.min)
    }

    private init(saturating result: (partialValue: Int64, overflow: Bool), sign: Int64) {
        nanoseconds = result.overflow ? (sign > 0 ? Int64.max : Int64.min) : result.partialValue
    }

    public var milliseconds: Int64 { nanoseconds / 1_000_000 }
}
