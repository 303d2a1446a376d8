@testable import KingletHTTP
import Testing

@Suite("HTTP requests and redirects")
struct HTTPRequestTests {
    @Test func encodedRequestHasHostAgentAndClose() throws {
        var request = HTTPRequest(url: try HTTPURL("http://[::1]:5000/v2/?last=x y"))
        request.headers.add("Accept", "application/vnd.oci.image.index.v1+json")
        request.headers.add("Accept", "application/vnd.oci.image.manifest.v1+json")
        request.headers.add("Connection", "keep-alive")
        request.headers.add("Content-Length", "99")
        let text = String(decoding: try request.encoded(userAgent: "kinglet/0.1"), as: UTF8.self)
        #expect(text == "GET /v2/?last=x%20y HTTP/1.1\r\nHost: [::1]:5000\r\nUser-Agent: kinglet/0.1\r\n"
                + "Accept: application/vnd.oci.image.index.v1+json\r\nAccept: application/vnd.oci.image.manifest.v1+json\r\n"
                + "Connection: close\r\n\r\n")
    }

    @Test func givenHostAndAgentWinAndABodyGetsItsLength() throws {
        let request = HTTPRequest(method: "POST", url: try HTTPURL("https://auth.example/token"),
                                  headers: HTTPHeaders([("host", "other.example"), ("User-Agent", "x/1"),
                                                        ("Content-Type", "application/x-www-form-urlencoded")]),
                                  body: Array("grant_type=password".utf8))
        let text = String(decoding: try request.encoded(userAgent: "kinglet/0.1"), as: UTF8.self)
        #expect(text == "POST /token HTTP/1.1\r\nHost: other.example\r\nUser-Agent: x/1\r\n"
                + "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 19\r\nConnection: close\r\n\r\n"
                + "grant_type=password")
    }

    @Test func requestsThatWouldBreakFramingAreRefused() throws {
        let url = try HTTPURL("http://h/")
        #expect(throws: HTTPClientError.self) { try HTTPRequest(method: "GE T", url: url).encoded(userAgent: "") }
        #expect(throws: HTTPClientError.self) {
            try HTTPRequest(url: url, headers: HTTPHeaders([("Bad Name", "x")])).encoded(userAgent: "")
        }
        #expect(throws: HTTPClientError.self) {
            try HTTPRequest(url: url, headers: HTTPHeaders([("X", "a\nb")])).encoded(userAgent: "")
        }
    }

    @Test func headersAreOrderedAndCaseInsensitive() {
        var headers = HTTPHeaders([("A", "1"), ("b", "2"), ("a", "3")])
        #expect(headers["a"] == "1")
        #expect(headers.values(of: "A") == ["1", "3"])
        headers.set("A", "4")
        #expect(headers.fields == [HTTPHeaderField(name: "A", value: "4"), HTTPHeaderField(name: "b", value: "2")])
        headers.remove("B")
        #expect(headers.count == 1)
        #expect(!headers.contains("b"))
    }

    @Test func redirectToAnotherHostDropsCredentials() throws {
        let request = HTTPRequest(url: try HTTPURL("https://registry.example/v2/a/blobs/sha256:1"),
                                  headers: HTTPHeaders([("Authorization", "Bearer secret"), ("Accept", "*/*"),
                                                        ("Cookie", "c=1"), ("Host", "registry.example")]))
        let head = HTTPResponseHead(status: 307, headers: HTTPHeaders([("location", "https://blobs.example/x?sig=1")]))
        let next = try #require(try request.redirected(by: head))
        #expect(next.url.description == "https://blobs.example/x?sig=1")
        #expect(next.headers["Authorization"] == nil)
        #expect(next.headers["Cookie"] == nil)
        #expect(next.headers["Host"] == nil)
        #expect(next.headers["Accept"] == "*/*")
        #expect(next.method == "GET")
    }

    @Test func redirectOnTheSameOriginKeepsCredentials() throws {
        let request = HTTPRequest(url: try HTTPURL("http://127.0.0.1:5000/v2/a/manifests/x"),
                                  headers: HTTPHeaders([("Authorization", "Bearer secret")]))
        let head = HTTPResponseHead(status: 301, headers: HTTPHeaders([("Location", "/v2/b/manifests/x")]))
        let next = try #require(try request.redirected(by: head))
        #expect(next.url.description == "http://127.0.0.1:5000/v2/b/manifests/x")
        #expect(next.headers["Authorization"] == "Bearer secret")
        // Another port is another origin.
        let otherPort = HTTPResponseHead(status: 302, headers: HTTPHeaders([("Location", "http://127.0.0.1:5001/x")]))
        #expect(try request.redirected(by: otherPort)?.headers["Authorization"] == nil)
    }

    @Test func redirectMethodRules() throws {
        let url = try HTTPURL("http://h/a")
        let post = HTTPRequest(method: "POST", url: url, headers: HTTPHeaders([("Content-Type", "text/plain")]), body: [1, 2])
        func head(_ status: Int) -> HTTPResponseHead { HTTPResponseHead(status: status, headers: HTTPHeaders([("Location", "b")])) }
        let seeOther = try #require(try post.redirected(by: head(303)))
        #expect(seeOther.method == "GET" && seeOther.body.isEmpty && seeOther.headers["Content-Type"] == nil)
        #expect(seeOther.url.description == "http://h/b")
        #expect(try post.redirected(by: head(302))?.method == "GET")
        let temporary = try #require(try post.redirected(by: head(307)))
        #expect(temporary.method == "POST" && temporary.body == [1, 2])
        #expect(try post.redirected(by: head(308))?.method == "POST")
        #expect(try HTTPRequest(method: "HEAD", url: url).redirected(by: head(303))?.method == "HEAD")
        #expect(try post.redirected(by: HTTPResponseHead(status: 200)) == nil)
        #expect(try post.redirected(by: HTTPResponseHead(status: 304)) == nil)
    }

    @Test func redirectWithoutAUsableLocationIsAnError() throws {
        let request = HTTPRequest(url: try HTTPURL("http://h:8080/a"))
        #expect(throws: HTTPClientError.malformedResponse(server: "h:8080", reason: "redirect 302 without a Location header")) {
            try request.redirected(by: HTTPResponseHead(status: 302))
        }
        do {
            _ = try request.redirected(by: HTTPResponseHead(status: 302, headers: HTTPHeaders([("Location", "gopher://x/")])))
            Issue.record("accepted")
        } catch {
            #expect(error.description.contains("gopher"))
        }
    }
}
