import KingletCore

/// When to try the broker again: 1 s, doubling to 60 s at most, each delay with ±20 %
/// jitter (so a fleet that lost its broker at once does not come back in lock step), and
/// back to 1 s after a connection that lasted 60 s (docs/protocol.md).
public struct ReconnectBackoff {
    public static let initial = Duration.seconds(1)
    public static let maximum = Duration.seconds(60)
    /// A connection that lasted this long resets the back-off.
    public static let stableAfter = Duration.seconds(60)
    public static let jitterFraction = 0.2

    private var generator: SeededGenerator
    /// Failed attempts since the last stable connection.
    public private(set) var failures = 0

    public init(seed: UInt64) { generator = SeededGenerator(seed: seed) }

    /// The delay before the next attempt, counting this failure.
    public mutating func nextDelay() -> Duration {
        var base = ReconnectBackoff.initial.nanoseconds
        var step = 0
        while step < failures && base < ReconnectBackoff.maximum.nanoseconds {
            base *= 2
            step += 1
        }
        base = min(base, ReconnectBackoff.maximum.nanoseconds)
        failures += 1
        let factor = 1.0 + ReconnectBackoff.jitterFraction * (2.0 * generator.unit() - 1.0)
        return Duration(nanoseconds: Int64(Double(base) * factor))
    }

    /// A connection ended after `lasted`: a long one means the broker is fine again.
    public mutating func connectionEnded(lasted: Duration) {
        if lasted >= ReconnectBackoff.stableAfter { failures = 0 }
    }

    public mutating func reset() { failures = 0 }
}
