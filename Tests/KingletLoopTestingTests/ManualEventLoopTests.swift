import KingletCore
import KingletLoopTesting
import Testing

@Suite struct ManualEventLoopTests {
    final class Log { var entries: [String] = [] }

    @Test func advanceFiresDueTimersEachAtItsOwnDeadline() {
        let loop = ManualEventLoop()
        let log = Log()
        loop.schedule(after: .milliseconds(30)) { log.entries.append("b@\(loop.now.nanoseconds / 1_000_000)") }
        loop.schedule(after: .milliseconds(10)) { log.entries.append("a@\(loop.now.nanoseconds / 1_000_000)") }
        loop.schedule(after: .milliseconds(90)) { log.entries.append("c") }
        loop.advance(by: .milliseconds(50))
        #expect(log.entries == ["a@10", "b@30"])
        #expect(loop.now == Instant(nanoseconds: 50_000_000))
        #expect(loop.pendingTimers == 1)
    }

    @Test func timersScheduledByCallbacksFireWithinTheSameAdvanceWhenDue() {
        let loop = ManualEventLoop()
        var ticks: [Int64] = []
        func tick() {
            ticks.append(loop.now.nanoseconds / 1_000_000)
            if ticks.count < 5 { loop.schedule(after: .milliseconds(100), tick) }
        }
        loop.schedule(after: .milliseconds(100), tick)
        loop.advance(by: .seconds(1))
        #expect(ticks == [100, 200, 300, 400, 500])
    }

    @Test func cancelledTimerDoesNotFire() {
        let loop = ManualEventLoop()
        var fired = false
        let timer = loop.schedule(after: .seconds(1)) { fired = true }
        loop.cancel(timer)
        loop.advance(by: .seconds(2))
        #expect(!fired)
    }

    @Test func readinessReachesOnlyInterestedWatchers() throws {
        let loop = ManualEventLoop()
        var seen: [IOReadiness] = []
        try loop.watch(7, interest: .readable) { seen.append($0) }
        #expect(!loop.signalReady(7, .writable))
        #expect(loop.signalReady(7, [.readable, .writable]))
        try loop.changeInterest(of: 7, to: .writable)
        #expect(loop.signalReady(7, .writable))
        loop.unwatch(7)
        #expect(!loop.signalReady(7, .readable))
        #expect(seen == [.readable, .writable])
    }

    @Test func changingInterestOfUnwatchedDescriptorThrows() {
        let loop = ManualEventLoop()
        #expect(throws: LoopError.self) { try loop.changeInterest(of: 3, to: .readable) }
    }

    @Test func signalHandlerCanStopTheLoop() throws {
        let loop = ManualEventLoop()
        try loop.handle([.terminate, .interrupt]) { _ in loop.stop() }
        #expect(!loop.deliver(.hangup))
        #expect(loop.deliver(.terminate))
        #expect(loop.isStopped)
    }
}
