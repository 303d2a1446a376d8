import KingletCore
import KingletLink
import Testing

@Suite struct ReconnectBackoffTests {
    @Test func delaysDoubleFromOneSecondToSixtyWithinTwentyPercent() {
        var backoff = ReconnectBackoff(seed: 7)
        let bases: [Int64] = [1, 2, 4, 8, 16, 32, 60, 60, 60]
        for base in bases {
            let delay = backoff.nextDelay().nanoseconds
            let nominal = base * 1_000_000_000
            #expect(delay >= nominal * 8 / 10 && delay <= nominal * 12 / 10, "delay \(delay) for base \(base) s")
        }
    }

    @Test func sameSeedGivesSameDelaysAndJitterVaries() {
        var a = ReconnectBackoff(seed: 42)
        var b = ReconnectBackoff(seed: 42)
        var seen: Set<Int64> = []
        for _ in 0..<20 {
            let delay = a.nextDelay()
            #expect(delay == b.nextDelay())
            seen.insert(delay.nanoseconds)
        }
        #expect(seen.count > 10, "jitter makes the capped delays differ")
        var other = ReconnectBackoff(seed: 43)
        var fresh = ReconnectBackoff(seed: 42)
        #expect(other.nextDelay() != fresh.nextDelay())
    }

    @Test func connectionOfSixtySecondsResetsButShorterDoesNot() {
        var backoff = ReconnectBackoff(seed: 1)
        for _ in 0..<5 { _ = backoff.nextDelay() }
        backoff.connectionEnded(lasted: .seconds(59))
        #expect(backoff.failures == 5)
        #expect(backoff.nextDelay() >= .seconds(25))
        backoff.connectionEnded(lasted: .seconds(60))
        #expect(backoff.failures == 0)
        #expect(backoff.nextDelay() <= .milliseconds(1200))
    }
}
