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
