import CKingletSystem

/// A URL the client can request: http or https, a host (a DNS name, an IPv4 address, or an
/// IPv6 literal written in brackets), a port, and the path with its query.
///
/// The host is kept lowercased and without brackets; userinfo (`user@host`) and IPv6 zones
/// are refused; the fragment is dropped (it is never sent). Bytes that may not appear in a
/// request line (controls, space, non-HTTPASCII) are percent-encoded in the path and query.
public struct HTTPURL: Equatable, Hashable, Sendable, CustomStringConvertible {
    public enum Scheme: Equatable, Hashable, Sendable {
        case http
        case https

        public var name: String { self == .http ? "http" : "https" }
        public var defaultPort: UInt16 { self == .http ? 80 : 443 }
    }

    public let scheme: Scheme
    /// Lowercased; an IPv6 literal without its brackets ("::1").
    public let host: String
    public let port: UInt16
    /// Starts with "/".
    public let path: String
    /// Without the "?"; nil when the URL has none ("?" alone gives "").
    public let query: String?

    /// Parses an absolute http or https URL.
    public init(_ text: String) throws(HTTPURLError) {
        let parts = URLParts(Array(text.utf8))
        guard let scheme = parts.scheme, let authority = parts.authority else {
            throw HTTPURLError(text, "it is not an absolute URL (http://host/... or https://host/...)")
        }
        try self.init(text: text, scheme: scheme, authority: authority, path: parts.path, query: parts.query)
    }

    /// The URL `reference` points to relative to this one (RFC 3986 section 5.2): what a
    /// `Location` header means. An absolute reference stands on its own; "//host/x" keeps
    /// the scheme; "/x" keeps the scheme and authority; "x", "../x" and "?q" are merged
    /// with this URL's path.
    public func resolving(_ reference: String) throws(HTTPURLError) -> HTTPURL {
        let parts = URLParts(Array(reference.utf8))
        if let scheme = parts.scheme {
            guard let authority = parts.authority else { throw HTTPURLError(reference, "it has no host") }
            return try HTTPURL(text: reference, scheme: scheme, authority: authority,
                               path: URLParts.removingDotSegments(parts.path), query: parts.query)
        }
        if let authority = parts.authority {
            return try HTTPURL(text: reference, scheme: Array(scheme.name.utf8), authority: authority,
                               path: URLParts.removingDotSegments(parts.path), query: parts.query)
        }
        let ownPath = Array(path.utf8)
        var path: [UInt8]
        var query = parts.query
        if parts.path.isEmpty {
            path = ownPath
            if query == nil, let own = self.query { query = Array(own.utf8) }
        } else if parts.path.first == UInt8(ascii: "/") {
            path = URLParts.removingDotSegments(parts.path)
        } else {
            // Merge: everything of the base path up to its last "/", then the reference.
            var merged: [UInt8] = []
            if let slash = ownPath.lastIndex(of: UInt8(ascii: "/")) { merged.append(contentsOf: ownPath[...slash]) } else { merged.append(UInt8(ascii: "/")) }
            merged.append(contentsOf: parts.path)
            path = URLParts.removingDotSegments(merged)
        }
        return try HTTPURL(text: reference, scheme: Array(scheme.name.utf8), authority: Array(authority.utf8),
                           path: path, query: query)
    }

    /// Whether the connection is TLS.
    public var isTLS: Bool { scheme == .https }

    /// Whether the host is an IP address (no DNS, no SNI).
    public var hostIsIPAddress: Bool { host.withCString { kinglet_numeric_address_family($0) } != 0 }

    /// The request target: path and query, e.g. "/v2/library/alpine/manifests/3.20?x=1".
    public var pathAndQuery: String {
        guard let query else { return path }
        return path + "?" + query
    }

    /// host[:port] as the Host header and messages write it: brackets around an IPv6
    /// literal, the port only when it is not the scheme's default.
    public var authority: String {
        port == scheme.defaultPort ? bracketedHost : bracketedHost + ":" + port.description
    }

