import Foundation
import KingletCore
import KingletEpoll
@testable import KingletHTTP
import KingletTestPeers
import Testing

/// The client on a real epoll loop against real servers on loopback.
@Suite("HTTP client against real servers")
struct HTTPClientTests {
    // MARK: plain HTTP with Hummingbird

    @Test func contentLengthBodyArrivesWholeAndEndsTheRequestOnce() async throws {
        let server = try await HummingbirdServer.start()
        defer { Task { await server.stop() } }
        let fetched = try await fetch(get("http://127.0.0.1:\(server.port)/hello"))
        #expect(fetched.error == nil, "\(fetched.error?.description ?? "")")
        #expect(fetched.head?.status == 200)
        #expect(fetched.head?.reason == "OK")
        #expect(fetched.head?.contentLength == 12)
        #expect(fetched.bodyText == "hello world\n")
        #expect(fetched.finished)
        #expect(fetched.outcomes == 1)
        #expect(!fetched.calledInsideSend)
        #expect(fetched.protocolViolations.isEmpty)
        #expect(fetched.activeAfter == 0)
    }

    @Test func chunkedBodyOfSeveralMegabytesStreamsWithMatchingHash() async throws {
        let server = try await HummingbirdServer.start()
        defer { Task { await server.stop() } }
        let size = 6_000_000
        let fetched = try await fetch(get("http://127.0.0.1:\(server.port)/stream?size=\(size)&piece=70001"), keepBody: false)
        #expect(fetched.error == nil, "\(fetched.error?.description ?? "")")
        #expect(fetched.head?["transfer-encoding"] == "chunked")
        #expect(fetched.head?.contentLength == nil)
        #expect(fetched.bodyCount == size)
        #expect(fetched.sha256 == sha256(patternBytes(0..<size)))
        #expect(fetched.chunkCallbacks > 10)
        #expect(fetched.finished && fetched.outcomes == 1)
    }

    @Test func headResponseHasNoBodyWhateverItsContentLengthSays() async throws {
        let server = try await HummingbirdServer.start()
        defer { Task { await server.stop() } }
        let fetched = try await fetch(get("http://127.0.0.1:\(server.port)/hello", method: "HEAD"))
        #expect(fetched.error == nil, "\(fetched.error?.description ?? "")")
        #expect(fetched.head?.status == 200)
        #expect(fetched.head?.contentLength == 12)
        #expect(fetched.bodyCount == 0)
        #expect(fetched.finished)
    }

    @Test func notFoundIsAResponseWithItsBodyNotAFailure() async throws {
        let server = try await HummingbirdServer.start()
        defer { Task { await server.stop() } }
        let fetched = try await fetch(get("http://127.0.0.1:\(server.port)/missing"))
        #expect(fetched.error == nil)
        #expect(fetched.head?.status == 404)
        #expect(fetched.bodyText == "no such thing here")
        #expect(fetched.finished)
    }

    @Test func redirectLocationResolvesAgainstTheRequestAndTheCallerFollowsIt() async throws {
        let server = try await HummingbirdServer.start()
        defer { Task { await server.stop() } }
        let first = try get("http://127.0.0.1:\(server.port)/a/redirect", headers: HTTPHeaders([("Authorization", "Bearer t")]))
        let redirect = try await fetch(first)
        #expect(redirect.error == nil)
        #expect(redirect.head?.status == 302, "the client does not follow redirects itself")
        let head = try #require(redirect.head)
        let next = try #require(try first.redirected(by: head))
        #expect(next.url.description == "http://127.0.0.1:\(server.port)/landing/here?from=a")
        #expect(next.headers["Authorization"] == "Bearer t", "same origin keeps the credentials")
        let landed = try await fetch(next)
        #expect(landed.head?.status == 200)
        #expect(landed.bodyText == "landed from=a")
    }

    @Test func repeatedHeaderKeepsEveryValueAndLookupIgnoresCase() async throws {
        let server = try await HummingbirdServer.start()
        defer { Task { await server.stop() } }
        let fetched = try await fetch(get("http://127.0.0.1:\(server.port)/repeated"))
        #expect(fetched.head?.values(of: "x-multi") == ["first", "second"])
        #expect(fetched.head?["X-MULTI"] == "first")
        #expect(fetched.head?["content-LENGTH"] == "2")
    }

