@testable import KingletHTTP
import Testing

/// Feeds the parser a response in pieces of `split` bytes and collects what it says.
private func parse(_ text: String, split: Int = Int.max, isHead: Bool = false, maxHead: Int = 65536,
                   close: Bool = false) -> (head: HTTPResponseHead?, body: String, ended: Bool, failure: HTTPResponseParser.Failure?) {
    var parser = HTTPResponseParser(isHeadRequest: isHead, maxHeadBytes: maxHead)
    let bytes = Array(text.utf8)
    var head: HTTPResponseHead? = nil
    var body: [UInt8] = []
    var start = 0
    var failure: HTTPResponseParser.Failure? = nil
    func result(_ ended: Bool) -> (head: HTTPResponseHead?, body: String, ended: Bool, failure: HTTPResponseParser.Failure?) {
        (head, String(decoding: body, as: UTF8.self), ended, failure)
    }
    while start < bytes.count {
        let end = min(bytes.count, start + max(1, min(split, bytes.count)))
        let piece = Array(bytes[start..<end])
        start = end
        var ended = false
        piece.withUnsafeBytes { buffer in
            var offset = 0
            do throws(HTTPResponseParser.Failure) {
                loop: while true {
                    switch try parser.next(buffer, &offset) {
                    case .needMore: break loop
                    case .head(let value): head = value
                    case .body(let range): body.append(contentsOf: buffer[range])
                    case .end:
                        ended = true
                        break loop
                    }
                }
            } catch {
                failure = error
            }
        }
        if failure != nil { return result(false) }
        if ended { return result(true) }
    }
    if parser.isComplete { return result(true) }
    if close {
        do throws(HTTPResponseParser.Failure) {
            _ = try parser.endOfInput()
            return result(true)
        } catch {
            failure = error
        }
    }
    return result(false)
}

@Suite("HTTP response parser")
struct HTTPResponseParserTests {
    @Test func contentLengthBodyInAnySplit() {
        let text = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A:  spaced  \r\n\r\nhelloEXTRA"
        for split in [1, 2, 3, 7, 1000] {
            let result = parse(text, split: split)
            #expect(result.head?.status == 200, "split \(split)")
            #expect(result.head?["x-a"] == "spaced")
            #expect(result.body == "hello", "split \(split)")
            #expect(result.ended)
        }
    }

    @Test func chunkedWithExtensionsAndTrailersInAnySplit() {
        let text = "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, Chunked\r\n\r\n"
            + "4;a=b\r\nWiki\r\n5 ;x=\"y;z\"\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\nX-T: 1\r\nX-U: 2\r\n\r\n"
        for split in [1, 2, 5, 9, 1000] {
            let result = parse(text, split: split)
            #expect(result.body == "Wikipedia in\r\n\r\nchunks.", "split \(split)")
            #expect(result.ended, "split \(split)")
            #expect(result.failure == nil)
        }
    }

    @Test func chunkedAcceptsBareLineFeeds() {
        let result = parse("HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n\n3\nabc\n0\n\n")
        #expect(result.body == "abc")
        #expect(result.ended)
    }

    @Test func bodyWithoutFramingRunsToTheClose() {
        let open = parse("HTTP/1.1 200 OK\r\n\r\nsome bytes")
        #expect(open.body == "some bytes")
        #expect(!open.ended)
        let closed = parse("HTTP/1.1 200 OK\r\n\r\nsome bytes", close: true)
        #expect(closed.ended)
        let otherCoding = parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nContent-Length: 3\r\n\r\nabcdef", close: true)
        #expect(otherCoding.body == "abcdef", "a coding other than chunked runs to the close, Content-Length ignored")
    }

    @Test func headRequestAnd204And304HaveNoBody() {
        #expect(parse("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n", isHead: true).ended)
        #expect(parse("HTTP/1.1 204 No Content\r\n\r\n").ended)
        #expect(parse("HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n").ended)
        #expect(parse("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n").ended)
    }

    @Test func interimResponsesAreSkipped() {
        let result = parse("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", split: 4)
        #expect(result.head?.status == 200)
        #expect(result.head?["Link"] == nil)
        #expect(result.body == "ok")
    }

    @Test func statusLineVariants() {
        #expect(parse("HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n").head?.reason == "")
        #expect(parse("HTTP/1.0 404 Not Found Here\r\nContent-Length: 0\r\n\r\n").head?.reason == "Not Found Here")
        #expect(parse("\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n").head?.status == 200, "a stray empty line first")
        for bad in ["HTP/1.1 200 OK", "HTTP/2 200 OK", "HTTP/1.1 20 OK", "HTTP/1.1 2000 OK", "HTTP/1.1 099 x", "garbage"] {
            guard case .malformed(let reason)? = parse(bad + "\r\n\r\n").failure else {
                Issue.record("\(bad) was accepted")
                continue
            }
            #expect(reason.contains("'" + bad + "'"), "\(reason)")
        }
    }

    @Test func headerProblemsAreNamed() {
        func reason(_ text: String) -> String {
            if case .malformed(let reason)? = parse(text).failure { return reason }
            return "accepted"
        }
        #expect(reason("HTTP/1.1 200 OK\r\nNo colon here\r\n\r\n").contains("has no colon"))
        #expect(reason("HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n").contains("is not a token"))
        #expect(reason("HTTP/1.1 200 OK\r\n folded-first\r\n\r\n").contains("starts with whitespace"))
        #expect(reason("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n").contains("conflicting Content-Length"))
        #expect(reason("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n").contains("is not a number"))
        #expect(reason("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n").contains("not hexadecimal"))
        #expect(reason("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n").contains("not followed by CRLF"))
        #expect(reason("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\n").contains("too large"))
        #expect(reason("HTTP/1.1 101 Switching Protocols\r\n\r\n").contains("101"))
    }

    @Test func foldedHeaderContinuesTheValueAndRepeatsStaySeparate() {
        let head = parse("HTTP/1.1 200 OK\r\nX-Long: one\r\n two\r\nSet-Cookie: a\r\nset-cookie: b\r\nContent-Length: 0\r\n\r\n").head
        #expect(head?["x-long"] == "one two")
        #expect(head?.values(of: "Set-Cookie") == ["a", "b"])
        #expect(head?.headers.count == 4)
    }

    @Test func identicalRepeatedContentLengthsAreOne() {
        #expect(parse("HTTP/1.1 200 OK\r\nContent-Length: 3, 3\r\nContent-Length: 3\r\n\r\nabc").body == "abc")
    }

    @Test func headOverTheLimitFails() {
        let text = "HTTP/1.1 200 OK\r\nX: " + String(repeating: "a", count: 600) + "\r\n\r\n"
        #expect(parse(text, split: 100, maxHead: 512).failure == .headTooLarge(512))
        #expect(parse(text, maxHead: 1024).failure == nil)
    }

    @Test func closeReportsHowFarTheResponseGot() {
        #expect(parse("", close: true).failure == .closedBeforeResponse(bytesReceived: 0))
        #expect(parse("HTTP/1.1 200 OK\r\nContent-", close: true).failure == .closedBeforeResponse(bytesReceived: 25))
        #expect(parse("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabcd", close: true).failure
                == .closedEarly(bodyBytesReceived: 4, expected: 10))
        #expect(parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nabc", close: true).failure
                == .closedEarly(bodyBytesReceived: 3, expected: nil))
        #expect(parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n", close: true).failure
                == .closedEarly(bodyBytesReceived: 3, expected: nil), "the last chunk never came")
        #expect(parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n", close: true).ended,
                "only the trailers' end was cut: every body byte is there")
    }
}
