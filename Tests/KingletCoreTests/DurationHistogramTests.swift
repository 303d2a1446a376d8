import KingletCore
import Testing

/// The loop's stall histogram: quantiles are upper bounds within a quarter of the value.
@Suite struct DurationHistogramTests {
    @Test func quantilesAreBucketUpperBoundsNeverBelowTheTruth() {
        var histogram = DurationHistogram()
        for microseconds in 1...1_000 { histogram.record(.microseconds(Int64(microseconds))) }
        let median = histogram.quantileMicroseconds(0.5)
        let p99 = histogram.quantileMicroseconds(0.99)
        #expect(median >= 500 && median <= 625)
        #expect(p99 >= 990 && p99 <= 1_000, "capped at the maximum seen")
        #expect(histogram.count == 1_000)
        #expect(histogram.maximum == .microseconds(1_000))
    }

    @Test func smallValuesAreExact() {
        var histogram = DurationHistogram()
        for _ in 0..<99 { histogram.record(.microseconds(3)) }
        histogram.record(.milliseconds(48))
        #expect(histogram.quantileMicroseconds(0.5) == 3)
        #expect(histogram.quantileMicroseconds(0.99) == 3)
        #expect(histogram.quantileMicroseconds(1.0) == 48_000)
    }

    @Test func bucketsAddUpToTheCount() {
        var histogram = DurationHistogram()
        for microseconds in [1, 2, 2, 9, 100, 100, 5_000] { histogram.record(.microseconds(Int64(microseconds))) }
        var total: UInt64 = 0
        var bounds: [Int64] = []
        histogram.forEachBucket { bound, count in
            total += count
            bounds.append(bound)
        }
        #expect(total == 7)
        #expect(bounds == bounds.sorted())
        #expect(bounds.last == 5_000)
        histogram.reset()
        #expect(histogram.count == 0 && histogram.quantileMicroseconds(0.5) == 0)
    }
}
