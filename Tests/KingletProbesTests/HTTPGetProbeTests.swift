import KingletCore
import KingletProbes
import Testing

/// httpGet probes against a real HTTP server on loopback, on a real epoll loop.
@Suite struct HTTPGetProbeTests {
    func probe(_ server: ProbeTestServer, _ path: String, host: String = "127.0.0.1",
               headers: [RequestHeader] = []) -> NetworkProbe {
        .httpGet(HTTPGetProbe(host: host, port: server.port, path: path, headers: headers))
    }

    @Test func status200Succeeds() throws {
        try withProbeTestServer { server throws in
            #expect(try runAttempt(probe(server, "/status/200")) == .success())
        }
    }

    @Test func otherSuccessStatusesSucceed() throws {
        try withProbeTestServer { server throws in
            #expect(try runAttempt(probe(server, "/status/204")) == .success())
            #expect(try runAttempt(probe(server, "/status/399"))?.succeeded == true)
        }
    }

    /// The kubelet follows redirects to the same host; we do not follow any, and report a
    /// 3xx as its "Probe terminated redirects" warning, which counts as success.
    @Test func redirectIsAWarningThatCountsAsSuccess() throws {
        try withProbeTestServer { server throws in
            let outcome = try runAttempt(probe(server, "/status/302"))
            #expect(outcome == .warning("Probe terminated redirects, statuscode: 302"))
            #expect(outcome?.succeeded == true)
        }
    }

    @Test func status404And500Fail() throws {
        try withProbeTestServer { server throws in
            #expect(try runAttempt(probe(server, "/status/404")) == .failure("HTTP probe failed with statuscode: 404"))
            #expect(try runAttempt(probe(server, "/status/500")) == .failure("HTTP probe failed with statuscode: 500"))
            #expect(try runAttempt(probe(server, "/status/199")) == .failure("HTTP probe failed with statuscode: 199"))
        }
    }

    @Test func serverThatNeverAnswersTimesOut() throws {
        try withProbeTestServer { server throws in
            let outcome = try runAttempt(probe(server, "/slow"), timeout: .milliseconds(200))
            let url = "http://127.0.0.1:" + String(server.port) + "/slow"
            #expect(outcome == .failure("Get \"" + url + "\": context deadline exceeded (Client.Timeout exceeded while awaiting headers)"))
        }
    }

    @Test func garbageResponseIsMalformed() throws {
        try withProbeTestServer { server throws in
            let url = "http://127.0.0.1:" + String(server.port) + "/garbage"
            #expect(try runAttempt(probe(server, "/garbage")) == .failure(
                "Get \"" + url + "\": net/http: HTTP/1.x transport connection broken: malformed HTTP response \"garbage\""))
        }
    }

    @Test func statusLineLongerThanTheBufferIsMalformed() throws {
        try withProbeTestServer { server throws in
            let outcome = try runAttempt(probe(server, "/long-line"), timeout: .seconds(5))
            #expect(outcome?.result == .failure)
            #expect(outcome?.message.contains("malformed HTTP response \"HTTP/1.1 200 xxxxxxxx") == true)
            #expect(outcome?.message.hasSuffix("...\"") == true)
        }
    }

    @Test func connectionClosedWithoutAnswerIsEOF() throws {
        try withProbeTestServer { server throws in
            let url = "http://127.0.0.1:" + String(server.port) + "/close"
            #expect(try runAttempt(probe(server, "/close")) == .failure("Get \"" + url + "\": EOF"))
        }
    }

    @Test func refusedConnectionIsReportedInsideTheGetMessage() throws {
        let port = try TestListener.closedPort()
        let outcome = try runAttempt(.httpGet(HTTPGetProbe(host: "127.0.0.1", port: port, path: "/healthz")))
        let hostPort = "127.0.0.1:" + String(port)
        #expect(outcome == .failure("Get \"http://" + hostPort + "/healthz\": dial tcp " + hostPort + ": connect: connection refused"))
    }

    @Test func requestCarriesTheKubeletsHeadersAndTheSpecsOwn() throws {
        try withProbeTestServer { server throws in
            let headers = [RequestHeader(name: "X-Probe", value: "liveness"), RequestHeader(name: "Authorization", value: "Bearer t")]
            #expect(try runAttempt(probe(server, "/inspect?full=1", headers: headers)) == .success())
            #expect(server.recordedRequest() == [
                "GET /inspect?full=1 HTTP/1.1",
                "Host: 127.0.0.1:" + String(server.port),
                "User-Agent: kinglet-probe/0.1",
                "Accept: */*",
                "X-Probe: liveness",
                "Authorization: Bearer t",
                "Connection: close",
            ])
        }
    }

    @Test func specHeadersReplaceHostUserAgentAndAccept() throws {
        try withProbeTestServer { server throws in
            let headers = [
                RequestHeader(name: "host", value: "app.example"),
                RequestHeader(name: "User-Agent", value: "custom/1"),
                RequestHeader(name: "Accept", value: ""),
                RequestHeader(name: "Connection", value: "keep-alive"),
            ]
            #expect(try runAttempt(probe(server, "inspect", headers: headers)) == .success())
            #expect(server.recordedRequest() == [
                "GET /inspect HTTP/1.1",
                "Host: app.example",
                "User-Agent: custom/1",
                "Connection: close",
            ])
        }
    }

    @Test(.enabled(if: TestListener.hasIPv6Loopback, "this machine has no IPv6 loopback"))
    func probeOverIPv6Loopback() throws {
        try withProbeTestServer(host: "::1") { server throws in
            #expect(try runAttempt(probe(server, "/status/200", host: "::1")) == .success())
            #expect(try runAttempt(probe(server, "/status/503", host: "::1")) == .failure("HTTP probe failed with statuscode: 503"))
        }
        let port = String(try TestListener.closedPort(host: "::1"))
        #expect(try runAttempt(.httpGet(HTTPGetProbe(host: "::1", port: Int(port)!, path: ""))) == .failure(
            "Get \"http://[::1]:" + port + "/\": dial tcp [::1]:" + port + ": connect: connection refused"))
    }

    @Test func httpsIsReportedAsUnsupported() throws {
        let outcome = try runAttempt(.httpGet(HTTPGetProbe(scheme: .https, host: "127.0.0.1", port: 8443, path: "/healthz")))
        #expect(outcome == .failure("Get \"https://127.0.0.1:8443/healthz\": HTTPS probes are not supported yet"))
    }

    @Test func headerThatWouldSplitTheRequestIsRefused() throws {
        let bad = HTTPGetProbe(host: "127.0.0.1", port: 80, headers: [RequestHeader(name: "X-A", value: "1\r\nX-B: 2")])
        #expect(try runAttempt(.httpGet(bad)) == .failure("probe header \"X-A\" has a value with a line break or NUL"))
        #expect(throws: ProbeConfigurationError.invalidHeaderName("Bad Name")) {
            try NetworkProbe.httpGet(HTTPGetProbe(host: "127.0.0.1", port: 80, headers: [RequestHeader(name: "Bad Name", value: "x")])).validate()
        }
    }
}
