/// A response's status line and headers.
public struct HTTPResponseHead: Equatable, Sendable {
    /// 1 and 0 or 1: HTTP/1.0 or HTTP/1.1.
    public let versionMinor: Int
    public let status: Int
    /// The reason phrase as sent ("" when the server sent none).
    public let reason: String
    public let headers: HTTPHeaders

    public init(status: Int, reason: String = "", headers: HTTPHeaders = HTTPHeaders(), versionMinor: Int = 1) {
        self.status = status
        self.reason = reason
        self.headers = headers
        self.versionMinor = versionMinor
    }

    /// The first value of header `name` (any case), nil when absent.
    public subscript(name: String) -> String? { headers[name] }

    /// Every value of header `name`, in order.
    public func values(of name: String) -> [String] { headers.values(of: name) }

    /// The Content-Length, when the response has one that is a number.
    public var contentLength: Int64? {
        guard let text = headers["Content-Length"] else { return nil }
        return HTTPASCII.decimal(HTTPASCII.trimmed(Array(text.utf8)))
    }

    /// 301, 302, 303, 307 and 308: a redirect the caller may follow (`HTTPRequest.redirected(by:)`).
    public var isRedirect: Bool {
        status == 301 || status == 302 || status == 303 || status == 307 || status == 308
    }
}