    @Test func responseReturningFalseSkipsTheBodyAndFinishes() async throws {
        let server = try await HummingbirdServer.start()
        defer { Task { await server.stop() } }
        let fetched = try await fetch(get("http://127.0.0.1:\(server.port)/stream?size=5000000"), wantBody: false)
        #expect(fetched.head?.status == 200)
        #expect(fetched.bodyCount == 0)
        #expect(fetched.finished && fetched.outcomes == 1)
        #expect(fetched.activeAfter == 0)
    }

    @Test func severalRequestsRunAtOnceOnOneLoop() async throws {
        let server = try await HummingbirdServer.start()
        defer { Task { await server.stop() } }
        let requests = try (0..<6).map { index in
            try get("http://127.0.0.1:\(server.port)/" + (index % 2 == 0 ? "hello" : "stream?size=\(300_000 + index)"))
        }
        let results = try await fetchAll(requests)
        for (index, fetched) in results.enumerated() {
            #expect(fetched.finished, "request \(index): \(fetched.error?.description ?? "")")
            #expect(fetched.bodyCount == (index % 2 == 0 ? 12 : 300_000 + index))
        }
    }

    @Test func twentyMegabyteBodyArrivesInBoundedChunksSoTheLoopIsNeverHeld() async throws {
        let server = try await HummingbirdServer.start()
        defer { Task { await server.stop() } }
        let size = 20_000_000
        let fetched = try await fetch(get("http://127.0.0.1:\(server.port)/sized?size=\(size)"), keepBody: false)
        #expect(fetched.error == nil, "\(fetched.error?.description ?? "")")
        #expect(fetched.head?.contentLength == Int64(size))
        #expect(fetched.bodyCount == size)
        #expect(fetched.sha256 == sha256(patternBytes(0..<size)))
        #expect(fetched.largestChunk <= 64 * 1024, "largest single body callback: \(fetched.largestChunk)")
        #expect(fetched.chunkCallbacks >= size / (64 * 1024))
        print("20 MB body: \(fetched.chunkCallbacks) callbacks, largest \(fetched.largestChunk) bytes, "
              + "longest loop dispatch \(fetched.longestDispatch.nanoseconds / 1000) us, \(fetched.elapsed.milliseconds) ms")
    }

    // MARK: names and addresses

    @Test func localhostResolvesOnTheResolverThread() async throws {
        let server = try await HummingbirdServer.start()
        defer { Task { await server.stop() } }
        let fetched = try await fetch(get("http://localhost:\(server.port)/hello"))
        #expect(fetched.error == nil, "\(fetched.error?.description ?? "")")
        #expect(fetched.bodyText == "hello world\n")
        #expect(!fetched.calledInsideSend)
    }

    @Test func ipv6LiteralInBracketsConnects() async throws {
        let server: HummingbirdServer
        do {
            server = try await HummingbirdServer.start(host: "::1")
        } catch {
            print("no IPv6 loopback here, skipped: \(error)")
            return
        }
        defer { Task { await server.stop() } }
        let fetched = try await fetch(get("http://[::1]:\(server.port)/hello"))
        #expect(fetched.error == nil, "\(fetched.error?.description ?? "")")
        #expect(fetched.bodyText == "hello world\n")
    }

    @Test func unknownHostFailsToResolveNamingTheHost() async throws {
        var settings = HTTPClientSettings()
        settings.connectTimeout = .seconds(15)
        let fetched = try await fetch(get("http://no-such-host.invalid:5000/v2/"), settings: settings)
        let error = try #require(fetched.error)
        guard case .resolveFailed(let server, _) = error else {
            Issue.record("expected a resolve failure, got \(error)")
            return
        }
        #expect(server == "no-such-host.invalid:5000")
        #expect(error.description.hasPrefix("cannot resolve no-such-host.invalid:5000: "))
    }

