@testable import KingletHTTP
import Testing

@Suite("HTTPURL")
struct HTTPURLTests {
    @Test func parsesSchemeHostDefaultPortPathAndQuery() throws {
        let url = try HTTPURL("https://Registry-1.Docker.IO/v2/library/alpine/manifests/3.20?n=1#frag")
        #expect(url.scheme == .https)
        #expect(url.host == "registry-1.docker.io")
        #expect(url.port == 443)
        #expect(url.path == "/v2/library/alpine/manifests/3.20")
        #expect(url.query == "n=1")
        #expect(url.pathAndQuery == "/v2/library/alpine/manifests/3.20?n=1")
        #expect(url.authority == "registry-1.docker.io")
        #expect(url.hostAndPort == "registry-1.docker.io:443")
        #expect(url.description == "https://registry-1.docker.io/v2/library/alpine/manifests/3.20?n=1")
        #expect(!url.hostIsIPAddress)
    }

    @Test func plainHTTPDefaultsToPort80AndAnEmptyPathToSlash() throws {
        let url = try HTTPURL("HTTP://example.com")
        #expect(url.scheme == .http)
        #expect(url.port == 80)
        #expect(url.path == "/")
        #expect(url.query == nil)
        #expect(try HTTPURL("http://example.com:80/").authority == "example.com")
        #expect(try HTTPURL("http://example.com:/x").port == 80)
        #expect(try HTTPURL("http://example.com?a").pathAndQuery == "/?a")
    }

    @Test func ipv6LiteralKeepsItsBracketsOnlyInTextForms() throws {
        let url = try HTTPURL("http://[::1]:5000/v2/")
        #expect(url.host == "::1")
        #expect(url.port == 5000)
        #expect(url.hostIsIPAddress)
        #expect(url.authority == "[::1]:5000")
        #expect(url.description == "http://[::1]:5000/v2/")
        #expect(try HTTPURL("https://[2001:DB8::1]/").host == "2001:db8::1")
        #expect(try HTTPURL("http://10.0.0.7:8080/").hostIsIPAddress)
    }

    @Test func bytesThatMayNotBeInARequestLineAreEncoded() throws {
        let url = try HTTPURL("http://h/a b/\u{e9}?q=\"x\"")
        #expect(url.pathAndQuery == "/a%20b/%C3%A9?q=%22x%22")
    }

    @Test func unusableURLsAreRefusedWithAReason() {
        let cases: [(String, String)] = [
            ("ftp://h/", "the scheme 'ftp' is not http or https"),
            ("localhost:5000/v2/", "it is not an absolute URL"),
            ("/v2/", "it is not an absolute URL"),
            ("http:///x", "it has no host"),
            ("http://user:pw@h/", "credentials in the URL"),
            ("http://h:0/", "the port '0' is not a number from 1 to 65535"),
            ("http://h:65536/", "is not a number from 1 to 65535"),
            ("http://h:8x/", "is not a number"),
            ("http://::1/", "write an IPv6 address in brackets"),
            ("http://[::1/", "no closing ']'"),
            ("http://[fe80::1%25eth0]/", "IPv6 zones are not supported"),
            ("http://[nothex]/", "is not an IPv6 address"),
            ("http://[::1]x/", "unexpected text after the IPv6 address"),
            ("http://h%20x/", "is not a DNS name or IP address"),
        ]
        for (text, reason) in cases {
            do {
                let url = try HTTPURL(text)
                Issue.record("\(text) parsed as \(url)")
            } catch {
                #expect(error.description.contains(reason), "\(text): \(error.description)")
                #expect(error.url == text)
            }
        }
    }

    /// RFC 3986 section 5.4.1's normal examples (those within http).
    @Test func referencesResolveAsRFC3986Says() throws {
        let base = try HTTPURL("http://a/b/c/d;p?q")
        let cases: [(String, String)] = [
            ("g", "http://a/b/c/g"),
            ("./g", "http://a/b/c/g"),
            ("g/", "http://a/b/c/g/"),
            ("/g", "http://a/g"),
            ("//g", "http://g/"),
            ("?y", "http://a/b/c/d;p?y"),
            ("g?y", "http://a/b/c/g?y"),
            ("#s", "http://a/b/c/d;p?q"),
            ("g#s", "http://a/b/c/g"),
            (";x", "http://a/b/c/;x"),
            ("", "http://a/b/c/d;p?q"),
            (".", "http://a/b/c/"),
            ("./", "http://a/b/c/"),
            ("..", "http://a/b/"),
            ("../", "http://a/b/"),
            ("../g", "http://a/b/g"),
            ("../..", "http://a/"),
            ("../../g", "http://a/g"),
            ("../../../g", "http://a/g"),
            ("/./g", "http://a/g"),
            ("/../g", "http://a/g"),
            ("g.", "http://a/b/c/g."),
            ("..g", "http://a/b/c/..g"),
            ("./../g", "http://a/b/g"),
            ("g/./h", "http://a/b/c/g/h"),
            ("g/../h", "http://a/b/c/h"),
        ]
        for (reference, expected) in cases {
            #expect(try base.resolving(reference).description == expected, "\(reference)")
        }
    }

    @Test func absoluteLocationToAnotherHostStandsOnItsOwn() throws {
        let base = try HTTPURL("https://registry.example:5000/v2/x/blobs/sha256:ab")
        let blob = try base.resolving("https://storage.example/bucket/ab?X-Amz-Signature=1")
        #expect(blob.host == "storage.example")
        #expect(blob.port == 443)
        #expect(blob.pathAndQuery == "/bucket/ab?X-Amz-Signature=1")
        #expect(!blob.hasSameOrigin(as: base))
        let sameSchemeOtherHost = try base.resolving("//cdn.example/x")
        #expect(sameSchemeOtherHost.description == "https://cdn.example/x")
        #expect(try base.resolving("/v2/other").hasSameOrigin(as: base))
        #expect(throws: HTTPURLError.self) { try base.resolving("ftp://x/") }
    }
}