    /// host:port, always with the port: how errors name the server.
    public var hostAndPort: String { bracketedHost + ":" + port.description }

    /// Scheme, host and port: requests to the same origin may share credentials.
    public func hasSameOrigin(as other: HTTPURL) -> Bool {
        scheme == other.scheme && host == other.host && port == other.port
    }

    public var description: String { scheme.name + "://" + authority + pathAndQuery }

    private var bracketedHost: String {
        for byte in host.utf8 where byte == HTTPASCII.colon { return "[" + host + "]" }
        return host
    }

    private init(text: String, scheme: [UInt8], authority: [UInt8], path: [UInt8], query: [UInt8]?) throws(HTTPURLError) {
        let schemeName = HTTPASCII.lowercased(String(decoding: scheme, as: UTF8.self))
        if schemeName == "http" {
            self.scheme = .http
        } else if schemeName == "https" {
            self.scheme = .https
        } else {
            throw HTTPURLError(text, "the scheme '" + schemeName + "' is not http or https")
        }
        if authority.contains(UInt8(ascii: "@")) {
            throw HTTPURLError(text, "credentials in the URL (user@host) are not supported; send an Authorization header")
        }
        var hostBytes: ArraySlice<UInt8>
        var portBytes: ArraySlice<UInt8>? = nil
        if authority.first == UInt8(ascii: "[") {
            guard let close = authority.firstIndex(of: UInt8(ascii: "]")) else {
                throw HTTPURLError(text, "the IPv6 address has no closing ']'")
            }
            hostBytes = authority[1..<close]
            let rest = authority[(close + 1)...]
            if let first = rest.first {
                guard first == HTTPASCII.colon else { throw HTTPURLError(text, "unexpected text after the IPv6 address") }
                portBytes = rest.dropFirst()
            }
            if hostBytes.contains(UInt8(ascii: "%")) { throw HTTPURLError(text, "IPv6 zones are not supported") }
            let literal = String(decoding: hostBytes, as: UTF8.self)
            guard literal.withCString({ kinglet_numeric_address_family($0) }) == 6 else {
                throw HTTPURLError(text, "'" + literal + "' is not an IPv6 address")
            }
        } else {
            if let colon = authority.lastIndex(of: HTTPASCII.colon) {
                hostBytes = authority[..<colon]
                portBytes = authority[(colon + 1)...]
            } else {
                hostBytes = authority[...]
            }
            if hostBytes.isEmpty { throw HTTPURLError(text, "it has no host") }
            for byte in hostBytes {
                let allowed = HTTPASCII.isAlpha(byte) || HTTPASCII.isDigit(byte) || byte == UInt8(ascii: "-")
                    || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "_")
                if !allowed {
                    throw HTTPURLError(text, "the host " + HTTPASCII.quoted(hostBytes) + " is not a DNS name or IP address"
                                       + (byte == HTTPASCII.colon ? " (write an IPv6 address in brackets)" : ""))
                }
            }
            if hostBytes.count > 253 { throw HTTPURLError(text, "the host name is longer than 253 bytes") }
        }
        var hostLower: [UInt8] = []
        for byte in hostBytes { hostLower.append(HTTPASCII.lowercased(byte)) }
        host = String(decoding: hostLower, as: UTF8.self)
        if let portBytes, !portBytes.isEmpty {
            guard let number = HTTPASCII.decimal(portBytes), number > 0, number <= 65535 else {
                throw HTTPURLError(text, "the port " + HTTPASCII.quoted(portBytes) + " is not a number from 1 to 65535")
            }
            port = UInt16(number)
        } else {
            port = self.scheme.defaultPort
        }
        self.path = path.isEmpty ? "/" : URLParts.encoded(path)
        self.query = query.map { URLParts.encoded($0) }
    }
}

