/// Counts durations in logarithmic buckets (four per power of two, so a bucket spans at
/// most 25 % of its value) without allocating after creation: the loop records every
/// dispatch in it, and the benchmarks read percentiles of the loop's stalls from it.
public struct DurationHistogram: Sendable {
    /// Microseconds below this are counted exactly, one bucket each.
    private static let exact: UInt64 = 8
    private static let bucketCount = 8 + 4 * 40
    private var buckets: [UInt64]
    public private(set) var count: UInt64 = 0
    public private(set) var maximum = Duration.zero

    public init() { buckets = [UInt64](repeating: 0, count: DurationHistogram.bucketCount) }

    public mutating func record(_ duration: Duration) {
        let microseconds = UInt64(max(0, duration.nanoseconds / 1_000))
        buckets[DurationHistogram.bucket(of: microseconds)] &+= 1
        count &+= 1
        if duration > maximum { maximum = duration }
    }

    /// The upper bound, in microseconds, of the bucket holding the `fraction` quantile
    /// (0.5 for the median, 0.99 for p99): the true value is at most this. 0 when empty.
    public func quantileMicroseconds(_ fraction: Double) -> Int64 {
        guard count > 0 else { return 0 }
        let rank = UInt64((Double(count) * fraction).rounded(.up))
        var seen: UInt64 = 0
        for (index, bucketCount) in buckets.enumerated() {
            seen += bucketCount
            if seen >= max(rank, 1) { return min(DurationHistogram.upperBound(of: index), maximum.nanoseconds / 1_000) }
        }
        return maximum.nanoseconds / 1_000
    }

    /// Calls `body` with each non-empty bucket, in order: its upper bound in microseconds
    /// (the last one capped at the maximum seen) and its count. Two snapshots of these give
    /// the histogram of the time between them.
    public func forEachBucket(_ body: (_ upperBoundMicroseconds: Int64, _ count: UInt64) -> Void) {
        let maximumMicroseconds = maximum.nanoseconds / 1_000
        for (index, bucketCount) in buckets.enumerated() where bucketCount > 0 {
            body(min(DurationHistogram.upperBound(of: index), maximumMicroseconds), bucketCount)
        }
    }

    public mutating func reset() {
        for index in buckets.indices { buckets[index] = 0 }
        count = 0
        maximum = .zero
    }

    static func bucket(of microseconds: UInt64) -> Int {
        if microseconds < exact { return Int(microseconds) }
        let exponent = 63 - microseconds.leadingZeroBitCount  // >= 3
        let quarter = Int((microseconds >> UInt64(exponent - 2)) & 3)
        return min(bucketCount - 1, 8 + (exponent - 3) * 4 + quarter)
    }

    static func upperBound(of bucket: Int) -> Int64 {
        if bucket < Int(exact) { return Int64(bucket) }
        let exponent = (bucket - 8) / 4 + 3
        let quarter = (bucket - 8) % 4
        return Int64((4 + quarter + 1) << (exponent - 2)) - 1
    }
}
