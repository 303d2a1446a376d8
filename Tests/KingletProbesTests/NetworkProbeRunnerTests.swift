import CKingletSystem
import Foundation
import KingletCore
import KingletEpoll
import KingletLoopTesting
@testable import KingletProbes
import Testing

/// The runner's lifecycle on a loop the test drives: what it watches, when it reports, and
/// that every path gives the socket, the watch and the timer back.
@Suite struct NetworkProbeRunnerTests {
    /// What a descriptor number refers to ("socket:[1234]"), to tell our socket from
    /// whatever reuses the number once it is closed.
    func identity(of fd: Int32) -> String? {
        try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/" + String(fd))
    }

    /// Waits (bounded) until the kernel says `fd` is ready for `events`.
    func waitReady(_ fd: Int32, _ events: Int32) -> Bool {
        var entry = pollfd(fd: fd, events: Int16(events), revents: 0)
        return Glibc.poll(&entry, 1, 2000) > 0
    }

    @Test func timeoutReleasesSocketWatchAndTimer() throws {
        let listener = try TestListener()
        let loop = ManualEventLoop()
        let runner = NetworkProbeRunner(.tcpSocket(TCPSocketProbe(host: "127.0.0.1", port: listener.port)), loop: loop)
        var outcomes: [ProbeOutcome] = []
        runner.run(timeout: .seconds(1)) { outcomes.append($0) }
        let fd = runner.socketDescriptor
        let socket = identity(of: fd)
        #expect(loop.interest(of: fd) == .writable)
        #expect(socket?.hasPrefix("socket:") == true)

        loop.advance(by: .milliseconds(999))
        #expect(outcomes.isEmpty)
        loop.advance(by: .milliseconds(1))
        #expect(outcomes == [.failure("dial tcp 127.0.0.1:" + String(listener.port) + ": i/o timeout")])
        #expect(loop.interest(of: fd) == nil)
        #expect(loop.pendingTimers == 0)
        #expect(identity(of: fd) != socket)
        #expect(!runner.isRunning)
    }

    @Test func cancelReleasesEverythingAndNeverReports() throws {
        let listener = try TestListener()
        let loop = ManualEventLoop()
        let runner = NetworkProbeRunner(.httpGet(HTTPGetProbe(host: "127.0.0.1", port: listener.port)), loop: loop)
        var outcomes: [ProbeOutcome] = []
        runner.run(timeout: .seconds(1)) { outcomes.append($0) }
        let fd = runner.socketDescriptor
        let socket = identity(of: fd)
        runner.cancel()
        #expect(loop.interest(of: fd) == nil)
        #expect(loop.pendingTimers == 0)
        #expect(identity(of: fd) != socket)
        loop.advance(by: .seconds(5))
        #expect(outcomes.isEmpty)
        #expect(!runner.isRunning)
    }

    /// Connect, send, then a status line that arrives in two pieces: each step happens
    /// only when the loop says the socket is ready.
    @Test func httpAttemptAdvancesOnlyOnReadiness() throws {
        let listener = try TestListener()
        let loop = ManualEventLoop()
        let runner = NetworkProbeRunner(.httpGet(HTTPGetProbe(host: "127.0.0.1", port: listener.port, path: "/ready")), loop: loop)
        var outcomes: [ProbeOutcome] = []
        runner.run(timeout: .seconds(1)) { outcomes.append($0) }
        let fd = runner.socketDescriptor

        #expect(waitReady(fd, POLLOUT))
        loop.signalReady(fd, .writable)
        #expect(loop.interest(of: fd) == .readable)  // request sent, awaiting the answer

        #expect(waitReady(listener.fd, POLLIN))
        let peer = accept(listener.fd, nil, nil)
        #expect(peer >= 0)
        defer { close(peer) }
        var request = [UInt8](repeating: 0, count: 512)
        #expect(waitReady(peer, POLLIN))
        let count = read(peer, &request, request.count)
        #expect(String(decoding: request[0..<max(count, 0)], as: UTF8.self).hasPrefix("GET /ready HTTP/1.1\r\n"))

        for piece in ["HTTP/1.1 5", "03 Busy\r\n"] {
            _ = piece.withCString { write(peer, $0, strlen($0)) }
            #expect(waitReady(fd, POLLIN))
            loop.signalReady(fd, .readable)
        }
        #expect(outcomes == [.failure("HTTP probe failed with statuscode: 503")])
        #expect(loop.interest(of: fd) == nil)
        #expect(loop.pendingTimers == 0)
    }

    @Test func configurationFailureIsReportedFromTheLoopNotFromRun() {
        let loop = ManualEventLoop()
        let runner = NetworkProbeRunner(.tcpSocket(TCPSocketProbe(host: "web", port: 80)), loop: loop)
        var outcomes: [ProbeOutcome] = []
        runner.run(timeout: .seconds(1)) { outcomes.append($0) }
        #expect(outcomes.isEmpty)
        #expect(runner.isRunning)
        loop.advance(by: .zero)
        #expect(outcomes == [.failure(ProbeConfigurationError.hostNotNumeric("web").description)])
        #expect(loop.pendingTimers == 0)
    }

    @Test func cancellingABadProbeBeforeItReportsSilencesIt() {
        let loop = ManualEventLoop()
        let runner = NetworkProbeRunner(.httpGet(HTTPGetProbe(scheme: .https, host: "127.0.0.1", port: 443)), loop: loop)
        var outcomes: [ProbeOutcome] = []
        runner.run(timeout: .seconds(1)) { outcomes.append($0) }
        runner.cancel()
        loop.advance(by: .seconds(2))
        #expect(outcomes.isEmpty)
        #expect(loop.pendingTimers == 0)
    }

    @Test func secondRunWhileRunningFailsAndLeavesTheFirstAlone() throws {
        let listener = try TestListener()
        let loop = ManualEventLoop()
        let runner = NetworkProbeRunner(.tcpSocket(TCPSocketProbe(host: "127.0.0.1", port: listener.port)), loop: loop)
        var first: [ProbeOutcome] = []
        var second: [ProbeOutcome] = []
        runner.run(timeout: .seconds(1)) { first.append($0) }
        runner.run(timeout: .seconds(1)) { second.append($0) }
        loop.advance(by: .zero)
        #expect(second == [.failure("probe attempt already running")])
        #expect(first.isEmpty)
        let fd = runner.socketDescriptor
        #expect(waitReady(fd, POLLOUT))
        loop.signalReady(fd, .writable)
        #expect(first == [.success()])
    }

    /// The pod manager reuses one runner per probe; the completion may start the next
    /// attempt at once.
    @Test func completionMayStartTheNextAttemptOnTheSameRunner() throws {
        try withProbeTestServer { server throws in
            let loop = try EpollEventLoop()
            let runner = NetworkProbeRunner(.httpGet(HTTPGetProbe(host: "127.0.0.1", port: server.port, path: "/status/200")), loop: loop)
            var outcomes: [ProbeOutcome] = []
            func attempt() {
                runner.run(timeout: .seconds(5)) { outcome in
                    outcomes.append(outcome)
                    if outcomes.count < 3 { attempt() }
                }
            }
            attempt()
            let giveUp = loop.now.advanced(by: .seconds(15))
            while outcomes.count < 3 && loop.now < giveUp { try loop.runOnce(timeoutMilliseconds: 50) }
            #expect(outcomes == [.success(), .success(), .success()])
            #expect(!runner.isRunning)
        }
    }
}