/// Why a text is not a usable URL.
public struct HTTPURLError: Error, Equatable, Sendable, CustomStringConvertible {
    public let url: String
    public let reason: String

    public init(_ url: String, _ reason: String) {
        self.url = url
        self.reason = reason
    }

    public var description: String { "invalid URL " + HTTPASCII.quoted(url.utf8, limit: 200) + ": " + reason }
}

/// A URI reference split as RFC 3986 appendix B does.
struct URLParts {
    var scheme: [UInt8]?
    var authority: [UInt8]?
    var path: [UInt8]
    var query: [UInt8]?

    init(_ text: [UInt8]) {
        var rest = text[...]
        // Surrounding whitespace is not part of a URL (a header value may carry it).
        rest = HTTPASCII.trimmed(rest)
        if let hash = rest.firstIndex(of: UInt8(ascii: "#")) { rest = rest[..<hash] }
        scheme = nil
        // A scheme: a letter, then letters, digits, "+", "-", "." up to ":", before any "/?".
        if let first = rest.first, HTTPASCII.isAlpha(first) {
            var index = rest.startIndex
            while index < rest.endIndex {
                let byte = rest[index]
                if byte == HTTPASCII.colon {
                    scheme = Array(rest[rest.startIndex..<index])
                    rest = rest[(index + 1)...]
                    break
                }
                let schemeByte = HTTPASCII.isAlpha(byte) || HTTPASCII.isDigit(byte) || byte == UInt8(ascii: "+")
                    || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".")
                if !schemeByte { break }
                index += 1
            }
        }
        authority = nil
        if rest.count >= 2 && rest[rest.startIndex] == UInt8(ascii: "/") && rest[rest.startIndex + 1] == UInt8(ascii: "/") {
            rest = rest.dropFirst(2)
            var end = rest.endIndex
            for index in rest.indices where rest[index] == UInt8(ascii: "/") || rest[index] == UInt8(ascii: "?") {
                end = index
                break
            }
            authority = Array(rest[rest.startIndex..<end])
            rest = rest[end...]
        }
        query = nil
        if let mark = rest.firstIndex(of: UInt8(ascii: "?")) {
            query = Array(rest[(mark + 1)...])
            rest = rest[..<mark]
        }
        path = Array(rest)
    }

    /// RFC 3986 section 5.2.4: "." and ".." segments removed from an absolute path.
    static func removingDotSegments(_ path: [UInt8]) -> [UInt8] {
        if path.isEmpty { return path }
        var segments: [ArraySlice<UInt8>] = []
        let parts = path.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false)
        // parts[0] is what precedes the first "/" (empty for an absolute path).
        var index = 1
        var trailingSlash = false
        while index < parts.count {
            let segment = parts[index]
            let last = index == parts.count - 1
            if segment.elementsEqual(".".utf8) {
                if last { trailingSlash = true }
            } else if segment.elementsEqual("..".utf8) {
                if !segments.isEmpty { segments.removeLast() }
                if last { trailingSlash = true }
            } else {
                segments.append(segment)
            }
            index += 1
        }
        var out: [UInt8] = []
        for segment in segments {
            out.append(UInt8(ascii: "/"))
            out.append(contentsOf: segment)
        }
        if trailingSlash || out.isEmpty { out.append(UInt8(ascii: "/")) }
        return out
    }

    /// Percent-encodes the bytes that may not appear in a request target.
    static func encoded(_ bytes: [UInt8]) -> String {
        let hex = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        for byte in bytes {
            if byte <= 0x20 || byte >= 0x7f || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "<")
                || byte == UInt8(ascii: ">") || byte == UInt8(ascii: "\\") || byte == UInt8(ascii: "^")
                || byte == UInt8(ascii: "`") || byte == UInt8(ascii: "{") || byte == UInt8(ascii: "|")
                || byte == UInt8(ascii: "}") {
                out.append(UInt8(ascii: "%"))
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 0x0f)])
            } else {
                out.append(byte)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
