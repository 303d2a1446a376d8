/// A tcpSocket probe: success when a TCP connection to `host:port` opens in time.
public struct TCPSocketProbe: Equatable, Sendable {
    /// A numeric IPv4 or IPv6 address (brackets around IPv6 are accepted). The pod manager
    /// passes the pod IP when the spec leaves it out.
    public var host: String
    /// 1...65535; the pod manager resolves named ports.
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }
}

/// The scheme of an httpGet probe.
public enum HTTPScheme: Equatable, Sendable {
    case http
    /// Accepted in the spec; attempts fail with "HTTPS probes are not supported yet".
    case https

    /// From the spec's `scheme` field, case-insensitively; nil for anything else.
    public init?(name: String) {
        switch ASCIIText.lowercased(name) {
        case "http": self = .http
        case "https": self = .https
        default: return nil
        }
    }

    public var name: String {
        switch self {
        case .http: return "http"
        case .https: return "https"
        }
    }
}

/// One entry of an httpGet probe's `httpHeaders`.
public struct RequestHeader: Equatable, Sendable {
    public var name: String
    public var value: String

    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}

/// An httpGet probe: success when `GET path` answers with 200 <= status < 400.
public struct HTTPGetProbe: Equatable, Sendable {
    public var scheme: HTTPScheme
    /// A numeric IPv4 or IPv6 address, as for `TCPSocketProbe`.
    public var host: String
    public var port: Int
    /// The request target, query included; "" means "/".
    public var path: String
    /// Sent after ours. A `Host`, `User-Agent` or `Accept` here replaces our default (an
    /// empty `Accept` removes it), as with the kubelet.
    public var headers: [RequestHeader]

    public init(scheme: HTTPScheme = .http, host: String, port: Int, path: String = "/", headers: [RequestHeader] = []) {
        self.scheme = scheme
        self.host = host
        self.port = port
        self.path = path
        self.headers = headers
    }
}

/// A probe the network runner can run.
public enum NetworkProbe: Equatable, Sendable {
    case tcpSocket(TCPSocketProbe)
    case httpGet(HTTPGetProbe)

    public var host: String {
        switch self {
        case .tcpSocket(let probe): return probe.host
        case .httpGet(let probe): return probe.host
        }
    }

    public var port: Int {
        switch self {
        case .tcpSocket(let probe): return probe.port
        case .httpGet(let probe): return probe.port
        }
    }

    /// Checks what a runner would otherwise report as a failure on every attempt.
    public func validate() throws(ProbeConfigurationError) {
        _ = try ProbeEndpoint(host: host, port: port)
        if case .httpGet(let probe) = self {
            for header in probe.headers { try HTTPProbeRequest.validate(header) }
        }
    }
}
