@testable import KingletProbes
import Testing

/// The request we send and the status line we read, byte by byte.
@Suite struct HTTPProbeRequestTests {
    @Test func pathBecomesARequestTarget() {
        #expect(HTTPProbeRequest.requestTarget("") == "/")
        #expect(HTTPProbeRequest.requestTarget("/healthz") == "/healthz")
        #expect(HTTPProbeRequest.requestTarget("healthz") == "/healthz")
        #expect(HTTPProbeRequest.requestTarget("/q?a=1&b=2") == "/q?a=1&b=2")
        #expect(HTTPProbeRequest.requestTarget("/a b\r\nX: y") == "/a%20b%0D%0AX:%20y")
        #expect(HTTPProbeRequest.requestTarget("/caf\u{e9}") == "/caf%C3%A9")
        #expect(HTTPProbeRequest.requestTarget("/page#top") == "/page")
    }

    @Test func defaultRequestBytes() throws {
        let endpoint = try ProbeEndpoint(host: "10.0.0.7", port: 8080)
        let request = HTTPProbeRequest(HTTPGetProbe(host: "10.0.0.7", port: 8080, path: "/healthz"), endpoint: endpoint)
        #expect(String(decoding: request.bytes, as: UTF8.self) ==
            "GET /healthz HTTP/1.1\r\nHost: 10.0.0.7:8080\r\nUser-Agent: kinglet-probe/0.1\r\nAccept: */*\r\nConnection: close\r\n\r\n")
        #expect(request.url == "http://10.0.0.7:8080/healthz")
    }

    @Test func ipv6HostIsBracketedInHostHeaderAndURL() throws {
        let endpoint = try ProbeEndpoint(host: "fd00::2", port: 80)
        let request = HTTPProbeRequest(HTTPGetProbe(host: "fd00::2", port: 80, path: ""), endpoint: endpoint)
        #expect(request.url == "http://[fd00::2]:80/")
        #expect(String(decoding: request.bytes, as: UTF8.self).hasPrefix("GET / HTTP/1.1\r\nHost: [fd00::2]:80\r\n"))
    }

    @Test func statusLines() {
        func status(_ line: String) -> Int? {
            var line = line
            return line.withUTF8 { HTTPStatusLine.statusCode(of: $0) }
        }
        #expect(status("HTTP/1.1 200 OK") == 200)
        #expect(status("HTTP/1.0 404 Not Found") == 404)
        #expect(status("HTTP/1.1 204") == 204)
        #expect(status("HTTP/1.1 302 ") == 302)
        #expect(status("garbage") == nil)
        #expect(status("HTTP/1.1 2000 OK") == nil)
        #expect(status("HTTP/1.1 20 OK") == nil)
        #expect(status("HTTP/1.1 099 X") == nil)
        #expect(status("HTTP/x.1 200 OK") == nil)
        #expect(status("HTTP/1.1200 OK") == nil)
        #expect(status("http/1.1 200 OK") == nil)
    }

    @Test func schemeNamesAreCaseInsensitive() {
        #expect(HTTPScheme(name: "HTTP") == .http)
        #expect(HTTPScheme(name: "https") == .https)
        #expect(HTTPScheme(name: "ftp") == nil)
    }

    @Test func quotedTextEscapesWhatCannotBePrinted() {
        #expect(ProbeText.quotable("a\"b\\c\u{1}") == "a\\\"b\\\\c\\x01")
        #expect(ProbeText.quotable(String(repeating: "x", count: 70), limit: 4) == "xxxx...")
    }
}