    @Test func closedPortGivesConnectionRefused() async throws {
        let port = try Loopback.freePort()
        let fetched = try await fetch(get("http://127.0.0.1:\(port)/"))
        #expect(fetched.error == .connectionRefused(server: "127.0.0.1:\(port)", address: ""))
        #expect(fetched.error?.description == "connection to 127.0.0.1:\(port) refused")
        // By name, the error says which address refused.
        let byName = try await fetch(get("http://localhost:\(port)/"))
        #expect(byName.error?.description == "connection to localhost:\(port) refused (at 127.0.0.1:\(port))"
                || byName.error?.description == "connection to localhost:\(port) refused (at [::1]:\(port))")
        #expect(fetched.outcomes == 1 && !fetched.calledInsideSend)
    }

    @Test func connectThatHangsTimesOut() async throws {
        // A listener whose accept queue is full drops new SYNs: the connect hangs.
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, length) } }
        listen(listener, 0)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) } }
        let port = Int(UInt16(bigEndian: address.sin_port))
        var fillers: [Int32] = []
        defer {
            for fd in fillers { close(fd) }
            close(listener)
        }
        for _ in 0..<4 {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
            _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, length) } }
            fillers.append(fd)
        }
        usleep(100_000)
        var settings = HTTPClientSettings()
        settings.connectTimeout = .milliseconds(400)
        let fetched = try await fetch(get("http://127.0.0.1:\(port)/"), settings: settings)
        #expect(fetched.error == .timedOut(server: "127.0.0.1:\(port)", phase: "the connection", after: .milliseconds(400)))
        #expect(fetched.error?.description == "timed out after 400 ms waiting for the connection from 127.0.0.1:\(port)")
        #expect(fetched.elapsed >= .milliseconds(400) && fetched.elapsed < .seconds(5))
    }

    @Test func idleClientIsFreedAndItsResolverStops() async throws {
        let server = try await HummingbirdServer.start()
        defer { Task { await server.stop() } }
        let port = server.port
        let (finished, freed) = try await onOwnThread { () throws -> (Bool, Bool) in
            let loop = try EpollEventLoop()
            var client: HTTPClient? = HTTPClient(loop: loop)
            weak let watcher = client
            let recorder = Recorder()
            client?.send(try get("http://localhost:\(port)/hello"), handler: recorder)
            let giveUp = loop.now.advanced(by: .seconds(10))
            while !recorder.done && loop.now < giveUp { try loop.runOnce(timeoutMilliseconds: 20) }
            client = nil
            return (recorder.fetched.finished, watcher == nil)
        }
        #expect(finished)
        #expect(freed, "nothing but the caller holds an idle client")
    }

    // MARK: misbehaving servers

    @Test func serverThatNeverAnswersTimesOut() async throws {
        let server = try RawServer(accepting: false)
        defer { server.stop() }
        var settings = HTTPClientSettings()
        settings.idleTimeout = .milliseconds(300)
        let fetched = try await fetch(get("http://127.0.0.1:\(server.port)/v2/"), settings: settings)
        #expect(fetched.error == .timedOut(server: "127.0.0.1:\(server.port)", phase: "the response", after: .milliseconds(300)))
        #expect(fetched.error?.description == "timed out after 300 ms waiting for the response from 127.0.0.1:\(server.port)")
        #expect(fetched.elapsed >= .milliseconds(300) && fetched.elapsed < .seconds(5))
    }

    @Test func serverClosingMidBodyReportsHowManyBodyBytesArrived() async throws {
        let server = try RawServer { connection in
            RawServer.write(connection, "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")
            RawServer.write(connection, patternBytes(0..<300))
        }
        defer { server.stop() }
        let fetched = try await fetch(get("http://127.0.0.1:\(server.port)/blob"))
        #expect(fetched.error == .peerClosedEarly(server: "127.0.0.1:\(server.port)", bodyBytesReceived: 300, expectedBodyBytes: 1000))
        #expect(fetched.error?.description == "127.0.0.1:\(server.port) closed the connection after 300 of 1000 body bytes")
        #expect(fetched.body == patternBytes(0..<300), "the bytes that came were delivered")
    }

    @Test func chunkedBodyCutShortReportsTheBytesThatArrived() async throws {
        let server = try RawServer { connection in
            RawServer.write(connection, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n64\r\n")
            RawServer.write(connection, patternBytes(0..<100))
            RawServer.write(connection, "\r\n64\r\n")
            RawServer.write(connection, patternBytes(100..<150))
        }
        defer { server.stop() }
        let fetched = try await fetch(get("http://127.0.0.1:\(server.port)/blob"))
        #expect(fetched.error == .peerClosedEarly(server: "127.0.0.1:\(server.port)", bodyBytesReceived: 150, expectedBodyBytes: nil))
        #expect(fetched.body == patternBytes(0..<150))
    }

    @Test func closeBeforeAnyResponseIsReported() async throws {
        let server = try RawServer { _ in }
        defer { server.stop() }
        let fetched = try await fetch(get("http://127.0.0.1:\(server.port)/"))
        #expect(fetched.error == .closedBeforeResponse(server: "127.0.0.1:\(server.port)", bytesReceived: 0))
    }

    @Test func malformedStatusLineIsAParseErrorSayingWhatCame() async throws {
        let server = try RawServer { connection in
            RawServer.write(connection, "HTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
        }
        defer { server.stop() }
        let fetched = try await fetch(get("http://127.0.0.1:\(server.port)/"))
        guard case .malformedResponse(let name, let reason)? = fetched.error else {
            Issue.record("expected a malformed response, got \(String(describing: fetched.error))")
            return
        }
        #expect(name == "127.0.0.1:\(server.port)")
        #expect(reason.contains("'HTP/1.1 200 OK'"))
        #expect(fetched.head == nil)
    }

    @Test func headBlockOverTheLimitIsRefused() async throws {
        let server = try RawServer { connection in
            RawServer.write(connection, "HTTP/1.1 200 OK\r\nX-Big: " + String(repeating: "x", count: 70_000) + "\r\n\r\n")
        }
        defer { server.stop() }
        let fetched = try await fetch(get("http://127.0.0.1:\(server.port)/"))
        #expect(fetched.error == .responseHeadTooLarge(server: "127.0.0.1:\(server.port)", limit: 65536))
    }

    @Test func chunkExtensionsAndTrailersAreReadAndTheLastChunkEndsTheBody() async throws {
        let server = try RawServer { connection in
            RawServer.write(connection, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                            + "5;name=value\r\nhello\r\n6 ; q=\"a b\"\r\n world\r\n0\r\nX-Checksum: abc\r\n\r\n")
            // Held open: the last chunk, not the close, must end the body.
            usleep(2_000_000)
        }
        defer { server.stop() }
        let fetched = try await fetch(get("http://127.0.0.1:\(server.port)/"))
        #expect(fetched.error == nil, "\(fetched.error?.description ?? "")")
        #expect(fetched.bodyText == "hello world")
        #expect(fetched.elapsed < .milliseconds(1500))
    }

    @Test func bodyWithoutLengthRunsUntilTheClose() async throws {
        let server = try RawServer { connection in
            RawServer.write(connection, "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end")
        }
        defer { server.stop() }
        let fetched = try await fetch(get("http://127.0.0.1:\(server.port)/"))
        #expect(fetched.error == nil)
        #expect(fetched.head?.versionMinor == 0)
        #expect(fetched.bodyText == "until the end")
    }

    @Test func noContentEndsWithoutWaitingForTheClose() async throws {
        let server = try RawServer { connection in
            RawServer.write(connection, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\nX-A: b\r\n\r\n")
            usleep(2_000_000)
        }
        defer { server.stop() }
        let fetched = try await fetch(get("http://127.0.0.1:\(server.port)/"))
        #expect(fetched.head?.status == 204, "the interim 100 is skipped")
        #expect(fetched.finished)
        #expect(fetched.elapsed < .milliseconds(1500))
    }

    // MARK: TLS

    @Test func tlsWithTheTestCAVerifiesByAddressAndByName() async throws {
        let folder = HTTPScratchFolder()
        defer { folder.remove() }
        let certificates = try TestCertificates.make(in: folder.path)
        let server = try await HummingbirdServer.start(tls: certificates)
        defer { Task { await server.stop() } }
        var settings = HTTPClientSettings()
        settings.extraCAFile = certificates.caPath
        let results = try await fetchAll([
            try get("https://127.0.0.1:\(server.port)/hello"),
            try get("https://localhost:\(server.port)/stream?size=3000000"),
        ], settings: settings, keepBody: false)
        #expect(results[0].error == nil, "\(results[0].error?.description ?? "")")
        #expect(results[0].sha256 == sha256(Array("hello world\n".utf8)))
        #expect(results[1].error == nil, "\(results[1].error?.description ?? "")")
        #expect(results[1].bodyCount == 3_000_000)
        #expect(results[1].sha256 == sha256(patternBytes(0..<3_000_000)))
        #expect(results[1].largestChunk <= 64 * 1024)
    }

    @Test func tlsWithoutTrustingTheCAFailsVerificationWithOpenSSLsReason() async throws {
        let folder = HTTPScratchFolder()
        defer { folder.remove() }
        let certificates = try TestCertificates.make(in: folder.path)
        let server = try await HummingbirdServer.start(tls: certificates)
        defer { Task { await server.stop() } }
        let fetched = try await fetch(get("https://127.0.0.1:\(server.port)/hello"))
        guard case .certificateVerificationFailed(let name, let reason)? = fetched.error else {
            Issue.record("expected a verification failure, got \(String(describing: fetched.error))")
            return
        }
        #expect(name == "127.0.0.1:\(server.port)")
        #expect(reason.hasPrefix("unable to get local issuer certificate"))
        #expect(fetched.error?.description.hasPrefix("certificate verification failed for 127.0.0.1:\(server.port): ") == true)
        #expect(fetched.head == nil)
    }

    @Test func tlsWithASmallReadBudgetStillDeliversEveryByte() async throws {
        // A budget below a TLS record's 16 KiB leaves decrypted bytes inside OpenSSL that
        // the socket no longer shows; the client must come back for them by itself.
        let folder = HTTPScratchFolder()
        defer { folder.remove() }
        let certificates = try TestCertificates.make(in: folder.path)
        let server = try await HummingbirdServer.start(tls: certificates)
        defer { Task { await server.stop() } }
        var settings = HTTPClientSettings()
        settings.extraCAFile = certificates.caPath
        settings.readBudget = 5000
        let size = 1_000_000
        let fetched = try await fetch(get("https://127.0.0.1:\(server.port)/sized?size=\(size)"), settings: settings, keepBody: false)
        #expect(fetched.error == nil, "\(fetched.error?.description ?? "")")
        #expect(fetched.bodyCount == size)
        #expect(fetched.sha256 == sha256(patternBytes(0..<size)))
        #expect(fetched.largestChunk <= 5000)
    }

    @Test func certificateForAnotherNameFailsHostNameVerification() async throws {
        let folder = HTTPScratchFolder()
        defer { folder.remove() }
        let ca = try TestCA(folder: folder.path)
        let other = try ca.server(certFor: "registry.invalid", hosts: ["registry.invalid"])
        let server = try await HummingbirdServer.start(certificate: (other.certificate, other.key))
        defer { Task { await server.stop() } }
        var settings = HTTPClientSettings()
        settings.extraCAFile = ca.certificate
        let results = try await fetchAll([
            try get("https://localhost:\(server.port)/hello"),
            try get("https://127.0.0.1:\(server.port)/hello"),
        ], settings: settings)
        guard case .certificateVerificationFailed(_, let byName)? = results[0].error,
              case .certificateVerificationFailed(_, let byAddress)? = results[1].error else {
            Issue.record("expected verification failures, got \(results.map { String(describing: $0.error) })")
            return
        }
        #expect(byName == "hostname mismatch (the certificate is not for localhost)")
        #expect(byAddress == "IP address mismatch (the certificate is not for 127.0.0.1)")
        // Trusting nothing but checking nothing (an insecure registry) connects.
        settings.verifyCertificates = false
        settings.extraCAFile = nil
        let insecure = try await fetch(get("https://localhost:\(server.port)/hello"), settings: settings)
        #expect(insecure.bodyText == "hello world\n")
    }

    @Test func tlsToAPlainHTTPServerFailsTheHandshake() async throws {
        let server = try await HummingbirdServer.start()
        defer { Task { await server.stop() } }
        let fetched = try await fetch(get("https://127.0.0.1:\(server.port)/hello"))
        guard case .tlsHandshakeFailed(let name, let reason)? = fetched.error else {
            Issue.record("expected a handshake failure, got \(String(describing: fetched.error))")
            return
        }
        #expect(name == "127.0.0.1:\(server.port)")
        #expect(!reason.isEmpty)
        print("TLS to plain HTTP: \(fetched.error!.description)")
    }

    @Test func unreadableExtraCAFileIsASetupError() async throws {
        var settings = HTTPClientSettings()
        settings.extraCAFile = "/nonexistent/ca.crt"
        let fetched = try await fetch(get("https://127.0.0.1:1/"), settings: settings)
        guard case .tlsSetupFailed(let reason)? = fetched.error else {
            Issue.record("expected a TLS setup failure, got \(String(describing: fetched.error))")
            return
        }
        #expect(reason.contains("/nonexistent/ca.crt"))
    }

    // MARK: the contract with the caller

    @Test func invalidRequestFailsOnTheNextTurnNotInsideSend() async throws {
        let request = try get("http://127.0.0.1:1/", headers: HTTPHeaders([("X-Evil", "a\r\nInjected: yes")]))
        let fetched = try await fetch(request)
        guard case .invalidRequest(_, let reason)? = fetched.error else {
            Issue.record("expected an invalid request, got \(String(describing: fetched.error))")
            return
        }
        #expect(reason.contains("X-Evil"))
        #expect(!fetched.calledInsideSend)
    }

    @Test func cancelledRequestHearsNothingMoreAndReleasesItsSocket() async throws {
        let server = try RawServer(accepting: false)
        defer { server.stop() }
        let port = server.port
        let (outcomes, active) = try await onOwnThread { () throws -> (Int, Int) in
            let loop = try EpollEventLoop()
            let client = HTTPClient(loop: loop)
            let recorder = Recorder()
            let id = client.send(try get("http://127.0.0.1:\(port)/"), handler: recorder)
            for _ in 0..<10 { try loop.runOnce(timeoutMilliseconds: 10) }
            client.cancel(id)
            client.cancel(id)
            for _ in 0..<10 { try loop.runOnce(timeoutMilliseconds: 10) }
            return (recorder.fetched.outcomes, client.activeRequestCount)
        }
        #expect(outcomes == 0)
        #expect(active == 0)
    }

    @Test func cancellingFromInsideTheBodyCallbackStopsDelivery() async throws {
        let server = try await HummingbirdServer.start()
        defer { Task { await server.stop() } }
        let port = server.port
        let (chunks, outcomes, active) = try await onOwnThread { () throws -> (Int, Int, Int) in
            final class Canceller: HTTPResponseHandler {
                var client: HTTPClient?
                var id: HTTPRequestID?
                var chunks = 0
                var outcomes = 0
                func response(_ head: HTTPResponseHead) -> Bool { true }
                func body(_ bytes: UnsafeRawBufferPointer) {
                    chunks += 1
                    if let id { client?.cancel(id) }
                }
                func finished() { outcomes += 1 }
                func failed(_ error: HTTPClientError) { outcomes += 1 }
            }
            let loop = try EpollEventLoop()
            let client = HTTPClient(loop: loop)
            let handler = Canceller()
            handler.client = client
            handler.id = client.send(try get("http://127.0.0.1:\(port)/stream?size=2000000&piece=1000"), handler: handler)
            let giveUp = loop.now.advanced(by: .seconds(10))
            while handler.chunks == 0 && loop.now < giveUp { try loop.runOnce(timeoutMilliseconds: 20) }
            for _ in 0..<20 { try loop.runOnce(timeoutMilliseconds: 5) }
            handler.client = nil  // the test's own cycle
            return (handler.chunks, handler.outcomes, client.activeRequestCount)
        }
        #expect(chunks == 1)
        #expect(outcomes == 0)
        #expect(active == 0)
    }
}
