import KingletCore
import Testing

@Suite struct FileWatchTests {
    @Test func readinessOutsideTheInterestIsFilteredOut() {
        let watch = FileWatch(interest: .readable) { _ in }
        #expect(watch.relevant([.readable, .writable]) == .readable)
        #expect(watch.relevant(.writable).isEmpty)
    }

    @Test func hangupsAndErrorsReachEveryWatch() {
        let watch = FileWatch(interest: .writable) { _ in }
        #expect(watch.relevant([.hangup, .error]) == [.hangup, .error])
    }

    @Test func durationsConvertToNanoseconds() {
        #expect(Duration.seconds(2).nanoseconds == 2_000_000_000)
        #expect(Duration.milliseconds(3).nanoseconds == 3_000_000)
        #expect(Instant(nanoseconds: 10).advanced(by: .microseconds(1)) == Instant(nanoseconds: 1_010))
        #expect(Instant(nanoseconds: 5_000_000).since(Instant(nanoseconds: 1_000_000)).milliseconds == 4)
    }
}

@Suite struct SaturatingTimeTests {
    @Test func hugeDurationsSaturateInsteadOfTrapping() {
        #expect(Duration.seconds(10_000_000_000).nanoseconds == Int64.max)
        #expect(Duration.seconds(-10_000_000_000).nanoseconds == Int64.min)
        #expect((Duration.seconds(9_000_000_000) * 4).nanoseconds == Int64.max)
        #expect((Duration(nanoseconds: Int64.max) + .seconds(1)).nanoseconds == Int64.max)
    }

    @Test func deadlinePastTheEndOfTimeMeansNever() {
        let now = Instant(nanoseconds: 1_000)
        #expect(now.advanced(by: .seconds(10_000_000_000)) == Instant(nanoseconds: Int64.max))
        #expect(now.advanced(by: .seconds(10_000_000_000)) > now)
    }
}
