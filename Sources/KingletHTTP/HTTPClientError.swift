import KingletCore

/// Why a request failed. Every case names the server as host:port (`server`), so a log line
/// says which registry or blob store misbehaved.
public enum HTTPClientError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The request cannot be sent as given (a bad method, a header that would break the
    /// request's framing). Nothing went on the wire.
    case invalidRequest(url: String, reason: String)
    /// getaddrinfo found no address, or resolution itself failed (no DNS server answered).
    case resolveFailed(server: String, reason: String)
    /// Every address refused the connection (nothing listens on the port). `address` is
    /// the last address tried as ip:port, "" when the URL named that address itself.
    case connectionRefused(server: String, address: String)
    /// The TCP connect failed otherwise (unreachable network or host, ...), for the last
    /// address tried (as for `connectionRefused`).
    case connectFailed(server: String, address: String, reason: String)
    /// Nothing happened for the allowed time: `phase` says what the client waited for
    /// ("resolving", "connecting", "the TLS handshake", "the response", "the body").
    case timedOut(server: String, phase: String, after: Duration)
    /// The TLS context cannot be made (a CA file that OpenSSL cannot read).
    case tlsSetupFailed(reason: String)
    /// The server's certificate did not verify (untrusted issuer, wrong host name,
    /// expired): OpenSSL's verification message.
    case certificateVerificationFailed(server: String, reason: String)
    /// The TLS handshake failed otherwise (no shared protocol version or cipher, an alert
    /// from the server, not TLS at all): OpenSSL's reason.
    case tlsHandshakeFailed(server: String, reason: String)
    /// What came back is not an HTTP/1.x response we can frame; `reason` says what was wrong.
    case malformedResponse(server: String, reason: String)
    /// The status line and headers did not end within `limit` bytes.
    case responseHeadTooLarge(server: String, limit: Int)
    /// The connection ended before a whole response head arrived.
    case closedBeforeResponse(server: String, bytesReceived: Int)
    /// The connection ended inside the body: `bodyBytesReceived` bytes had been delivered
    /// (resume with `Range: bytes=<that>-`); `expectedBodyBytes` is the Content-Length,
    /// nil for a chunked body.
    case peerClosedEarly(server: String, bodyBytesReceived: Int64, expectedBodyBytes: Int64?)
    /// A read or write on the connection failed (reset by the peer, ...).
    case transferFailed(server: String, operation: String, reason: String)
    /// The event loop refused to watch the socket.
    case loopFailed(server: String, reason: String)

    public var description: String {
        switch self {
        case .invalidRequest(let url, let reason):
            return "cannot send the request to " + url + ": " + reason
        case .resolveFailed(let server, let reason):
            return "cannot resolve " + server + ": " + reason
        case .connectionRefused(let server, let address):
            let at: String = address.isEmpty ? "" : " (at " + address + ")"
            return "connection to " + server + " refused" + at
        case .connectFailed(let server, let address, let reason):
            let at: String = address.isEmpty ? "" : " (at " + address + ")"
            return "cannot connect to " + server + at + ": " + reason
        case .timedOut(let server, let phase, let after):
            return "timed out after " + after.milliseconds.description + " ms waiting for " + phase + " from " + server
        case .tlsSetupFailed(let reason):
            return "cannot set up TLS: " + reason
        case .certificateVerificationFailed(let server, let reason):
            return "certificate verification failed for " + server + ": " + reason
        case .tlsHandshakeFailed(let server, let reason):
            return "TLS handshake with " + server + " failed: " + reason
        case .malformedResponse(let server, let reason):
            return "malformed response from " + server + ": " + reason
        case .responseHeadTooLarge(let server, let limit):
            return "malformed response from " + server + ": the status line and headers exceed " + limit.description + " bytes"
        case .closedBeforeResponse(let server, let bytes):
            let received: String = bytes == 0 ? " (nothing received)" : " (" + bytes.description + " bytes received)"
            return server + " closed the connection before a complete response head" + received
        case .peerClosedEarly(let server, let received, let expected):
            if let expected {
                return server + " closed the connection after " + received.description + " of " + expected.description + " body bytes"
            }
            return server + " closed the connection after " + received.description + " body bytes, before the last chunk"
        case .transferFailed(let server, let operation, let reason):
            return operation + " failed on the connection to " + server + ": " + reason
        case .loopFailed(let server, let reason):
            return "cannot watch the connection to " + server + ": " + reason
        }
    }

    /// The server the error names, "" for `tlsSetupFailed`.
    public var server: String {
        switch self {
        case .invalidRequest(let url, _): return url
        case .resolveFailed(let server, _), .connectionRefused(let server, _), .connectFailed(let server, _, _),
             .timedOut(let server, _, _), .certificateVerificationFailed(let server, _),
             .tlsHandshakeFailed(let server, _), .malformedResponse(let server, _),
             .responseHeadTooLarge(let server, _), .closedBeforeResponse(let server, _),
             .peerClosedEarly(let server, _, _), .transferFailed(let server, _, _), .loopFailed(let server, _):
            return server
        case .tlsSetupFailed:
            return ""
        }
    }
}
