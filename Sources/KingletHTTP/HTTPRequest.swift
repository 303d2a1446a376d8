/// A request: method, URL, header fields in order, and an optional small body (a token
/// request's form, say; the client holds it in memory).
///
/// The client writes `Host` (unless given), `User-Agent` (unless given), `Content-Length`
/// when there is a body (or the method is POST, PUT or PATCH), and `Connection: close`;
/// given `Connection`, `Content-Length` and `Transfer-Encoding` fields are dropped.
public struct HTTPRequest: Equatable, Sendable {
    public var method: String
    public var url: HTTPURL
    public var headers: HTTPHeaders
    public var body: [UInt8]

    public init(method: String = "GET", url: HTTPURL, headers: HTTPHeaders = HTTPHeaders(), body: [UInt8] = []) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
    }

    /// HEAD's response has no body, whatever its Content-Length says.
    public var isHead: Bool { method == "HEAD" }

    /// The request to send after `head` when it is a redirect (301, 302, 303, 307, 308),
    /// nil when it is not. The client never follows redirects itself: the caller decides
    /// (and counts hops).
    ///
    /// - The `Location` is resolved against this request's URL.
    /// - 303, and 301/302 after a POST, become GET without a body (HEAD stays HEAD); 307
    ///   and 308 keep the method and body.
    /// - To another origin (scheme, host or port), `Authorization`, `Proxy-Authorization`
    ///   and `Cookie` are dropped: a registry's token must not follow a blob to its storage
    ///   host. A given `Host` field is always dropped (the new URL's is written).
    ///
    /// Throws `malformedResponse` when the redirect has no usable `Location`.
    public func redirected(by head: HTTPResponseHead) throws(HTTPClientError) -> HTTPRequest? {
        guard head.isRedirect else { return nil }
        let server = url.hostAndPort
        guard let location = head["Location"], !HTTPASCII.trimmed(Array(location.utf8)).isEmpty else {
            throw .malformedResponse(server: server, reason: "redirect " + head.status.description + " without a Location header")
        }
        let target: HTTPURL
        do {
            target = try url.resolving(location)
        } catch {
            throw .malformedResponse(server: server, reason: "the redirect's Location is unusable: " + error.description)
        }
        var next = self
        next.url = target
        next.headers.remove("Host")
        let toGet = head.status == 303 ? !isHead : ((head.status == 301 || head.status == 302) && method == "POST")
        if toGet {
            next.method = "GET"
            next.body = []
            next.headers.remove("Content-Type")
            next.headers.remove("Content-Encoding")
        }
        if !target.hasSameOrigin(as: url) {
            next.headers.remove("Authorization")
            next.headers.remove("Proxy-Authorization")
            next.headers.remove("Cookie")
        }
        return next
    }

    /// The request as written on the wire.
    func encoded(userAgent: String) throws(HTTPClientError) -> [UInt8] {
        guard HTTPASCII.isToken(method) else {
            throw .invalidRequest(url: url.description, reason: "the method " + HTTPASCII.quoted(method.utf8) + " is not a token")
        }
        for field in headers.fields {
            guard HTTPASCII.isToken(field.name) else {
                throw .invalidRequest(url: url.description, reason: "the header name " + HTTPASCII.quoted(field.name.utf8) + " is not a token")
            }
            for byte in field.value.utf8 where byte == HTTPASCII.cr || byte == HTTPASCII.lf || byte == 0 {
                throw .invalidRequest(url: url.description, reason: "the value of header " + field.name + " contains CR, LF or NUL")
            }
        }
        var text = method + " " + url.pathAndQuery + " HTTP/1.1\r\nHost: " + (headers["Host"] ?? url.authority) + "\r\n"
        if !headers.contains("User-Agent") && !userAgent.isEmpty { text += "User-Agent: " + userAgent + "\r\n" }
        for field in headers.fields {
            if HTTPASCII.equalIgnoringCase(field.name, "Host") || HTTPASCII.equalIgnoringCase(field.name, "Connection")
                || HTTPASCII.equalIgnoringCase(field.name, "Content-Length") || HTTPASCII.equalIgnoringCase(field.name, "Transfer-Encoding") {
                continue
            }
            text += field.name + ": " + field.value + "\r\n"
        }
        if !body.isEmpty || method == "POST" || method == "PUT" || method == "PATCH" {
            text += "Content-Length: " + body.count.description + "\r\n"
        }
        text += "Connection: close\r\n\r\n"
        var bytes = Array(text.utf8)
        bytes.append(contentsOf: body)
        return bytes
    }
}
