import CKingletSystem
import KingletCore
import KingletEpoll
import Testing

/// Real descriptors, a real timerfd and a real signalfd. No assertion depends on how fast
/// the machine is: only on order and on what was delivered.
@Suite struct EpollEventLoopTests {
    final class Pipe {
        let read: Int32
        let write: Int32
        init() throws {
            var fds: [Int32] = [0, 0]
            guard kinglet_pipe_nonblocking(&fds) == 0 else { throw LoopError(call: "pipe2", errno: kinglet_errno(), reason: "") }
            read = fds[0]
            write = fds[1]
        }
        func send(_ text: String) {
            var text = text
            _ = text.withUTF8 { CKingletSystem.write(write, $0.baseAddress, $0.count) }
        }
        func receive() -> String {
            var buffer = [UInt8](repeating: 0, count: 256)
            let count = buffer.withUnsafeMutableBytes { CKingletSystem.read(read, $0.baseAddress, 256) }
            return count > 0 ? String(decoding: buffer[0..<count], as: UTF8.self) : ""
        }
        deinit {
            close(read)
            close(write)
        }
    }

    @Test func readableDescriptorCallsItsHandlerWithTheData() throws {
        let loop = try EpollEventLoop()
        let pipe = try Pipe()
        var received = ""
        try loop.watch(pipe.read, interest: .readable) { readiness in
            #expect(readiness.contains(.readable))
            received = pipe.receive()
            loop.stop()
        }
        pipe.send("hello")
        try loop.run()
        #expect(received == "hello")
    }

    @Test func writableInterestReportsAnEmptyPipeAsWritable() throws {
        let loop = try EpollEventLoop()
        let pipe = try Pipe()
        var readiness: IOReadiness = []
        try loop.watch(pipe.write, interest: .writable) { readiness = $0; loop.stop() }
        try loop.run()
        #expect(readiness == .writable)
    }

    @Test func closedWriterIsReportedAsHangup() throws {
        let loop = try EpollEventLoop()
        var fds: [Int32] = [0, 0]
        #expect(kinglet_pipe_nonblocking(&fds) == 0)
        defer { close(fds[0]) }
        var readiness: IOReadiness = []
        try loop.watch(fds[0], interest: .readable) { readiness = $0; loop.stop() }
        close(fds[1])
        try loop.run()
        #expect(readiness.contains(.hangup))
    }

    @Test func unwatchedDescriptorNoLongerWakesTheLoop() throws {
        let loop = try EpollEventLoop()
        let pipe = try Pipe()
        var calls = 0
        try loop.watch(pipe.read, interest: .readable) { _ in calls += 1 }
        loop.unwatch(pipe.read)
        pipe.send("x")
        loop.schedule(after: .milliseconds(20)) { loop.stop() }
        try loop.run()
        #expect(calls == 0)
    }

    @Test func timersFireInDeadlineOrderAndNeverEarly() throws {
        let loop = try EpollEventLoop()
        var order: [String] = []
        let start = loop.now
        var lateness: [Int64] = []
        for (label, ms) in [("c", 15), ("a", 5), ("b", 10)] {
            let deadline = start.advanced(by: .milliseconds(Int64(ms)))
            loop.schedule(at: deadline) {
                order.append(label)
                lateness.append(loop.now.nanoseconds - deadline.nanoseconds)
                if order.count == 3 { loop.stop() }
            }
        }
        try loop.run()
        #expect(order == ["a", "b", "c"])
        #expect(lateness.allSatisfy { $0 >= 0 })
    }

    @Test func cancelledTimerDoesNotFire() throws {
        let loop = try EpollEventLoop()
        var fired = false
        let timer = loop.schedule(after: .milliseconds(1)) { fired = true }
        loop.cancel(timer)
        loop.schedule(after: .milliseconds(10)) { loop.stop() }
        try loop.run()
        #expect(!fired)
    }

    @Test func timerRescheduledAtNowDoesNotStarveDescriptors() throws {
        let loop = try EpollEventLoop()
        let pipe = try Pipe()
        var spins = 0
        func spin() {
            spins += 1
            loop.schedule(at: loop.now, spin)
        }
        loop.schedule(at: loop.now, spin)
        var readAfterSpins = -1
        try loop.watch(pipe.read, interest: .readable) { _ in
            _ = pipe.receive()
            readAfterSpins = spins
            loop.stop()
        }
        pipe.send("ping")
        for _ in 0..<100 where readAfterSpins < 0 { try loop.runOnce(timeoutMilliseconds: 100) }
        #expect(readAfterSpins >= 0 && readAfterSpins <= 2)
    }

    @Test func handledSignalArrivesOnTheLoopInsteadOfKillingTheProcess() throws {
        let loop = try EpollEventLoop()
        var received: [ProcessSignal] = []
        try loop.handle([.hangup]) { signal in
            received.append(signal)
            loop.stop()
        }
        // raise() targets this thread, where the signal is now blocked and read via signalfd.
        #expect(raise(SIGHUP) == 0)
        try loop.run()
        #expect(received == [.hangup])
    }

    @Test func watchingAnInvalidDescriptorThrowsWithErrno() throws {
        let loop = try EpollEventLoop()
        do {
            try loop.watch(-5, interest: .readable) { _ in }
            Issue.record("watching fd -5 should fail")
        } catch {
            #expect(error.errno == EBADF)
            #expect(error.description.contains("epoll_ctl(ADD)"))
        }
    }

    @Test func longestDispatchMeasuresTheSlowestHandler() throws {
        let loop = try EpollEventLoop()
        loop.schedule(after: .milliseconds(1)) {
            let until = kinglet_monotonic_ns() + 3_000_000
            while kinglet_monotonic_ns() < until {}
            loop.stop()
        }
        try loop.run()
        #expect(loop.longestDispatch >= .milliseconds(3))
    }
}
