/// A probe spec the runner cannot run. Attempts of such a probe fail with `description`.
public enum ProbeConfigurationError: Error, Equatable, Sendable {
    /// The host is empty: the pod manager passes the pod IP when the spec has none.
    case missingHost
    /// The host is a name or malformed; only numeric addresses are probed, since resolving
    /// a name would block the loop.
    case hostNotNumeric(String)
    case portOutOfRange(Int)
    /// A header name that is empty or not an HTTP token.
    case invalidHeaderName(String)
    /// A header value with a CR, LF or NUL, which would split the request.
    case invalidHeaderValue(name: String)

    public var description: String {
        switch self {
        case .missingHost:
            return "probe host is empty (expected the pod IP or a numeric address)"
        case .hostNotNumeric(let host):
            return "probe host \"" + host + "\" is not a numeric IP address; host names are not resolved (resolving would block the event loop)"
        case .portOutOfRange(let port):
            return "probe port " + String(port) + " is out of range (1-65535)"
        case .invalidHeaderName(let name):
            return "probe header name \"" + ProbeText.quotable(name) + "\" is not a valid HTTP header name"
        case .invalidHeaderValue(let name):
            return "probe header \"" + ProbeText.quotable(name) + "\" has a value with a line break or NUL"
        }
    }
}
