import KingletCore
import KingletLoopTesting
import KingletRuntime
import Testing

/// The kubelet's restart back-off, on a manual clock: no sleeping.
@Suite struct CrashLoopBackOffTests {
    @Test func delaysDoubleFromTenSecondsToAFiveMinuteCap() {
        var backOff = CrashLoopBackOff()
        let delays = (0..<8).map { _ in backOff.delay(afterRunningFor: .seconds(1)).nanoseconds / 1_000_000_000 }
        #expect(delays == [10, 20, 40, 80, 160, 300, 300, 300])
    }

    @Test func aTenMinuteRunResetsTheBackOff() {
        var backOff = CrashLoopBackOff()
        for _ in 0..<4 { _ = backOff.delay(afterRunningFor: .seconds(5)) }
        #expect(backOff.delay(afterRunningFor: .seconds(599)) == .seconds(160))
        #expect(backOff.delay(afterRunningFor: .seconds(600)) == .seconds(10))
        #expect(backOff.delay(afterRunningFor: .seconds(1)) == .seconds(20))
        backOff.reset()
        #expect(backOff.delay(afterRunningFor: .seconds(1)) == .seconds(10))
    }

    /// A container restarted on the loop after each back-off delay. It crashes after 1 s
    /// eight times (waits 10, 20, ... 300, 300 s), then runs for 10 minutes (the back-off
    /// starts over at 10 s), then crashes quickly again.
    @Test func restartsScheduledOnTheLoopFollowTheBackOff() {
        let loop = ManualEventLoop()
        var backOff = CrashLoopBackOff()
        let runs: [Int64] = [1, 1, 1, 1, 1, 1, 1, 1, 600, 1, 1]
        var next = 0
        var startedAt = loop.now
        var exitedAt = loop.now
        var waits: [Int64] = []

        func start() {
            startedAt = loop.now
            guard next < runs.count else { return }
            let length = runs[next]
            next += 1
            loop.schedule(after: .seconds(length)) { crash() }
        }
        func crash() {
            exitedAt = loop.now
            let delay = backOff.delay(afterRunningFor: loop.now.since(startedAt))
            loop.schedule(after: delay) {
                waits.append(loop.now.since(exitedAt).nanoseconds / 1_000_000_000)
                start()
            }
        }
        start()
        loop.advance(by: .seconds(10_000))
        #expect(waits == [10, 20, 40, 80, 160, 300, 300, 300, 10, 20, 40])
        #expect(loop.pendingTimers == 0)
    }
}
