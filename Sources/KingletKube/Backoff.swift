/// Exponential back-off with jitter: `initial`, doubling up to `maximum`, each delay moved
/// by up to ±`jitter` of itself so that many clients that failed together do not retry
/// together.
public struct Backoff: Sendable {
    public var initial: Double
    public var maximum: Double
    public var jitter: Double
    private var next: Double

    public init(initial: Double = 0.5, maximum: Double = 30, jitter: Double = 0.2) {
        self.initial = initial
        self.maximum = maximum
        self.jitter = jitter
        self.next = initial
    }

    /// The delay to wait now, in seconds; the one after is twice as long.
    public mutating func nextDelay() -> Double {
        let base = next
        next = min(next * 2, maximum)
        return base * (1 + Double.random(in: -jitter...jitter))
    }

    public mutating func reset() { next = initial }
}
