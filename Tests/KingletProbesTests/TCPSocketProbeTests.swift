import CKingletSystem
import KingletCore
import KingletProbes
import Testing

/// tcpSocket probes against real loopback sockets on a real epoll loop.
@Suite struct TCPSocketProbeTests {
    @Test func connectToListeningSocketSucceeds() throws {
        let listener = try TestListener()
        let outcome = try runAttempt(.tcpSocket(TCPSocketProbe(host: "127.0.0.1", port: listener.port)))
        #expect(outcome == .success())
    }

    @Test(.enabled(if: TestListener.hasIPv6Loopback, "this machine has no IPv6 loopback"))
    func connectOverIPv6LoopbackSucceeds() throws {
        let listener = try TestListener(host: "::1")
        #expect(try runAttempt(.tcpSocket(TCPSocketProbe(host: "::1", port: listener.port))) == .success())
        // Brackets are a natural slip when writing IPv6 hosts; they are accepted.
        #expect(try runAttempt(.tcpSocket(TCPSocketProbe(host: "[::1]", port: listener.port))) == .success())
    }

    @Test func closedPortFailsAsRefused() throws {
        let port = try TestListener.closedPort()
        let outcome = try runAttempt(.tcpSocket(TCPSocketProbe(host: "127.0.0.1", port: port)))
        #expect(outcome == .failure("dial tcp 127.0.0.1:" + String(port) + ": connect: connection refused"))
    }

    @Test(.enabled(if: TestListener.hasIPv6Loopback, "this machine has no IPv6 loopback"))
    func closedIPv6PortNamesTheAddressInBrackets() throws {
        let port = try TestListener.closedPort(host: "::1")
        let outcome = try runAttempt(.tcpSocket(TCPSocketProbe(host: "::1", port: port)))
        #expect(outcome == .failure("dial tcp [::1]:" + String(port) + ": connect: connection refused"))
    }

    /// A listener whose backlog is full drops new SYNs, so the connect hangs until the
    /// probe's timeout.
    @Test func connectThatNeverCompletesTimesOut() throws {
        let listener = try TestListener(backlog: 0)
        var fillers: [Int32] = []
        defer { for fd in fillers { close(fd) } }
        for _ in 0..<4 {
            var fd: Int32 = -1
            _ = kinglet_tcp_connect_start("127.0.0.1", UInt16(listener.port), &fd)
            if fd >= 0 { fillers.append(fd) }
        }
        usleep(50_000)  // let the fillers' handshakes settle into the full backlog
        let outcome = try runAttempt(.tcpSocket(TCPSocketProbe(host: "127.0.0.1", port: listener.port)), timeout: .milliseconds(200))
        #expect(outcome == .failure("dial tcp 127.0.0.1:" + String(listener.port) + ": i/o timeout"))
    }

    @Test func hostNameIsRefusedWithoutResolving() throws {
        let outcome = try runAttempt(.tcpSocket(TCPSocketProbe(host: "localhost", port: 80)))
        #expect(outcome?.result == .failure)
        #expect(outcome?.message.contains("probe host \"localhost\" is not a numeric IP address") == true)
    }

    @Test func emptyHostAndBadPortsFail() throws {
        #expect(try runAttempt(.tcpSocket(TCPSocketProbe(host: "", port: 80)))
                == .failure(ProbeConfigurationError.missingHost.description))
        for port in [0, -1, 65536] {
            #expect(try runAttempt(.tcpSocket(TCPSocketProbe(host: "127.0.0.1", port: port)))
                    == .failure("probe port " + String(port) + " is out of range (1-65535)"))
        }
    }

    @Test func validateReportsTheSameProblemsUpFront() {
        #expect(throws: ProbeConfigurationError.hostNotNumeric("db.local")) {
            try NetworkProbe.tcpSocket(TCPSocketProbe(host: "db.local", port: 5432)).validate()
        }
        #expect(throws: Never.self) {
            try NetworkProbe.tcpSocket(TCPSocketProbe(host: "10.1.2.3", port: 5432)).validate()
        }
    }
}
